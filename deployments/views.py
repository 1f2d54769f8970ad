"""Dashboard pages for deployments: the deployment, its log, and the cancel and fail actions.

Routes are added to the admin site by anchor_site.admin. Every view reads the deployment with the
tenant-scoped get_deployment(user_id, deployment_id), so another tenant's id under this tenant's
URL is the same 404 as a missing one; S3 is then read with that record as the proof of tenancy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from anchor_site.dashboard import concurrently, dashboard_view, render
from deployments import repository as deployments
from deployments import storage
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core.dynamo import now
from infra.core.errors import InvalidTransition, Misconfigured, NotFound, RepositoryError
from infra.core.resources import ARTIFACTS_RETENTION_DAYS
from projects import repository as projects
from staff import actions
from staff.permissions import CANCEL, FAIL, VIEW

LOG_LINES = 200
logger = logging.getLogger("anchor.dashboard")


@dataclass(frozen=True)
class Action:
    """A staff action on a deployment as the dashboard offers it: its use case (staff.actions),
    who may take it, when, and what the pages say."""

    verb: str  # the URL name's last word
    permission: str
    target: DeploymentStatus
    title: str
    question: str
    button: str
    done: str
    allowed: Callable[[DeploymentSchema, datetime], bool]
    not_allowed: str
    perform: Callable[..., DeploymentSchema]


CANCEL_ACTION = Action(
    verb="cancel",
    permission=CANCEL,
    target=DeploymentStatus.CANCELED,
    title=actions.CANCEL_TITLE,
    question="Cancel this deployment? Its build stops and the deployment ends as canceled.",
    button="Yes, cancel it",
    done="Canceled deployment {id}.",
    allowed=actions.can_cancel,
    not_allowed="Only a queued or building deployment can be canceled; this one is {status}.",
    perform=actions.cancel_deployment,
)
FAIL_ACTION = Action(
    verb="fail",
    permission=FAIL,
    target=DeploymentStatus.ERROR,
    title=actions.FAIL_TITLE,
    question=(
        "Mark this stuck build as error? It has been building for over an hour; the deployment "
        "ends as error with a note that staff marked it."
    ),
    button="Yes, mark it as error",
    done="Marked deployment {id} as error.",
    allowed=actions.is_stuck,
    not_allowed=(
        "Only a deployment building for over an hour can be marked as error; this one is "
        "{status}{since}."
    ),
    perform=actions.mark_deployment_failed,
)


def _detail_url(deployment: DeploymentSchema) -> str:
    return reverse(
        "admin:deployments_deployment_detail", args=[deployment.user_id, deployment.deployment_id]
    )


def _context(deployment: DeploymentSchema, **extra: object) -> dict[str, object]:
    return {"user_id": deployment.user_id, "deployment": deployment, **extra}


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
    project_read, log_read, artifacts_read = concurrently(
        lambda: projects.get_project(user_id, deployment.project_id),
        lambda: storage.get_build_log(user_id, deployment, tail_lines=LOG_LINES),
        lambda: storage.list_artifacts(user_id, deployment),
    )
    project_name = _project_name(project_read, deployment_id)
    log, log_error = _panel(log_read, "build log", deployment_id)
    artifacts, artifacts_error = _panel(artifacts_read, "artifacts", deployment_id)
    artifacts = artifacts or []
    moment = now()
    expires_at = deployment.created_at + timedelta(days=ARTIFACTS_RETENTION_DAYS)
    actions = [
        {"action": action, "url": _action_url(action, deployment)}
        for action in (CANCEL_ACTION, FAIL_ACTION)
        if action.allowed(deployment, moment) and request.user.has_perm(action.permission)
    ]
    return render(
        request,
        "admin/anchor/deployment_detail.html",
        _context(
            deployment,
            title=f"Deployment {deployment.deployment_id}",
            project_name=project_name,
            log=log,
            log_error=log_error,
            artifacts_error=artifacts_error,
            log_lines=LOG_LINES,
            artifacts=artifacts,
            artifacts_total=sum(a.size for a in artifacts),
            artifacts_capped=len(artifacts) >= storage.MAX_ARTIFACTS,
            artifacts_expired=not artifacts and not artifacts_error and moment >= expires_at,
            artifacts_expire_at=expires_at,
            retention_days=ARTIFACTS_RETENTION_DAYS,
            actions=actions,
        ),
    )


def _project_name(read: Future[Any], deployment_id: str) -> str | None:
    """The deployment's project's name; None (the page shows the id) when the project is gone
    or could not be read."""
    try:
        return read.result().name
    except NotFound:
        return None
    except RepositoryError as error:
        logger.warning("deployment %s: its project could not be read: %s", deployment_id, error)
        return None


def _panel(read: Future[Any], what: str, deployment_id: str) -> tuple[Any, str | None]:
    """A panel's content, or None and a sentence saying why it could not be read."""
    try:
        return read.result(), None
    except Misconfigured as error:
        logger.error("deployment %s: %s could not be read: %s", deployment_id, what, error)
        return None, f"The {what} cannot be read: the console is not allowed to ({error.code})."
    except RepositoryError as error:
        logger.warning("deployment %s: %s could not be read: %s", deployment_id, what, error)
        return None, f"The {what} could not be read right now; reload the page to try again."


@dashboard_view(VIEW)
@require_GET
def deployment_log(request: HttpRequest, user_id: str, deployment_id: str) -> HttpResponse:
    """Redirect to a short-lived presigned link to the whole log (when there is one to read)."""
    deployment = deployments.get_deployment(user_id, deployment_id)
    log = storage.get_build_log(user_id, deployment, tail_lines=0)
    if log.missing:
        messages.error(request, f"Deployment {deployment_id} has no build log to download.")
        return HttpResponseRedirect(_detail_url(deployment))
    if log.archived:
        messages.error(
            request,
            f"The build log of {deployment_id} is archived in {log.storage_class}; it must be "
            "restored in S3 before it can be downloaded.",
        )
        return HttpResponseRedirect(_detail_url(deployment))
    return HttpResponseRedirect(storage.build_log_url(user_id, deployment))


def _action_url(action: Action, deployment: DeploymentSchema) -> str:
    return reverse(
        f"admin:deployments_deployment_{action.verb}",
        args=[deployment.user_id, deployment.deployment_id],
    )


def _not_allowed_message(action: Action, deployment: DeploymentSchema) -> str:
    since = ""
    if deployment.status is DeploymentStatus.BUILDING and deployment.started_at is not None:
        minutes = int((now() - deployment.started_at).total_seconds() // 60)
        since = f" and started {minutes} minute{'s' if minutes != 1 else ''} ago"
    return action.not_allowed.format(status=deployment.status.value, since=since)


def _perform(
    request: HttpRequest, action: Action, user_id: str, deployment_id: str
) -> HttpResponse:
    """GET asks to confirm; POST calls the use case (write + audit) and says how it went."""
    deployment = deployments.get_deployment(user_id, deployment_id)
    detail_url = _detail_url(deployment)
    if not action.allowed(deployment, now()):
        messages.error(request, _not_allowed_message(action, deployment))
        return HttpResponseRedirect(detail_url)
    if request.method != "POST":
        return render(
            request,
            "admin/anchor/deployment_confirm.html",
            _context(deployment, title=action.title, action=action),
        )
    try:
        action.perform(request.user, user_id, deployment_id, known=deployment)
    except InvalidTransition as error:
        # Lost a race (the orchestrator moved it meanwhile): say what it is now, change nothing.
        if error.current_status in (None, deployment.status.value):
            reason = str(error)
        else:
            reason = (
                f"it is {error.current_status} now, so it can no longer move to "
                f"{action.target.value} (the build system changed it a moment ago)"
            )
        messages.error(request, f"Deployment {deployment_id} was not changed: {reason}.")
        return HttpResponseRedirect(detail_url)
    messages.success(request, action.done.format(id=deployment_id))
    return HttpResponseRedirect(detail_url)


@dashboard_view(CANCEL)
@require_http_methods(["GET", "POST"])
def deployment_cancel(request: HttpRequest, user_id: str, deployment_id: str) -> HttpResponse:
    """Cancel a queued or building deployment (GET confirms, POST cancels)."""
    return _perform(request, CANCEL_ACTION, user_id, deployment_id)


@dashboard_view(FAIL)
@require_http_methods(["GET", "POST"])
def deployment_fail(request: HttpRequest, user_id: str, deployment_id: str) -> HttpResponse:
    """Mark a build stuck for over an hour as error (GET confirms, POST marks it)."""
    return _perform(request, FAIL_ACTION, user_id, deployment_id)


_BASE = "tenants/<str:user_id>/deployments/<str:deployment_id>/"

urlpatterns = [
    path(_BASE, deployment_detail, name="deployments_deployment_detail"),
    path(_BASE + "log/", deployment_log, name="deployments_deployment_log"),
    path(_BASE + "cancel/", deployment_cancel, name="deployments_deployment_cancel"),
    path(_BASE + "fail/", deployment_fail, name="deployments_deployment_fail"),
]
