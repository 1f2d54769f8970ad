"""Staff use cases called directly, as the support shell does: write, audit, permission, refusal."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from deployments import repository as deployments
from deployments.errors import InvalidTransition
from deployments.schemas import DeploymentStatus
from infra.core.errors import Conflict, NotFound
from projects import repository as projects
from staff import actions
from staff.models import AuditEntry
from tests.factories import PUSH

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]

S = DeploymentStatus
TENANT = "tenant-a"


def test_cancel_moves_the_deployment_and_writes_one_audit_entry(project, operations_user):
    queued = deployments.create_deployment(TENANT, project.project_id, PUSH)

    changed = actions.cancel_deployment(
        operations_user, TENANT, queued.deployment_id, reason="test: stop this build"
    )

    assert changed.status is S.CANCELED
    assert deployments.get_deployment(TENANT, queued.deployment_id).status is S.CANCELED
    entry = AuditEntry.objects.get()
    assert entry.user == operations_user
    assert entry.object_id == queued.deployment_id
    assert "status: queued → canceled" in entry.change_message


def test_support_staff_may_not_cancel_even_from_the_shell(project, support_user):
    queued = deployments.create_deployment(TENANT, project.project_id, PUSH)

    with pytest.raises(PermissionDenied):
        actions.cancel_deployment(
            support_user, TENANT, queued.deployment_id, reason="test: stop this build"
        )

    assert deployments.get_deployment(TENANT, queued.deployment_id).status is S.QUEUED
    assert not AuditEntry.objects.exists()


def test_a_refused_cancel_changes_nothing_and_is_not_audited(project, operations_user):
    ready = deployments.create_deployment(TENANT, project.project_id, PUSH)
    deployments.update_deployment_status(ready.deployment_id, S.BUILDING)
    deployments.update_deployment_status(ready.deployment_id, S.READY)

    with pytest.raises(InvalidTransition) as refused:
        actions.cancel_deployment(
            operations_user, TENANT, ready.deployment_id, reason="test: stop this build"
        )

    assert refused.value.current_status == "ready"
    assert not AuditEntry.objects.exists()


def test_a_build_that_just_started_is_not_stuck(project, operations_user):
    building = deployments.create_deployment(TENANT, project.project_id, PUSH)
    deployments.update_deployment_status(building.deployment_id, S.BUILDING)

    with pytest.raises(InvalidTransition):
        actions.mark_deployment_failed(
            operations_user, TENANT, building.deployment_id, reason="test: the build is stuck"
        )

    assert deployments.get_deployment(TENANT, building.deployment_id).status is S.BUILDING
    assert not AuditEntry.objects.exists()


def test_another_tenants_deployment_is_not_found(project, operations_user):
    queued = deployments.create_deployment(TENANT, project.project_id, PUSH)

    with pytest.raises(NotFound):
        actions.cancel_deployment(
            operations_user, "tenant-b", queued.deployment_id, reason="test: stop this build"
        )

    assert deployments.get_deployment(TENANT, queued.deployment_id).status is S.QUEUED


def test_edit_project_audits_before_and_after_and_refuses_a_stale_version(project, operations_user):
    updated = actions.edit_project(
        operations_user,
        TENANT,
        project.project_id,
        {"name": "shopfront"},
        expected_version=project.version,
        reason="test: tenant asked for it",
    )

    assert updated.name == "shopfront"
    assert "name: storefront → shopfront" in AuditEntry.objects.get().change_message
    with pytest.raises(Conflict):
        actions.edit_project(
            operations_user,
            TENANT,
            project.project_id,
            {"name": "stale"},
            expected_version=project.version,
            reason="test: tenant asked for it",
        )
    assert projects.get_project(TENANT, project.project_id).name == "shopfront"
    assert AuditEntry.objects.count() == 1
