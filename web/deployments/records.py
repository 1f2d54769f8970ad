"""Dashboard pages for deployments: the deployment, its log, and the cancel and fail actions.

Routes are added to the admin site by anchor_site.admin. Every view reads the deployment with the
tenant-scoped get_deployment(user_id, deployment_id), so another tenant's id under this tenant's
URL is the same 404 as a missing one; S3 is then read with that record as the proof of tenancy.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from anchor_site import params
from anchor_site.dashboard import (
    concurrently,
    dashboard_view,
    done_pending_message,
    error_page,
    mark_done,
    render,
)
from anchor_site.forms import ActionForm, RedeployForm
from deployments import archive_views, rules, storage, wording
from deployments import repository as deployments
from deployments.errors import InvalidTransition
from deployments.project_names import project_name
from deployments.schemas import DeploymentSchema, DeploymentStatus
from deployments.storage import LogChunk, LogLine, LogPosition, LogScan
from deployments.templatetags.anchor_logs import style_classes
from infra.core.dynamo import now
from infra.core.errors import (
    Misconfigured,
    RepositoryError,
    RequestKeyReused,
    ValidationError,
)
from infra.core.resources import ARTIFACTS_RETENTION_DAYS, log_key
from staff import actions
from staff.outbox import AuditPending
from staff.permissions import CANCEL, FAIL, REDEPLOY, VIEW

LOG_LINES = 200
LOG_POLL_SECONDS = 3  # how often the deployment page's live tail asks for new lines
LOG_SEARCH_MATCHES = 100  # the most matches one search page lists
LOG_QUERY_MAX = 200  # characters of a search
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
    name_read, log_read, artifacts_read = concurrently(
        lambda: project_name(deployment),
        lambda: storage.get_build_log(user_id, deployment, tail_lines=LOG_LINES),
        lambda: storage.list_artifacts(user_id, deployment),
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
        {"action": action, "url": _action_url(action, deployment)}
        for action in (CANCEL_ACTION, FAIL_ACTION)
        if action.allowed(deployment, moment) and request.user.has_perm(action.permission)
    ]
    if request.user.has_perm(REDEPLOY):
        actions.append({"action": REDEPLOY_LINK, "url": _redeploy_url(deployment)})
    return render(
        request,
        "admin/anchor/deployment_detail.html",
        _context(
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
            artifacts_capped=len(artifacts) >= storage.MAX_ARTIFACTS,
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
        _context(
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
    """GET asks to confirm (and for a reason); POST calls the use case (write + audit with the
    reason) and says how it went."""
    deployment = deployments.get_deployment(user_id, deployment_id)
    detail_url = _detail_url(deployment)
    allowed = action.allowed(deployment, now())
    replay = request.method == "POST" and bool(request.POST.get("request_key"))
    if not allowed and not replay:
        messages.error(request, _not_allowed_message(action, deployment))
        return HttpResponseRedirect(detail_url)
    if request.method != "POST":
        return _confirm_page(request, deployment, action, ActionForm())
    form = ActionForm(request.POST)
    if not form.is_valid():
        return _confirm_page(request, deployment, action, form, status=400)
    done = action.done.format(id=deployment_id)
    try:
        # A form posted again (its key) reaches the use case even when the deployment has moved:
        # the first post may have done it, and then its audit entry is completed, not refused.
        action.perform(
            request.user,
            user_id,
            deployment_id,
            reason=form.cleaned_data["reason"],
            known=deployment,
            request_key=form.cleaned_data["request_key"] or None,
        )
    except AuditPending:
        mark_done(request, done)
        messages.warning(request, done_pending_message(done))
        return HttpResponseRedirect(detail_url)
    except RequestKeyReused as error:
        return error_page(request, 409, "Form already used", f"{error}.")
    except InvalidTransition as error:
        if not allowed:
            messages.error(request, _not_allowed_message(action, deployment))
            return HttpResponseRedirect(detail_url)
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
    messages.success(request, done)
    return HttpResponseRedirect(detail_url)


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


def _redeploy_url(deployment: DeploymentSchema) -> str:
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
            request.user,
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
        return HttpResponseRedirect(_detail_url(new))
    except RequestKeyReused as error:
        return error_page(request, 409, "Form already used", f"Nothing was redeployed: {error}.")
    except actions.ProjectGone as error:
        messages.error(request, f"Nothing was redeployed: {error}.")
        return HttpResponseRedirect(_detail_url(deployment))
    except ValidationError as error:
        for problems in error.errors.values():
            for problem in problems:
                form.add_error(None, problem)
        return _confirm_page(request, deployment, REDEPLOY_LINK, form, status=400)
    messages.success(request, f"Redeployed {deployment_id} as {new.deployment_id}: it is queued.")
    return HttpResponseRedirect(_detail_url(new))


# --- the log viewer and the live tail -----------------------------------------------------------
#
# Line numbers are only known counting newlines from the log's start, and a 200 MB log is never
# read whole for a page. So every link the viewer makes to a chunk carries the number of the line
# at its byte offset, signed with the log's ETag (`line`, `v`, `sig`): reading on from a chunk
# adds its newlines, reading back subtracts them, and a search or "go to line" that counted
# from the start hands its count on the same way. A chunk reached without such a number (the
# end of a big log, a hand-edited offset) shows its lines unnumbered, with a link that counts
# them (a bounded scan per request). A signed number is only trusted for the ETag it was made
# for: the read is pinned to that ETag, and a log replaced since is shown from its start.

_POSITIONS = signing.Signer(salt="anchor.deployments.log-position")


def _position_value(key: str, etag: str, offset: int, line: int) -> str:
    return f"{key}|{etag.strip(chr(34))}|{offset}|{line}"


def _position_query(key: str, etag: str, at: str, position: LogPosition) -> dict[str, str]:
    value = _position_value(key, etag, position.offset, position.line)
    return {
        at: str(position.offset),
        "line": str(position.line),
        "v": etag.strip('"'),
        "sig": _POSITIONS.signature(value),
    }


def _whole_number(request: HttpRequest, name: str) -> int | None:
    return params.whole_number(request.GET, name)


_ETAG = re.compile(r"[0-9a-fA-F-]{1,80}", re.ASCII)
_DAMAGED = "this log link is damaged; open the log again"


def _known_position(request: HttpRequest, key: str, at: str) -> tuple[LogPosition | None, str]:
    """The signed position a link carried for the offset in parameter `at`, and its ETag."""
    offset, line = _whole_number(request, at), _whole_number(request, "line")
    sig = request.GET.get("sig", "")
    if offset is None or line is None or not sig:
        return None, ""
    etag = params.token(request.GET, "v", _ETAG, _DAMAGED)
    if line < 1 or etag is None:
        params.refuse("line", _DAMAGED)
    if not params.signed(_POSITIONS, _position_value(key, etag, offset, line), sig):
        params.refuse("sig", _DAMAGED)
    return LogPosition(offset, line), f'"{etag}"'


def _viewer_url(deployment: DeploymentSchema, query: dict[str, str], fragment: str = "") -> str:
    base = reverse(
        "admin:deployments_deployment_log_view",
        args=[deployment.user_id, deployment.deployment_id],
    )
    url = f"{base}?{urlencode(query)}" if query else base
    return f"{url}#{fragment}" if fragment else url


def _line_url(deployment: DeploymentSchema, key: str, etag: str, line: LogLine) -> str:
    """A link to the chunk that starts with `line`, scrolled to it (#L123)."""
    assert line.number is not None
    query = _position_query(key, etag, "start", LogPosition(line.offset, line.number))
    return _viewer_url(deployment, query, f"L{line.number}")


@dataclass(frozen=True)
class _Row:
    line: LogLine
    url: str = ""


@dashboard_view(VIEW)
@require_GET
def deployment_log_view(request: HttpRequest, user_id: str, deployment_id: str) -> HttpResponse:
    """The whole build log in chunks of at most 256 KiB (`start` / `end` byte offsets), with
    numbered, linkable lines (#L123); `q` searches it, `error` jumps to the first error line,
    `goto` to a line by number, `count` numbers the lines of a chunk reached without them.

    Two DynamoDB reads (the deployment, tenant-scoped; then its project's name for the
    breadcrumbs, beside the S3 reads); S3: one ranged GET for a chunk, and for a search or a
    jump at most settings.ANCHOR_LOG_SCAN_BYTES read in ranged GETs, then a link that goes on
    from there.
    """
    deployment = deployments.get_deployment(user_id, deployment_id)
    (name_read,) = concurrently(lambda: project_name(deployment))
    key = log_key(deployment.project_id, deployment.deployment_id)
    query = " ".join(request.GET.get("q", "").split())[:LOG_QUERY_MAX]
    goto, count = _whole_number(request, "goto"), _whole_number(request, "count")
    context = _context(
        deployment,
        title=f"Build log of {deployment.deployment_id}",
        query=query,
        download_url=reverse(
            "admin:deployments_deployment_log", args=[user_id, deployment.deployment_id]
        ),
        viewer_url=_viewer_url(deployment, {}),
        error_url=_viewer_url(deployment, {"error": "1"}),
        scan_budget=settings.ANCHOR_LOG_SCAN_BYTES,
        chunk_limit=storage.LOG_CHUNK_BYTES,
        # A callable: the template takes the name when it renders, after the S3 reads.
        project_name=name_read.result,
    )
    if query or "error" in request.GET or goto is not None or count is not None:
        matcher: storage.LogMatcher
        if query:
            matcher, most = storage.TextMatcher(query), LOG_SEARCH_MATCHES
        elif goto is not None:
            if goto < 1:
                raise ValidationError({"goto": ["line numbers start at 1"]})
            matcher, most = storage.LineMatcher(number=goto), 1
        elif count is not None:
            matcher, most = storage.LineMatcher(offset=count), 1
        else:
            matcher, most = storage.PatternMatcher(), 1
        start, etag = _known_position(request, key, "from")
        scan = storage.scan_log(
            user_id, deployment, matcher, start=start, etag=etag or None, max_matches=most
        )
        return _scan_page(request, deployment, key, scan, context, jump=not query)
    start, end = _whole_number(request, "start"), _whole_number(request, "end")
    if start is not None and end is not None:
        raise ValidationError({"start": ["give start or end, not both"]})
    known, etag = _known_position(request, key, "start" if end is None else "end")
    if start is None and end is None and "last" not in request.GET:
        start = 0
    chunk = storage.read_log_chunk(
        user_id, deployment, start=start, end=end, known=known, etag=etag or None
    )
    return _chunk_page(request, deployment, key, chunk, context)


def _chunk_page(
    request: HttpRequest,
    deployment: DeploymentSchema,
    key: str,
    chunk: LogChunk,
    context: dict[str, object],
) -> HttpResponse:
    nav: dict[str, str] = {}
    if chunk.available:
        if chunk.has_older:
            older = {"end": str(chunk.start)}
            if chunk.first_line is not None:
                older = _position_query(
                    key, chunk.etag, "end", LogPosition(chunk.start, chunk.first_line)
                )
            nav["first"] = _viewer_url(deployment, {})
            nav["older"] = _viewer_url(deployment, older)
        if chunk.has_newer:
            newer = {"start": str(chunk.end)}
            if chunk.next_line is not None:
                newer = _position_query(
                    key, chunk.etag, "start", LogPosition(chunk.end, chunk.next_line)
                )
            nav["newer"] = _viewer_url(deployment, newer)
            nav["last"] = _viewer_url(deployment, {"last": "1"})
    count_url = ""
    if chunk.available and chunk.first_line is None and chunk.lines:
        count_url = _viewer_url(deployment, {"count": str(chunk.start)})
    return render(
        request,
        "admin/anchor/deployment_log_view.html",
        {
            **context,
            "chunk": chunk,
            "logs_lifecycle": archive_views.logs_lifecycle_text(),
            "nav": nav,
            "count_url": count_url,
            "numbered": chunk.first_line is not None,
            "last_line": (chunk.first_line + len(chunk.lines) - 1)
            if chunk.first_line is not None and chunk.lines
            else None,
        },
    )


def _scan_page(
    request: HttpRequest,
    deployment: DeploymentSchema,
    key: str,
    scan: LogScan,
    context: dict[str, object],
    *,
    jump: bool,
) -> HttpResponse:
    if jump and scan.matches:
        # "Jump to first error", "go to line", "number these lines": to the chunk from there.
        return HttpResponseRedirect(_line_url(deployment, key, scan.etag, scan.matches[0]))
    continue_url = ""
    if scan.resume is not None:
        carried = {k: v for k, v in request.GET.items() if k in {"q", "error", "goto", "count"}}
        position = _position_query(key, scan.etag, "from", scan.resume)
        continue_url = _viewer_url(deployment, {**carried, **position})
    return render(
        request,
        "admin/anchor/deployment_log_view.html",
        {
            **context,
            "scan": scan,
            "searching": True,
            "rows": [
                _Row(line, _line_url(deployment, key, scan.etag, line)) for line in scan.matches
            ],
            "continue_url": continue_url,
            "capped": len(scan.matches) >= LOG_SEARCH_MATCHES,
            "what": _scan_subject(request),
        },
    )


def _scan_subject(request: HttpRequest) -> str:
    if request.GET.get("q"):
        return "search"
    if request.GET.get("goto"):
        return f"line {request.GET['goto']}"
    if request.GET.get("count"):
        return "count"
    return "error"


_TAIL_ETAG = re.compile(r'"?[0-9a-fA-F-]{1,80}"?', re.ASCII)
_MARK = re.compile(r"[0-9a-f]{16}", re.ASCII)


@dashboard_view(VIEW)
@require_GET
def deployment_log_tail(request: HttpRequest, user_id: str, deployment_id: str) -> JsonResponse:
    """The live tail's JSON: the deployment's status and the whole log lines past `offset`
    ("replaced" when the log is another one than `etag` and `mark` knew, and the page starts
    over from 0; a log that only grew reads on), and the timeline as the page renders it.

    One DynamoDB read (the deployment, tenant-scoped) and one ranged GET of at most 256 KiB.
    """
    deployment = deployments.get_deployment(user_id, deployment_id)
    offset = _whole_number(request, "offset") or 0
    etag = params.token(request.GET, "etag", _TAIL_ETAG, "not an ETag") or ""
    mark = params.token(request.GET, "mark", _MARK, "not a mark this console made") or ""
    final = rules.is_final(deployment.status)
    tail = storage.read_log_tail(
        user_id,
        deployment,
        offset=offset,
        etag=f'"{etag.strip(chr(34))}"' if etag else None,
        mark=mark,
        final=final,
    )
    return JsonResponse(
        {
            "status": deployment.status.value,
            "final": final,
            "state": tail.state,
            "offset": tail.offset,
            "etag": tail.etag.strip('"'),
            "mark": tail.mark,
            "more": tail.more,
            "lines": [
                [[style_classes(s.style), s.text] for s in line.segments] for line in tail.lines
            ],
            # The page's timeline as it is now, shown when the status changes (started, ended).
            "timeline": render_to_string(
                "admin/anchor/_deployment_timeline.html", {"deployment": deployment}
            ),
        },
        headers={"Cache-Control": "no-store"},
    )


_BASE = "tenants/<str:user_id>/deployments/<str:deployment_id>/"

urlpatterns = [
    path(_BASE, deployment_detail, name="deployments_deployment_detail"),
    path(_BASE + "log/", deployment_log, name="deployments_deployment_log"),
    path(_BASE + "log/view/", deployment_log_view, name="deployments_deployment_log_view"),
    path(_BASE + "log/tail/", deployment_log_tail, name="deployments_deployment_log_tail"),
    path(_BASE + "cancel/", deployment_cancel, name="deployments_deployment_cancel"),
    path(_BASE + "fail/", deployment_fail, name="deployments_deployment_fail"),
    path(_BASE + "redeploy/", deployment_redeploy, name="deployments_deployment_redeploy"),
]
