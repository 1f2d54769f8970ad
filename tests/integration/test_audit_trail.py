"""The audit trail: staff read it in the admin; nobody can edit or delete it there."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from deployments.models import DeploymentAccess

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(db):
    actor = User.objects.create_user(username="on-call-engineer", is_staff=True)
    return LogEntry.objects.create(
        user=actor,
        content_type=ContentType.objects.get_for_model(DeploymentAccess, for_concrete_model=False),
        object_id="dpl_0123456789abcdef",
        object_repr="dpl_0123456789abcdef",
        action_flag=CHANGE,
        change_message="Canceled deployment (status: queued → canceled)",
    )


@pytest.mark.parametrize("role", ["support", "operations"])
def test_support_and_operations_staff_read_the_audit_trail(client_as, entry, role):
    response = client_as(role).get(reverse("admin:admin_logentry_changelist"))
    assert response.status_code == 200
    assert "status: queued → canceled" in response.content.decode()


@pytest.mark.parametrize("role", ["anonymous", "nonstaff"])
def test_others_are_sent_to_the_login_page(client_as, entry, role):
    response = client_as(role).get(reverse("admin:admin_logentry_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_the_audit_trail_cannot_be_changed_or_deleted(client_as, entry):
    operations_client = client_as("operations")
    change = operations_client.post(reverse("admin:admin_logentry_change", args=[entry.pk]), {})
    delete = operations_client.post(
        reverse("admin:admin_logentry_delete", args=[entry.pk]), {"post": "yes"}
    )
    assert change.status_code == 403
    assert delete.status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_the_menu_names_the_audit_trail(client_as):
    response = client_as("support").get(reverse("admin:index"))
    assert b"Audit trail" in response.content
    assert b"Log entries" not in response.content
