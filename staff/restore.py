"""Staff action: restore a deployment's archived build log from Glacier (a use case, audited).

The same shape as staff.actions: a typed function that checks the staff member's permission
itself, reads the tenant's deployment (another tenant's is NotFound), asks S3 through
deployments.archive, and records what it asked in the audit trail with the staff member's
reason, as one outcome with the request (staff.outbox). Called by the dashboard view, the
shell and the tests alike.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from deployments import archive
from deployments import repository as deployments
from deployments.schemas import DeploymentSchema
from deployments.wording import RESTORE_TITLE
from staff import outbox
from staff.audit import clean_reason
from staff.models import AuditKind
from staff.permissions import RESTORE_LOG, Actor, require


def restore_build_log(
    staff: Actor,
    user_id: str,
    deployment_id: str,
    *,
    reason: str,
    known: DeploymentSchema | None = None,
    tier: str | None = None,
    days: int | None = None,
    request_key: str | None = None,
) -> archive.RestoreRequest:
    """Ask S3 to restore the tenant's deployment's archived build log; audited. Needs RESTORE_LOG.

    `tier` and `days` default to settings.ANCHOR_RESTORE_TIER / ANCHOR_RESTORE_DAYS (Expedited
    becomes Standard on DEEP_ARCHIVE). Raises ValidationError for a reason outside 3-500
    characters (before any AWS call), NotFound (no such deployment for this tenant, or no log),
    archive.NotArchived, and archive.RestoreAlreadyInProgress (also for a replay of a request
    already made: nothing more is asked); only a request S3 accepted is recorded in the audit
    trail, as one outcome with it (staff.outbox: the sweeper reads the log's restore state).
    """
    staff = require(staff, RESTORE_LOG)
    text = clean_reason(reason)
    deployment = (
        known
        if known is not None and known.deployment_id == deployment_id and known.user_id == user_id
        else deployments.get_deployment(user_id, deployment_id)
    )

    def write(_token: str) -> archive.RestoreRequest:
        return archive.request_log_restore(
            user_id,
            deployment,
            tier=tier or settings.ANCHOR_RESTORE_TIER,
            days=days or settings.ANCHOR_RESTORE_DAYS,
        )

    def confirmed(request: archive.RestoreRequest) -> dict[str, Any]:
        return {
            "action": (
                f"{RESTORE_TITLE} of {deployment_id} of tenant {user_id} from "
                f"{request.storage_class}, tier {request.tier}, for {request.days} days; "
                f"reason: {text}"
            ),
            "before": {"storage class": request.storage_class},
            "after": {"restore": f"tier {request.tier}, {request.days} days"},
        }

    def replayed(_entry: Any) -> archive.RestoreRequest:
        raise archive.RestoreAlreadyInProgress(
            f"the restore of {deployment_id}'s build log was already requested by this form"
        )

    return outbox.perform(
        staff,
        outbox.Entry.of_deployment(AuditKind.RESTORE_LOG, deployment, f"{RESTORE_TITLE} of", text),
        params={"reason": text, "tier": tier, "days": days},
        request_key=request_key,
        trace=outbox.Trace(outbox.RESTORE, deployment.project_id, deployment_id),
        write=write,
        confirmed=confirmed,
        replayed=replayed,
    )
