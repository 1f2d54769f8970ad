"""Staff actions as use cases: one typed function per action, making the write and its audit.

Each takes the staff user, the tenant and record ids and the input; checks the staff member's
permission itself; writes through the repository (conditional writes, so a lost race changes
nothing) with its audit entry as one outcome (staff.outbox: pending entry, write, confirmation);
and raises the project's own exceptions (NotFound, InvalidTransition, Conflict, RequestKeyReused,
ValidationError, Unavailable), PermissionDenied, or outbox.AuditPending (done, entry pending).
The dashboard views, the support shell and the tests all call these same functions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from deployments import repository as deployments
from deployments import rules
from deployments.errors import InvalidTransition
from deployments.repository import REQUEST_KEY_PATTERN
from deployments.schemas import DeploymentSchema, DeploymentStatus
from deployments.wording import (
    CANCEL_TITLE,
    FAIL_TITLE,
    REDEPLOY_TITLE,
    STUCK_ERROR,
    STUCK_FOR,
    spelt_out,
)
from infra.core.dynamo import now
from infra.core.errors import NotFound, ValidationError
from projects import repository as projects
from projects.schemas import ProjectSchema
from staff import outbox
from staff.audit import clean_reason
from staff.models import AuditKind
from staff.permissions import CANCEL, EDIT_PROJECT, FAIL, REDEPLOY, Actor, require

# The rules and the wording have their own homes; these names stay importable from here.
STUCK_AFTER: timedelta = rules.stuck_after()
can_cancel = rules.can_cancel
is_stuck = rules.is_stuck
CANCELABLE = rules.CANCELABLE
__all__ = [
    "CANCELABLE",
    "CANCEL_TITLE",
    "FAIL_TITLE",
    "REDEPLOY_TITLE",
    "STUCK_AFTER",
    "STUCK_ERROR",
    "STUCK_FOR",
    "ProjectGone",
    "can_cancel",
    "cancel_deployment",
    "edit_project",
    "is_stuck",
    "mark_deployment_failed",
    "redeploy",
    "spelt_out",
]


class ProjectGone(NotFound):
    """The deployment's project no longer exists, so nothing can be deployed from it."""


def cancel_deployment(
    staff: Actor,
    user_id: str,
    deployment_id: str,
    *,
    reason: str,
    known: DeploymentSchema | None = None,
    request_key: str | None = None,
) -> DeploymentSchema:
    """Cancel the tenant's queued or building deployment; audited with the staff member's reason
    (3 to 500 characters, else ValidationError). Needs CANCEL.

    `known`, the record the caller already read with get_deployment, saves a read; the write is
    conditional on the tenant and the stored status either way. InvalidTransition (with the
    stored status) when it is no longer queued or building; the audit trail records only a
    cancel that happened. The write and its entry are one outcome (staff.outbox): AuditUnavailable
    before anything is written when the audit trail cannot be written, AuditPending when the
    cancel took effect but its entry is still pending. `request_key` (the form's key) makes a
    replay complete the first request instead of acting twice.
    """
    staff = require(staff, CANCEL)
    reason = clean_reason(reason)
    deployment = _deployment(user_id, deployment_id, known)
    return _transition_action(
        staff, AuditKind.CANCEL, CANCEL_TITLE, deployment, reason, request_key
    )


def mark_deployment_failed(
    staff: Actor,
    user_id: str,
    deployment_id: str,
    *,
    reason: str,
    known: DeploymentSchema | None = None,
    request_key: str | None = None,
) -> DeploymentSchema:
    """Mark the tenant's stuck build (building for over STUCK_AFTER) as error; audited. Needs FAIL.

    The staff member's reason (3 to 500 characters) goes into the audit entry and into the
    deployment's error text, which the tenant sees. "Stuck" is checked again inside DynamoDB
    (the write is conditional on startedAt), so a build restarted meanwhile is refused with
    InvalidTransition and left alone. Audited as one outcome, like cancel_deployment.
    """
    staff = require(staff, FAIL)
    reason = clean_reason(reason)
    deployment = _deployment(user_id, deployment_id, known)
    return _transition_action(
        staff,
        AuditKind.FAIL,
        FAIL_TITLE,
        deployment,
        reason,
        request_key,
        error=f"{STUCK_ERROR} Reason: {reason}",
        started_before=rules.stuck_since(now()),
    )


_TARGETS = {AuditKind.CANCEL: DeploymentStatus.CANCELED, AuditKind.FAIL: DeploymentStatus.ERROR}


def _transition_action(
    staff: Actor,
    kind: AuditKind,
    title: str,
    deployment: DeploymentSchema,
    reason: str,
    request_key: str | None,
    *,
    error: str | None = None,
    started_before: datetime | None = None,
) -> DeploymentSchema:
    """A status change by staff through the outbox: pending entry, the conditional transition
    with the entry's token and an action receipt, then the entry confirmed.

    Whether the move is allowed is decided once, by the transition itself (the status machine,
    and for a stuck build startedAt, as the write's DynamoDB condition): a refusal is
    InvalidTransition with the stored status, and the pending entry goes."""
    target = _TARGETS[kind]
    user_id, deployment_id = deployment.user_id, deployment.deployment_id

    def write(token: str) -> DeploymentSchema:
        return deployments.transition_deployment(
            user_id,
            deployment_id,
            target,
            error=error,
            started_before=started_before,
            known=deployment,
            write_token=token,
            receipt=kind.value,
        )

    return outbox.perform(
        staff,
        outbox.Entry.of_deployment(
            kind,
            deployment,
            title,
            reason,
            before={"status": deployment.status.value},
            after={"status": target.value},
        ),
        params={"reason": reason},
        request_key=request_key,
        trace=outbox.Trace(outbox.RECEIPT, deployment.project_id, deployment_id),
        write=write,
        confirmed=lambda changed: {"after": {"status": changed.status.value}},
        replayed=lambda _entry: deployments.get_deployment(user_id, deployment_id),
    )


def edit_project(
    staff: Actor,
    user_id: str,
    project_id: str,
    changes: dict[str, Any],
    *,
    expected_version: int,
    reason: str,
    known: ProjectSchema | None = None,
    request_key: str | None = None,
) -> ProjectSchema:
    """Change the tenant's project's name, repoUrl or branch; audited (before → after).

    Needs EDIT_PROJECT. The write is conditional on `expected_version` (the version the staff
    member saw): a stale edit raises Conflict and changes nothing. `known` is the project as
    the caller read it (the "before" of the audit entry); read here when not given. The
    reason (3 to 500 characters) is kept in the audit entry. Audited as one outcome, like
    cancel_deployment (the update and its action receipt are one DynamoDB transaction).
    """
    staff = require(staff, EDIT_PROJECT)
    reason = clean_reason(reason)
    project = known or projects.get_project(user_id, project_id)

    def write(token: str) -> ProjectSchema:
        return projects.update_project(
            user_id,
            project_id,
            {**changes, "expected_version": expected_version},
            write_token=token,
            receipt=AuditKind.EDIT_PROJECT.value,
        )

    return outbox.perform(
        staff,
        outbox.Entry(
            kind=AuditKind.EDIT_PROJECT,
            tenant=user_id,
            action=f"Edited project {project_id} of tenant {user_id}",
            object_id=project_id,
            object_repr=f"{changes.get('name', project.name)} ({project_id})",
            reason=reason,
            before={k: getattr(project, k) for k in changes},
            after=dict(changes),
        ),
        params={"changes": changes, "expected_version": expected_version, "reason": reason},
        request_key=request_key,
        trace=outbox.Trace(outbox.RECEIPT, project_id),
        write=write,
        confirmed=lambda updated: {"object_repr": f"{updated.name} ({project_id})"},
        replayed=lambda _entry: projects.get_project(user_id, project_id),
    )


def redeploy(
    staff: Actor,
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
    request guard, written in the same transaction), and completes its audit entry if that was
    left pending. The key is bound to this deployment and reason: presented for another one it
    raises RequestKeyReused (409) and nothing is written. NotFound names the project when it
    no longer exists; nothing is written then. Audited as one outcome, like cancel_deployment.
    """
    staff = require(staff, REDEPLOY)
    reason = clean_reason(reason)
    old = _deployment(user_id, deployment_id, known)
    if not REQUEST_KEY_PATTERN.match(str(request_key)):
        raise ValidationError({"request_key": ["The form has expired; open it again."]})

    def write(_token: str | None = None) -> DeploymentSchema:
        try:
            new, _created = deployments.create_deployment_once(
                user_id,
                old.project_id,
                {"commit_sha": old.commit_sha, "branch": old.branch, "message": old.message},
                request_key=request_key,
                purpose=f"redeploy {deployment_id}",
            )
        except NotFound as error:
            raise ProjectGone(
                f"project {old.project_id} no longer exists, so {deployment_id} cannot be "
                "redeployed",
                cause=error,
            ) from error
        return new

    return outbox.perform(
        staff,
        outbox.Entry.of_deployment(
            AuditKind.REDEPLOY, old, "Redeploy", reason, before={"deployment": deployment_id}
        ),
        params={"reason": reason},
        request_key=request_key,
        trace=outbox.Trace(outbox.GUARD, old.project_id, deployment_id),
        write=write,
        confirmed=lambda new: outbox.redeployed(
            deployment_id, new.deployment_id, new.project_id, user_id, new.status.value
        ),
        replayed=lambda _entry: write(),
    )


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
