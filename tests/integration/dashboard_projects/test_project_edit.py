"""The project edit form: current values, saving, invalid and stale input, CSRF, other tenants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from projects import repository as projects
from projects.schemas import ProjectSchema
from staff.models import AuditEntry
from tests.integration.dashboard_projects.conftest import ClientAs
from tests.pages import edit_url, project_url, tenant_url, text

pytestmark = pytest.mark.usefixtures("aws_stage")


# --- edit ---------------------------------------------------------------------------------------


def form_data(project: ProjectSchema, **changes: Any) -> dict[str, Any]:
    return {
        "name": project.name,
        "repo_url": project.repo_url,
        "branch": project.branch,
        "expected_version": project.version,
        "reason": "The tenant renamed the repository",
        **changes,
    }


def test_the_edit_form_shows_the_current_values(client_as: ClientAs, shop: ProjectSchema) -> None:
    response = client_as("operations").get(edit_url(shop))
    assert response.status_code == 200
    html = text(response)
    assert 'value="Storefront"' in html
    assert f'value="{shop.repo_url}"' in html
    assert f'<input type="hidden" name="expected_version" value="{shop.version}"' in html
    assert "Tenant usr_alice</a> &rsaquo; <a href" in html and "&rsaquo; Edit</div>" in html


def test_saving_an_edit_changes_the_project_says_so_and_records_before_and_after(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    operations = client_as("operations")
    response = operations.post(
        edit_url(shop), form_data(shop, name="  Storefront v2 ", branch="release/2")
    )
    assert response.status_code == 302 and response.url == project_url(shop)
    stored = projects.get_project("usr_alice", shop.project_id)
    assert (stored.name, stored.branch, stored.version) == ("Storefront v2", "release/2", 2)
    page = text(operations.get(response.url))
    assert "Saved project “Storefront v2”" in page
    entry = AuditEntry.objects.get(object_id=shop.project_id)
    assert entry.user.username == "operations-user"
    assert "branch: main → release/2" in entry.change_message
    assert "name: Storefront → Storefront v2" in entry.change_message


def test_invalid_input_is_shown_next_to_each_field_and_nothing_is_saved(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    response = client_as("operations").post(
        edit_url(shop), form_data(shop, name=" ab ", repo_url="ftp://example.com/x", branch="a..b")
    )
    assert response.status_code == 400
    html = text(response)
    assert "Please correct the errors below." in html
    for field in ("name", "repo_url", "branch"):
        row = html[html.index(f"field-{field}") :][:600]
        assert '<ul class="errorlist' in row, field
    assert "at least 3 characters" in html
    assert projects.get_project("usr_alice", shop.project_id) == shop
    assert not AuditEntry.objects.exists()


def test_a_stale_edit_is_refused_with_a_clear_conflict_message(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    projects.update_project("usr_alice", shop.project_id, {"name": "Changed elsewhere"})
    response = client_as("operations").post(edit_url(shop), form_data(shop, branch="develop"))
    assert response.status_code == 409
    assert "Conflict: this project was changed while you were editing it" in text(response)
    stored = projects.get_project("usr_alice", shop.project_id)
    assert (stored.name, stored.branch) == ("Changed elsewhere", "main")
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("version", ["1" + "0" * 40, "-1", "abc"])
def test_a_forged_version_is_a_form_error_not_a_crash(
    client_as: ClientAs, shop: ProjectSchema, version: str
) -> None:
    data = {**form_data(shop, branch="develop"), "expected_version": version}
    response = client_as("operations").post(edit_url(shop), data)
    assert response.status_code in (200, 400)
    assert projects.get_project("usr_alice", shop.project_id).branch == "main"


def test_saving_an_unchanged_form_writes_nothing(client_as: ClientAs, shop: ProjectSchema) -> None:
    operations = client_as("operations")
    response = operations.post(edit_url(shop), form_data(shop))
    assert response.status_code == 302
    assert "Nothing changed" in text(operations.get(response.url))
    assert projects.get_project("usr_alice", shop.project_id).version == shop.version


def test_an_edit_posted_without_the_csrf_token_is_refused(
    operations_user: User, shop: ProjectSchema
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operations_user)
    response = client.post(edit_url(shop), form_data(shop, name="No token"))
    assert response.status_code == 403
    assert projects.get_project("usr_alice", shop.project_id).name == "Storefront"


def test_editing_another_tenants_project_is_a_404_and_changes_nothing(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    response = client_as("operations").post(
        edit_url(shop, user_id="usr_mallory"), form_data(shop, name="Pwned")
    )
    assert response.status_code == 404
    assert projects.get_project("usr_alice", shop.project_id).name == "Storefront"


def test_times_on_the_page_are_singapore_times(client_as: ClientAs, shop: ProjectSchema) -> None:
    html = text(client_as("support").get(project_url(shop)))
    local = shop.created_at.astimezone(UTC) + timedelta(hours=8)
    assert f"{local:%Y-%m-%d %H:%M:%S} SGT" in html
    assert datetime.now(UTC)  # the page was rendered now: created is "just now"
    assert ">just now</time>" in html


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_pages_refuse_methods_they_do_not_serve(
    client_as: ClientAs, shop: ProjectSchema, method: str
) -> None:
    operations = client_as("operations")
    for url in (tenant_url("usr_alice"), project_url(shop), edit_url(shop)):
        assert getattr(operations, method)(url).status_code == 405
    assert projects.get_project("usr_alice", shop.project_id) == shop
