"""The deployment's own page (every field, the timeline, the log's tail, the artifacts) and the
download of its whole log.

Every view reads the deployment with the tenant-scoped get_deployment(user_id, deployment_id), so
another tenant's id under this tenant's URL is the same 404 as a missing one; S3 is then read with
that record as the proof of tenancy."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_GET

from deployments import artifactstore, logstore, rules
from deployments import repository as deployments
from infra.core.dynamo import now
from infra.core.errors import (
    Misconfigured,
    RepositoryError,
)
from infra.core.resources import ARTIFACTS_RETENTION_DAYS
from staff.permissions import REDEPLOY, VIEW
from web.common.dashboard import (
    concurrently,
    dashboard_view,
    render,
)
from web.deployments import archive as archive_views
from web.deployments.actions import (
    CANCEL_ACTION,
    FAIL_ACTION,
    REDEPLOY_LINK,
    action_url,
    redeploy_url,
)
from web.deployments.pages import (
    LOG_LINES,
    LOG_POLL_SECONDS,
    detail_url,
    logger,
    page_context,
)
from web.deployments.project_names import project_name


@dashboard_view(VIEW)
@require_GET
def deployment_detail(request: HttpRequest, user_id: str, deployment_id: str) -> HttpResponse:
    """Every field, the timeline, the tail of the build log and the artifacts.

    Two DynamoDB reads: the deployment, then its project (for the project's name), side by
    side with S3's log tail and artifact list, so the page still costs two round trips.
    """
    deployment = deployments.get_deployment(user_id, deployment_id)
    # The project, the log and the artifacts are read side by side, and a failure to read any
    # degrades only its own part: the deployment itself is shown whatever the others say.
    name_read, log_read, artifacts_read = concurrently(
        lambda: project_name(deployment),
        lambda: logstore.get_build_log(user_id, deployment, tail_lines=LOG_LINES),
        lambda: artifactstore.list_artifacts(user_id, deployment),
    )
    name = name_read.result()
    log, log_error = _panel(log_read, "build log", deployment_id)
    live = rules.is_in_flight(deployment.status)
    log_styled = log.styled if log is not None else ()
    if live and log is not None and log.partial_last_line:
        log_styled = log_styled[:-1]  # its end is still being written: the live tail brings it
    artifacts, artifacts_error = _panel(artifacts_read, "artifacts", deployment_id)
    artifacts = artifacts or []
    moment = now()
    expires_at = deployment.created_at + timedelta(days=ARTIFACTS_RETENTION_DAYS)
    actions = [
        {"action": action, "url": action_url(action, deployment)}
        for action in (CANCEL_ACTION, FAIL_ACTION)
        if action.allowed(deployment, moment) and request.user.has_perm(action.permission)
    ]
    if request.user.has_perm(REDEPLOY):
        actions.append({"action": REDEPLOY_LINK, "url": redeploy_url(deployment)})
    return render(
        request,
        "admin/anchor/deployment_detail.html",
        page_context(
            deployment,
            title=f"Deployment {deployment.deployment_id}",
            project_name=name,
            log=log,
            log_error=log_error,
            artifacts_error=artifacts_error,
            log_lines=LOG_LINES,
            log_styled=log_styled,
            live=live and log_error is None,
            poll_seconds=LOG_POLL_SECONDS,
            artifacts=artifacts,
            artifacts_total=sum(a.size for a in artifacts),
            artifacts_capped=len(artifacts) >= artifactstore.MAX_ARTIFACTS,
            artifacts_expired=not artifacts and not artifacts_error and moment >= expires_at,
            artifacts_expire_at=expires_at,
            retention_days=ARTIFACTS_RETENTION_DAYS,
            actions=actions,
            **archive_views.retention_context(
                request, deployment, log, None if artifacts_error else artifacts, moment=moment
            ),
        ),
    )


def _panel(read: Future[Any], what: str, deployment_id: str) -> tuple[Any, str | None]:
    """A panel's content, or None and a sentence saying why it could not be read."""
    try:
        return read.result(), None
    except Misconfigured as error:
        logger.error("deployment %s: %s could not be read: %s", deployment_id, what, error)
        return None, f"The {what} cannot be read: {error.what_happened()}."
    except RepositoryError as error:
        logger.warning("deployment %s: %s could not be read: %s", deployment_id, what, error)
        return None, f"The {what} could not be read right now; reload the page to try again."


@dashboard_view(VIEW)
@require_GET
def deployment_log(request: HttpRequest, user_id: str, deployment_id: str) -> HttpResponse:
    """Redirect to a short-lived presigned link to the whole log (when there is one to read)."""
    deployment = deployments.get_deployment(user_id, deployment_id)
    log = logstore.get_build_log(user_id, deployment, tail_lines=0)
    if log.missing:
        messages.error(request, f"Deployment {deployment_id} has no build log to download.")
        return HttpResponseRedirect(detail_url(deployment))
    if log.archived:
        messages.error(
            request,
            f"The build log of {deployment_id} is archived in {log.storage_class}; it must be "
            "restored in S3 before it can be downloaded.",
        )
        return HttpResponseRedirect(detail_url(deployment))
    return HttpResponseRedirect(logstore.build_log_url(user_id, deployment))
