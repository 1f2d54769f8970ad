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
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core.dynamo import now
from infra.core.errors import InvalidTransition, NotFound
from projects import repository as projects
from projects.schemas import ProjectSchema
from staff.audit import audit, clean_reason
from staff.models import AuditKind
from staff.permissions import CANCEL, EDIT_PROJECT, FAIL, REDEPLOY, require

# A build running longer than this may be marked as error (ANCHOR_STUCK_BUILD_MINUTES).
STUCK_AFTER: timedelta = settings.STUCK_BUILD_AFTER


def spelt_out(span: timedelta) -> str:
    """A threshold as staff say it: "an hour", "2 hours", "90 minutes"."""
    minutes = round(span.total_seconds() / 60)
    if minutes == 60:
        return "an hour"
    if minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return "a minute" if minutes == 1 else f"{minutes} minutes"


# "over an hour" with the default threshold; the pages and the stored error say the same.
STUCK_FOR = spelt_out(STUCK_AFTER)
STUCK_ERROR = f"Marked as error by anchor-deploy staff: the build was stuck for over {STUCK_FOR}."
CANCELABLE = frozenset({DeploymentStatus.QUEUED, DeploymentStatus.BUILDING})

CANCEL_TITLE = "Cancel deployment"
FAIL_TITLE = "Mark deployment as error"
REDEPLOY_TITLE = "Redeploy"


class ProjectGone(NotFound):
    """The deployment's project no longer exists, so nothing can be deployed from it."""


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
    reason: str,
    known: DeploymentSchema | None = None,
) -> DeploymentSchema:
    """Cancel the tenant's queued or building deployment; audited with the staff member's reason
    (3 to 500 characters, else ValidationError). Needs CANCEL.

    `known`, the record the caller already read with get_deployment, saves a read; the write is
    conditional on the tenant and the stored status either way. InvalidTransition (with the
    stored status) when it is no longer queued or building; the audit trail records only a
    cancel that happened.
    """
    require(staff, CANCEL)
    reason = clean_reason(reason)
    deployment = _deployment(user_id, deployment_id, known)
    if not can_cancel(deployment):
        raise _refused(deployment, DeploymentStatus.CANCELED)
    changed = deployments.transition_deployment(
        user_id, deployment_id, DeploymentStatus.CANCELED, known=deployment
    )
    _audit_transition(staff, AuditKind.CANCEL, CANCEL_TITLE, deployment, changed, reason)
    return changed


def mark_deployment_failed(
    staff: AbstractBaseUser,
    user_id: str,
    deployment_id: str,
    *,
    reason: str,
    known: DeploymentSchema | None = None,
) -> DeploymentSchema:
    """Mark the tenant's stuck build (building for over STUCK_AFTER) as error; audited. Needs FAIL.

    The staff member's reason (3 to 500 characters) goes into the audit entry and into the
    deployment's error text, which the tenant sees. "Stuck" is checked again inside DynamoDB
    (the write is conditional on startedAt), so a build restarted meanwhile is refused with
    InvalidTransition and left alone.
    """
    require(staff, FAIL)
    reason = clean_reason(reason)
    deployment = _deployment(user_id, deployment_id, known)
    moment = now()
    if not is_stuck(deployment, moment):
        raise _refused(deployment, DeploymentStatus.ERROR)
    changed = deployments.transition_deployment(
        user_id,
        deployment_id,
        DeploymentStatus.ERROR,
        error=f"{STUCK_ERROR} Reason: {reason}",
        started_before=moment - STUCK_AFTER,
        known=deployment,
    )
    _audit_transition(staff, AuditKind.FAIL, FAIL_TITLE, deployment, changed, reason)
    return changed


def edit_project(
    staff: AbstractBaseUser,
    user_id: str,
    project_id: str,
    changes: dict[str, Any],
    *,
    expected_version: int,
    reason: str,
    known: ProjectSchema | None = None,
) -> ProjectSchema:
    """Change the tenant's project's name, repoUrl or branch; audited (before → after).

    Needs EDIT_PROJECT. The write is conditional on `expected_version` (the version the staff
    member saw): a stale edit raises Conflict and changes nothing. `known` is the project as
    the caller read it (the "before" of the audit entry); read here when not given. The
    reason (3 to 500 characters) is kept in the audit entry.
    """
    require(staff, EDIT_PROJECT)
    reason = clean_reason(reason)
    project = known or projects.get_project(user_id, project_id)
    updated = projects.update_project(
        user_id, project_id, {**changes, "expected_version": expected_version}
    )
    audit(
        staff,
        action=f"Edited project {project_id} of tenant {user_id}",
        object_id=project_id,
        object_repr=f"{updated.name} ({project_id})",
        kind=AuditKind.EDIT_PROJECT,
        tenant=user_id,
        reason=reason,
        before={k: getattr(project, k) for k in changes},
        after=changes,
    )
    return updated


def redeploy(
    staff: AbstractBaseUser,
    user_id: str,
    deployment_id: str,
    *,
    reason: str,
    request_key: str,
    known: DeploymentSchema | None = None,
) -> DeploymentSchema:
    """Queue a new deployment of the same project, commit, branch and message; audited
    ("redeployed dpl_old as dpl_new", with the reason). Needs REDEPLOY.

    `request_key` (the confirmation form's idempotency key) makes a repeated request return
    the deployment the first one created instead of queuing another (create_deployment's
    request guard, written in the same transaction). NotFound names the project when it no
    longer exists; nothing is written then.
    """
    require(staff, REDEPLOY)
    reason = clean_reason(reason)
    old = _deployment(user_id, deployment_id, known)
    try:
        new, created = deployments.create_deployment_once(
            user_id,
            old.project_id,
            {"commit_sha": old.commit_sha, "branch": old.branch, "message": old.message},
            request_key=request_key,
        )
    except NotFound as error:
        raise ProjectGone(
            f"project {old.project_id} no longer exists, so {deployment_id} cannot be redeployed",
            cause=error,
        ) from error
    if created:
        audit(
            staff,
            action=f"Redeployed {old.deployment_id} as {new.deployment_id} of tenant {user_id}",
            object_id=new.deployment_id,
            object_repr=f"deployment {new.deployment_id} ({new.project_id})",
            kind=AuditKind.REDEPLOY,
            tenant=user_id,
            reason=reason,
            before={"deployment": old.deployment_id},
            after={"deployment": new.deployment_id, "status": new.status.value},
        )
    return new


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
    staff: AbstractBaseUser,
    kind: AuditKind,
    title: str,
    before: DeploymentSchema,
    after: DeploymentSchema,
    reason: str,
) -> None:
    audit(
        staff,
        action=f"{title} {before.deployment_id} of tenant {before.user_id}",
        object_id=before.deployment_id,
        object_repr=f"deployment {before.deployment_id} ({before.project_id})",
        kind=kind,
        tenant=before.user_id,
        reason=reason,
        before={"status": before.status.value},
        after={"status": after.status.value},
    )
