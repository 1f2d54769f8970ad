"""The dashboard's find box: ids, unknown and malformed ids, and what is audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from projects.schemas import ProjectSchema
from staff.models import AuditEntry
from tests.integration.dashboard_projects.conftest import MISSING_PROJECT, ClientAs
from tests.pages import find_url, project_url, tenant_url, text

pytestmark = pytest.mark.usefixtures("aws_stage")


# --- find ---------------------------------------------------------------------------------------


def test_find_with_a_user_id_goes_to_the_tenant_without_reading_anything(
    client_as: ClientAs, dynamodb_calls: list[str]
) -> None:
    response = client_as("support").get(find_url("  usr_alice  "))
    assert response.status_code == 302
    assert response.url == tenant_url("usr_alice")
    assert dynamodb_calls == []
    assert not AuditEntry.objects.exists()


def test_find_with_a_project_id_opens_the_project_and_is_audited(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    response = client_as("support").get(find_url(shop.project_id))
    assert response.status_code == 302
    assert response.url == project_url(shop)
    entry = AuditEntry.objects.get()
    assert entry.user.username == "support-user"
    assert entry.object_id == shop.project_id
    assert "usr_alice" in entry.change_message


def test_find_with_a_deployment_id_opens_the_deployment_and_is_audited(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    deployment_id = shop.latest_deployment.deployment_id
    response = client_as("operations").get(find_url(deployment_id))
    assert response.status_code == 302
    assert response.url == reverse(
        "admin:deployments_deployment_detail", args=["usr_alice", deployment_id]
    )
    entry = AuditEntry.objects.get()
    assert (entry.user.username, entry.object_id) == ("operations-user", deployment_id)


@pytest.mark.parametrize("query", [MISSING_PROJECT, "dpl_0000000000000000"])
def test_find_with_an_unknown_id_is_a_404_and_the_attempt_is_audited(
    client_as: ClientAs, query: str
) -> None:
    response = client_as("support").get(find_url(query))
    assert response.status_code == 404
    assert "No project or deployment has this id." in text(response)
    assert "for this tenant" not in text(response)
    assert "not found" in AuditEntry.objects.get(object_id=query).change_message


@pytest.mark.parametrize("query", ["prj_NOT-AN-ID", "dpl_x", "prj_"])
def test_find_with_a_malformed_id_is_a_404(client_as: ClientAs, query: str) -> None:
    assert client_as("support").get(find_url(query)).status_code == 404


def test_find_with_something_that_is_no_id_shows_the_form_with_a_400(
    client_as: ClientAs,
) -> None:
    response = client_as("support").get(find_url("two words"))
    assert response.status_code == 400
    assert "That is not a tenant userId" in text(response)


def test_find_with_nothing_typed_shows_the_form(client_as: ClientAs) -> None:
    response = client_as("support").get(reverse("admin:find") + "?q=%20%20")
    assert response.status_code == 200
    assert 'name="q"' in text(response)


def test_staff_who_may_view_but_not_find_by_id_get_a_403_for_ids_and_no_audit(
    db: None, shop: ProjectSchema
) -> None:
    user = User.objects.create_user("viewer", password="x-long-password-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_tenant_data"))
    client = Client()
    client.force_login(user)
    assert client.get(find_url(shop.project_id)).status_code == 403
    assert client.get(find_url("usr_alice")).status_code == 302
    assert "Find a tenant</a>" in text(client.get(reverse("admin:index")))
    assert not AuditEntry.objects.exists()
