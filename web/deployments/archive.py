"""Dashboard pieces for archived logs and retention: the restore action and what the deployment
page shows of the logs and artifacts buckets' lifecycle.

The restore page reads the deployment with the tenant-scoped get_deployment(user_id, ...) first
(another tenant's id is the same 404 as a missing one), then HEADs the log; the use case is
staff.restore.restore_build_log. The retention context is computed from what the deployment
page already read (the log's HEAD, the artifact listing): no extra DynamoDB or S3 call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from deployments import archive, artifactstore, logstore, wording
from deployments import repository as deployments
from deployments.schemas import DeploymentSchema
from infra.core.dynamo import now
from infra.core.errors import NotFound, RequestKeyReused, ValidationError
from staff import restore
from staff.outbox import AuditPending
from staff.permissions import RESTORE_LOG
from web.common.dashboard import (
    dashboard_view,
    done_pending_message,
    error_page,
    granted,
    mark_done,
    render,
)
from web.common.forms import ActionForm
from web.deployments.project_names import project_name


def _detail_url(deployment: DeploymentSchema) -> str:
    return reverse(
        "admin:deployments_deployment_detail", args=[deployment.user_id, deployment.deployment_id]
    )


def restore_url(deployment: DeploymentSchema) -> str:
    return reverse(
        "admin:deployments_deployment_restore_log",
        args=[deployment.user_id, deployment.deployment_id],
    )


def logs_lifecycle_text() -> str:
    """The logs bucket's lifecycle in one sentence (for the pages of an archived log)."""
    return archive.logs_lifecycle_text()


def retention_context(
    request: HttpRequest,
    deployment: DeploymentSchema,
    log: logstore.BuildLog | None,
    artifacts: list[artifactstore.Artifact] | None,
    *,
    moment: datetime | None = None,
) -> dict[str, Any]:
    """What _log_retention.html and _artifacts.html show: the log's class, its next class and
    when (or why it stays: too small for the bucket's lifecycle), its restore state; each
    artifact's expiry; whether the artifacts have expired."""
    moment = moment or now()
    retention = None
    if log is not None and not log.missing:
        retention = archive.log_retention(
            log.storage_class, log.last_modified, log.restore, size=log.size
        )
    gone_at = archive.deployment_artifacts_expire_at(deployment.created_at)
    return {
        "log_retention": retention,
        "logs_lifecycle": archive.logs_lifecycle_text(),
        "can_restore": request.user.has_perm(RESTORE_LOG),
        "restore_url": restore_url(deployment),
        "artifact_rows": [
            {"artifact": a, "expires_at": archive.artifact_expires_at(a.last_modified)}
            for a in artifacts or []
        ],
        "artifacts_gone": artifacts == [] and gone_at is not None and moment >= gone_at,
        "artifacts_gone_at": gone_at,
        "artifact_retention_days": archive.retention_days(),
    }


@dashboard_view(RESTORE_LOG)
@require_http_methods(["GET", "POST"])
def deployment_restore_log(request: HttpRequest, user_id: str, deployment_id: str) -> HttpResponse:
    """Restore an archived build log (GET asks to confirm, with a reason; POST asks S3)."""
    deployment = deployments.get_deployment(user_id, deployment_id)
    detail_url = _detail_url(deployment)
    log = logstore.get_build_log(user_id, deployment, tail_lines=0)
    if log.missing:
        messages.error(request, f"Deployment {deployment_id} has no build log to restore.")
        return HttpResponseRedirect(detail_url)
    retention = archive.log_retention(log.storage_class, log.last_modified, log.restore)
    if not retention.archived:
        messages.info(
            request,
            f"The build log of {deployment_id} is in {log.storage_class}: it can be read as it "
            "is, no restore needed.",
        )
        return HttpResponseRedirect(detail_url)
    if retention.restoring:
        messages.info(request, _in_progress_message(deployment_id))
        return HttpResponseRedirect(detail_url + "#log")
    wanted = settings.ANCHOR_RESTORE_TIER
    tier = archive.restore_tier(log.storage_class, wanted)
    context = {
        "user_id": user_id,
        "deployment": deployment,
        "project_name": project_name(deployment),
        "title": wording.RESTORE_TITLE,
        "log": log,
        "retention": retention,
        "tier": tier,
        "tier_note": _tier_note(log.storage_class, wanted, tier),
        "takes": archive.RETRIEVAL_TIMES.get((log.storage_class, tier), "some hours"),
        "days": settings.ANCHOR_RESTORE_DAYS,
    }
    template = "admin/anchor/deployment_restore_confirm.html"
    if request.method != "POST":
        return render(request, template, {**context, "form": ActionForm()})
    form = ActionForm(request.POST)
    if not form.is_valid():
        return render(request, template, {**context, "form": form}, status=400)
    try:
        done = restore.restore_build_log(
            granted(request),
            user_id,
            deployment_id,
            reason=form.cleaned_data["reason"],
            known=deployment,
            request_key=form.cleaned_data["request_key"] or None,
        )
    except AuditPending as pending:
        done = _requested_message(pending.result)
        mark_done(request, done)
        messages.warning(request, done_pending_message(done))
        return HttpResponseRedirect(detail_url + "#log")
    except RequestKeyReused as error:
        return error_page(request, 409, "Form already used", f"Nothing was restored: {error}.")
    except ValidationError as error:  # the use case's own check, should the form's ever differ
        for problem in error.errors.get("reason") or [str(error)]:
            form.add_error("reason", problem)
        return render(request, template, {**context, "form": form}, status=400)
    except archive.RestoreAlreadyInProgress:
        messages.info(request, _in_progress_message(deployment_id))
        return HttpResponseRedirect(detail_url + "#log")
    except archive.NotArchived as error:
        messages.info(request, f"Nothing to restore: {error}.")
        return HttpResponseRedirect(detail_url + "#log")
    except NotFound:
        messages.error(request, f"Deployment {deployment_id} has no build log to restore.")
        return HttpResponseRedirect(detail_url)
    messages.success(request, _requested_message(done))
    return HttpResponseRedirect(detail_url + "#log")


def _requested_message(done: archive.RestoreRequest) -> str:
    deployment_id = done.key.rsplit("/", 2)[-2]
    if done.extended:
        return (
            f"The restored copy of {deployment_id}'s build log now stays readable for "
            f"{done.days} days."
        )
    note = _tier_note(done.storage_class, done.requested_tier, done.tier)
    return (
        f"Restore of {deployment_id}'s build log requested from {done.storage_class} "
        f"(tier {done.tier}, usually {done.takes}); it stays readable for {done.days} days "
        f"once restored.{(' ' + note) if note else ''}"
    )


def _in_progress_message(deployment_id: str) -> str:
    return (
        f"A restore of {deployment_id}'s build log is already in progress; the log can be "
        "read here once S3 finishes it. Nothing more was requested."
    )


def _tier_note(storage_class: str, wanted: str, tier: str) -> str:
    if wanted == tier:
        return ""
    return (
        f"{storage_class} cannot be restored with the {wanted} tier (it allows only "
        f"{' or '.join(archive.TIERS_BY_CLASS[storage_class])}), so {tier} is used."
    )


_BASE = "tenants/<str:user_id>/deployments/<str:deployment_id>/"

urlpatterns = [
    path(_BASE + "restore-log/", deployment_restore_log, name="deployments_deployment_restore_log"),
]
