"""Who may see the find, tenant, project and project-edit pages, and who may not."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from projects import repository as projects
from projects.schemas import ProjectSchema
from tests.integration.dashboard_projects.conftest import ClientAs
from tests.pages import edit_url, project_url, tenant_url, text

pytestmark = pytest.mark.usefixtures("aws_stage")


# --- who may see what ---------------------------------------------------------------------------


PAGES = ["find", "tenant", "project", "edit"]


def page_url(page: str, project: ProjectSchema) -> str:
    return {
        "find": reverse("admin:find"),
        "tenant": tenant_url(project.user_id),
        "project": project_url(project),
        "edit": edit_url(project),
    }[page]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["anonymous", "nonstaff"])
def test_anonymous_and_non_staff_users_get_the_admin_login_not_data(
    client_as: ClientAs, shop: ProjectSchema, role: str, page: str
) -> None:
    response = client_as(role).get(page_url(page, shop))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login") + "?next=")
    assert "Storefront" not in text(response)


@pytest.mark.parametrize("page", ["find", "tenant", "project"])
@pytest.mark.parametrize("role", ["support", "operations"])
def test_support_and_operations_can_read_every_page(
    client_as: ClientAs, shop: ProjectSchema, role: str, page: str
) -> None:
    assert client_as(role).get(page_url(page, shop)).status_code == 200


def test_support_cannot_open_or_post_the_edit_form(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    support = client_as("support")
    page = support.get(edit_url(shop))
    assert page.status_code == 403
    assert "Permission denied" in text(page)
    posted = support.post(
        edit_url(shop),
        {"name": "Hijacked", "repo_url": shop.repo_url, "branch": "main", "expected_version": 1},
    )
    assert posted.status_code == 403
    assert projects.get_project("usr_alice", shop.project_id).name == "Storefront"
    detail = text(support.get(project_url(shop)))
    assert "Edit project" not in detail


def test_operations_see_the_edit_link_on_the_project_page(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    detail = text(client_as("operations").get(project_url(shop)))
    assert f'href="{edit_url(shop)}"' in detail


def test_the_admin_menu_offers_find_to_staff_who_may_use_it(client_as: ClientAs) -> None:
    index = text(client_as("support").get(reverse("admin:index")))
    assert "Find a tenant, project or deployment" in index
    assert f'href="{reverse("admin:find")}"' in index


def test_staff_without_a_dashboard_group_see_no_dashboard_and_get_403(
    db: None, shop: ProjectSchema
) -> None:
    user = User.objects.create_user("newhire", password="x-long-password-1", is_staff=True)
    client = Client()
    client.force_login(user)
    assert "Find a tenant" not in text(client.get(reverse("admin:index")))
    assert client.get(tenant_url("usr_alice")).status_code == 403
    assert client.get(project_url(shop)).status_code == 403
