"""The build log viewer: the whole log in chunks with numbered lines, search, "go to line" and
"jump to first error"."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from deployments import logread, logsearch
from deployments import repository as deployments
from deployments.logread import LogChunk, LogPosition
from deployments.logsearch import LogScan
from deployments.logtext import LogLine
from deployments.schemas import DeploymentSchema
from infra.core.errors import (
    ValidationError,
)
from infra.core.resources import log_key
from staff.permissions import VIEW
from web.common.dashboard import (
    concurrently,
    dashboard_view,
    render,
)
from web.deployments import archive as archive_views
from web.deployments.links import (
    known_position,
    line_url,
    position_query,
    viewer_url,
    whole_number,
)
from web.deployments.pages import (
    LOG_QUERY_MAX,
    LOG_SEARCH_MATCHES,
    page_context,
)
from web.deployments.project_names import project_name


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
    goto, count = whole_number(request, "goto"), whole_number(request, "count")
    context = page_context(
        deployment,
        title=f"Build log of {deployment.deployment_id}",
        query=query,
        download_url=reverse(
            "admin:deployments_deployment_log", args=[user_id, deployment.deployment_id]
        ),
        viewer_url=viewer_url(deployment, {}),
        error_url=viewer_url(deployment, {"error": "1"}),
        scan_budget=settings.ANCHOR_LOG_SCAN_BYTES,
        chunk_limit=logread.LOG_CHUNK_BYTES,
        # A callable: the template takes the name when it renders, after the S3 reads.
        project_name=name_read.result,
    )
    if query or "error" in request.GET or goto is not None or count is not None:
        matcher: logsearch.LogMatcher
        if query:
            matcher, most = logsearch.TextMatcher(query), LOG_SEARCH_MATCHES
        elif goto is not None:
            if goto < 1:
                raise ValidationError({"goto": ["line numbers start at 1"]})
            matcher, most = logsearch.LineMatcher(number=goto), 1
        elif count is not None:
            matcher, most = logsearch.LineMatcher(offset=count), 1
        else:
            matcher, most = logsearch.PatternMatcher(), 1
        start, etag = known_position(request, key, "from")
        scan = logsearch.scan_log(
            user_id, deployment, matcher, start=start, etag=etag or None, max_matches=most
        )
        return _scan_page(request, deployment, key, scan, context, jump=not query)
    start, end = whole_number(request, "start"), whole_number(request, "end")
    if start is not None and end is not None:
        raise ValidationError({"start": ["give start or end, not both"]})
    known, etag = known_position(request, key, "start" if end is None else "end")
    if start is None and end is None and "last" not in request.GET:
        start = 0
    chunk = logread.read_log_chunk(
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
                older = position_query(
                    key, chunk.etag, "end", LogPosition(chunk.start, chunk.first_line)
                )
            nav["first"] = viewer_url(deployment, {})
            nav["older"] = viewer_url(deployment, older)
        if chunk.has_newer:
            newer = {"start": str(chunk.end)}
            if chunk.next_line is not None:
                newer = position_query(
                    key, chunk.etag, "start", LogPosition(chunk.end, chunk.next_line)
                )
            nav["newer"] = viewer_url(deployment, newer)
            nav["last"] = viewer_url(deployment, {"last": "1"})
    count_url = ""
    if chunk.available and chunk.first_line is None and chunk.lines:
        count_url = viewer_url(deployment, {"count": str(chunk.start)})
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
        return HttpResponseRedirect(line_url(deployment, key, scan.etag, scan.matches[0]))
    continue_url = ""
    if scan.resume is not None:
        carried = {k: v for k, v in request.GET.items() if k in {"q", "error", "goto", "count"}}
        position = position_query(key, scan.etag, "from", scan.resume)
        continue_url = viewer_url(deployment, {**carried, **position})
    return render(
        request,
        "admin/anchor/deployment_log_view.html",
        {
            **context,
            "scan": scan,
            "searching": True,
            "rows": [
                _Row(line, line_url(deployment, key, scan.etag, line)) for line in scan.matches
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
