"""Staff action: restore a deployment's archived build log from Glacier (a use case, audited).

The same shape as staff.actions: a typed function that checks the staff member's permission
itself, reads the tenant's deployment (another tenant's is NotFound), asks S3 through
deployments.archive, and records what it asked in the audit trail with the staff member's
reason. Called by the dashboard view, the shell and the tests alike.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser

from deployments import archive
from deployments import repository as deployments
from deployments.schemas import DeploymentSchema
from staff.audit import audit, clean_reason
from staff.models import AuditKind
from staff.permissions import RESTORE_LOG, require

RESTORE_TITLE = "Restore build log"


def restore_build_log(
    staff: AbstractBaseUser,
    user_id: str,
    deployment_id: str,
    *,
    reason: str,
    known: DeploymentSchema | None = None,
    tier: str | None = None,
    days: int | None = None,
) -> archive.RestoreRequest:
    """Ask S3 to restore the tenant's deployment's archived build log; audited. Needs RESTORE_LOG.

    `tier` and `days` default to settings.ANCHOR_RESTORE_TIER / ANCHOR_RESTORE_DAYS (Expedited
    becomes Standard on DEEP_ARCHIVE). Raises ValidationError for a reason outside 3-500
    characters (before any AWS call), NotFound (no such deployment for this tenant, or no log),
    archive.NotArchived, and archive.RestoreAlreadyInProgress; only a request S3 accepted is
    recorded in the audit trail.
    """
    require(staff, RESTORE_LOG)
    text = clean_reason(reason)
    deployment = (
        known
        if known is not None and known.deployment_id == deployment_id and known.user_id == user_id
        else deployments.get_deployment(user_id, deployment_id)
    )
    request = archive.request_log_restore(
        user_id,
        deployment,
        tier=tier or settings.ANCHOR_RESTORE_TIER,
        days=days or settings.ANCHOR_RESTORE_DAYS,
    )
    audit(
        staff,
        action=(
            f"{RESTORE_TITLE} of {deployment_id} of tenant {user_id} from "
            f"{request.storage_class}, tier {request.tier}, for {request.days} days; "
            f"reason: {text}"
        ),
        object_id=deployment_id,
        object_repr=f"deployment {deployment_id} ({deployment.project_id})",
        kind=AuditKind.RESTORE_LOG,
        tenant=user_id,
        reason=text,
        before={"storage class": request.storage_class},
        after={"restore": f"tier {request.tier}, {request.days} days"},
    )
    return request
