"""The staff actions on a deployment as pages: cancel, mark as error, redeploy (GET confirms, POST
calls the use case in staff.actions and says how it went)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from deployments import repository as deployments
from deployments import rules, wording
from deployments.errors import InvalidTransition
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core.dynamo import now
from infra.core.errors import (
    RequestKeyReused,
    ValidationError,
)
from staff import actions
from staff.outbox import AuditPending
from staff.permissions import CANCEL, FAIL, REDEPLOY
from web.common.dashboard import (
    dashboard_view,
    done_pending_message,
    error_page,
    granted,
    mark_done,
    render,
)
from web.common.forms import ActionForm, RedeployForm
from web.deployments.pages import (
    detail_url,
    page_context,
)
from web.deployments.project_names import project_name


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
    title=wording.CANCEL_TITLE,
    question="Cancel this deployment? Its build stops and the deployment ends as canceled.",
    button="Yes, cancel it",
    done="Canceled deployment {id}.",
    allowed=rules.can_cancel,
    not_allowed="Only a queued or building deployment can be canceled; this one is {status}.",
    perform=actions.cancel_deployment,
)
FAIL_ACTION = Action(
    verb="fail",
    permission=FAIL,
    target=DeploymentStatus.ERROR,
    title=wording.FAIL_TITLE,
    question=(
        f"Mark this stuck build as error? It has been building for over {wording.STUCK_FOR}; "
        "the deployment ends as error with a note that staff marked it."
    ),
    button="Yes, mark it as error",
    done="Marked deployment {id} as error.",
    allowed=rules.is_stuck,
    not_allowed=(
        f"Only a deployment building for over {wording.STUCK_FOR} can be marked as error; "
        "this one is {status}{since}."
    ),
    perform=actions.mark_deployment_failed,
)


def action_url(action: Action, deployment: DeploymentSchema) -> str:
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


def _confirm_page(
    request: HttpRequest,
    deployment: DeploymentSchema,
    action: Action | RedeployLink,
    form: ActionForm,
    *,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "admin/anchor/deployment_confirm.html",
        page_context(
            deployment,
            title=action.title,
            action=action,
            form=form,
            project_name=project_name(deployment),
        ),
        status=status,
    )


def _perform(
    request: HttpRequest, action: Action, user_id: str, deployment_id: str
) -> HttpResponse:
    """GET asks to confirm (and for a reason), when the deployment as read allows the action;
    a valid POST calls the use case (write + audit with the reason) and says how it went.

    A valid POST is not judged here: the use case's conditional write decides, once (the
    deployment may have moved since the page was read, and a form posted again must reach the
    use case to complete its first try); its refusal is worded from what the page read."""
    deployment = deployments.get_deployment(user_id, deployment_id)
    back = detail_url(deployment)
    form = ActionForm(request.POST) if request.method == "POST" else ActionForm()
    if not form.is_valid():  # no use case call in this request: the page decides what it shows
        if not action.allowed(deployment, now()):
            messages.error(request, _not_allowed_message(action, deployment))
            return HttpResponseRedirect(back)
        return _confirm_page(
            request, deployment, action, form, status=400 if form.is_bound else 200
        )
    done = action.done.format(id=deployment_id)
    try:
        action.perform(
            granted(request),
            user_id,
            deployment_id,
            reason=form.cleaned_data["reason"],
            known=deployment,
            request_key=form.cleaned_data["request_key"] or None,
        )
    except AuditPending:
        mark_done(request, done)
        messages.warning(request, done_pending_message(done))
        return HttpResponseRedirect(back)
    except RequestKeyReused as error:
        return error_page(request, 409, "Form already used", f"{error}.")
    except InvalidTransition as error:
        messages.error(request, _refusal(action, deployment, error))
        return HttpResponseRedirect(back)
    messages.success(request, done)
    return HttpResponseRedirect(back)


def _refusal(action: Action, deployment: DeploymentSchema, error: InvalidTransition) -> str:
    """Why the use case refused: the deployment as the page read it does not allow the action
    (the rule's own words), or it changed since (the build system moved or restarted it)."""
    status, started_at = error.current_status, error.current_started_at
    if status is None or (
        status == deployment.status.value and started_at == deployment.started_at
    ):
        return _not_allowed_message(action, deployment)
    if status == deployment.status.value:
        return f"Deployment {deployment.deployment_id} was not changed: {error}."
    return (
        f"Deployment {deployment.deployment_id} was not changed: it is {status} now, so it can "
        f"no longer move to {action.target.value} (the build system changed it a moment ago)."
    )


@dashboard_view(CANCEL)
@require_http_methods(["GET", "POST"])
def deployment_cancel(request: HttpRequest, user_id: str, deployment_id: str) -> HttpResponse:
    """Cancel a queued or building deployment (GET confirms, POST cancels)."""
    return _perform(request, CANCEL_ACTION, user_id, deployment_id)


@dashboard_view(FAIL)
@require_http_methods(["GET", "POST"])
def deployment_fail(request: HttpRequest, user_id: str, deployment_id: str) -> HttpResponse:
    """Mark a stuck build (building for over rules.stuck_after()) as error (GET confirms, POST
    marks it)."""
    return _perform(request, FAIL_ACTION, user_id, deployment_id)


@dataclass(frozen=True)
class RedeployLink:
    """What the pages say about a redeploy (it makes a new deployment, so it is no Action)."""

    verb: str = "redeploy"
    title: str = wording.REDEPLOY_TITLE
    question: str = (
        "Queue a new deployment of this commit? The project builds the same commit, branch and "
        "message again; this deployment stays as it is."
    )
    button: str = "Yes, redeploy it"
    target: DeploymentStatus = DeploymentStatus.QUEUED


REDEPLOY_LINK = RedeployLink()


def redeploy_url(deployment: DeploymentSchema) -> str:
    return reverse(
        "admin:deployments_deployment_redeploy",
        args=[deployment.user_id, deployment.deployment_id],
    )


@dashboard_view(REDEPLOY)
@require_http_methods(["GET", "POST"])
def deployment_redeploy(request: HttpRequest, user_id: str, deployment_id: str) -> HttpResponse:
    """GET shows the commit and asks to confirm; POST queues a new deployment of it and
    redirects there. The form's key makes a double POST queue one deployment, not two."""
    deployment = deployments.get_deployment(user_id, deployment_id)
    if request.method != "POST":
        return _confirm_page(request, deployment, REDEPLOY_LINK, RedeployForm.new())
    form = RedeployForm(request.POST)
    if not form.is_valid():
        return _confirm_page(request, deployment, REDEPLOY_LINK, form, status=400)
    try:
        new = actions.redeploy(
            granted(request),
            user_id,
            deployment_id,
            reason=form.cleaned_data["reason"],
            request_key=form.cleaned_data["request_key"],
            known=deployment,
        )
    except AuditPending as pending:
        new = pending.result
        done = f"Redeployed {deployment_id} as {new.deployment_id}: it is queued."
        mark_done(request, done)
        messages.warning(request, done_pending_message(done))
        return HttpResponseRedirect(detail_url(new))
    except RequestKeyReused as error:
        return error_page(request, 409, "Form already used", f"Nothing was redeployed: {error}.")
    except actions.ProjectGone as error:
        messages.error(request, f"Nothing was redeployed: {error}.")
        return HttpResponseRedirect(detail_url(deployment))
    except ValidationError as error:
        for problems in error.errors.values():
            for problem in problems:
                form.add_error(None, problem)
        return _confirm_page(request, deployment, REDEPLOY_LINK, form, status=400)
    messages.success(request, f"Redeployed {deployment_id} as {new.deployment_id}: it is queued.")
    return HttpResponseRedirect(detail_url(new))
