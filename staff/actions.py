"""Staff actions as use cases: one typed function per action, making the write and its audit.

Each takes the staff user, the tenant and record ids and the input; checks the staff member's
permission itself; writes through the repository (conditional writes, so a lost race changes
nothing); records the action in the audit trail; and raises the project's own exceptions
(NotFound, InvalidTransition, Conflict, ValidationError, Unavailable) or PermissionDenied.
The dashboard views, the support shell and the tests all call these same functions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser

from deployments import repository as deployments
from deployments.models import DeploymentAccess
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core.dynamo import now
from infra.core.errors import InvalidTransition
from projects import repository as projects
from projects.models import ProjectAccess
from projects.schemas import ProjectSchema
from staff.audit import audit
from staff.permissions import CANCEL, EDIT_PROJECT, FAIL, require

# A build running longer than this may be marked as error (ANCHOR_STUCK_BUILD_MINUTES).
STUCK_AFTER: timedelta = settings.STUCK_BUILD_AFTER
STUCK_ERROR = "Marked as error by anchor-deploy staff: the build was stuck for over an hour."
CANCELABLE = frozenset({DeploymentStatus.QUEUED, DeploymentStatus.BUILDING})

CANCEL_TITLE = "Cancel deployment"
FAIL_TITLE = "Mark deployment as error"


def can_cancel(deployment: DeploymentSchema, moment: datetime | None = None) -> bool:
    """Whether staff may cancel the deployment: it is queued or building."""
    return deployment.status in CANCELABLE


def is_stuck(deployment: DeploymentSchema, moment: datetime | None = None) -> bool:
    """Whether the deployment is a stuck build: building, started over STUCK_AFTER ago."""
    moment = moment or now()
    return (
        deployment.status is DeploymentStatus.BUILDING
        and deployment.started_at is not None
        and deployment.started_at < moment - STUCK_AFTER
    )


def cancel_deployment(
    staff: AbstractBaseUser,
    user_id: str,
    deployment_id: str,
    *,
    known: DeploymentSchema | None = None,
) -> DeploymentSchema:
    """Cancel the tenant's queued or building deployment; audited. Needs CANCEL.

    `known`, the record the caller already read with get_deployment, saves a read; the write is
    conditional on the tenant and the stored status either way. InvalidTransition (with the
    stored status) when it is no longer queued or building; the audit trail records only a
    cancel that happened.
    """
    require(staff, CANCEL)
    deployment = _deployment(user_id, deployment_id, known)
    if not can_cancel(deployment):
        raise _refused(deployment, DeploymentStatus.CANCELED)
    changed = deployments.transition_deployment(
        user_id, deployment_id, DeploymentStatus.CANCELED, known=deployment
    )
    _audit_transition(staff, CANCEL_TITLE, deployment, changed)
    return changed


def mark_deployment_failed(
    staff: AbstractBaseUser,
    user_id: str,
    deployment_id: str,
    *,
    known: DeploymentSchema | None = None,
) -> DeploymentSchema:
    """Mark the tenant's stuck build (building for over STUCK_AFTER) as error; audited. Needs FAIL.

    "Stuck" is checked again inside DynamoDB (the write is conditional on startedAt), so a build
    restarted meanwhile is refused with InvalidTransition and left alone.
    """
    require(staff, FAIL)
    deployment = _deployment(user_id, deployment_id, known)
    moment = now()
    if not is_stuck(deployment, moment):
        raise _refused(deployment, DeploymentStatus.ERROR)
    changed = deployments.transition_deployment(
        user_id,
        deployment_id,
        DeploymentStatus.ERROR,
        error=STUCK_ERROR,
        started_before=moment - STUCK_AFTER,
        known=deployment,
    )
    _audit_transition(staff, FAIL_TITLE, deployment, changed)
    return changed


def edit_project(
    staff: AbstractBaseUser,
    user_id: str,
    project_id: str,
    changes: dict[str, Any],
    *,
    expected_version: int,
    known: ProjectSchema | None = None,
) -> ProjectSchema:
    """Change the tenant's project's name, repoUrl or branch; audited (before → after).

    Needs EDIT_PROJECT. The write is conditional on `expected_version` (the version the staff
    member saw): a stale edit raises Conflict and changes nothing. `known` is the project as
    the caller read it (the "before" of the audit entry); read here when not given.
    """
    require(staff, EDIT_PROJECT)
    project = known or projects.get_project(user_id, project_id)
    updated = projects.update_project(
        user_id, project_id, {**changes, "expected_version": expected_version}
    )
    audit(
        staff,
        action=f"Edited project {project_id} of tenant {user_id}",
        object_id=project_id,
        object_repr=f"{updated.name} ({project_id})",
        model=ProjectAccess,
        before={k: getattr(project, k) for k in changes},
        after=changes,
    )
    return updated


def _deployment(
    user_id: str, deployment_id: str, known: DeploymentSchema | None
) -> DeploymentSchema:
    if known is not None and known.deployment_id == deployment_id and known.user_id == user_id:
        return known
    return deployments.get_deployment(user_id, deployment_id)


def _refused(deployment: DeploymentSchema, target: DeploymentStatus) -> InvalidTransition:
    return InvalidTransition(
        f"deployment {deployment.deployment_id} is {deployment.status.value}; it cannot move to "
        f"{target.value}",
        current_status=deployment.status.value,
    )


def _audit_transition(
    staff: AbstractBaseUser, title: str, before: DeploymentSchema, after: DeploymentSchema
) -> None:
    audit(
        staff,
        action=f"{title} {before.deployment_id} of tenant {before.user_id}",
        object_id=before.deployment_id,
        object_repr=f"deployment {before.deployment_id} ({before.project_id})",
        model=DeploymentAccess,
        before={"status": before.status.value},
        after={"status": after.status.value},
    )
