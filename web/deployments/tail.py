"""The live tail's JSON: the status and the log lines past an offset (the detail page polls it)."""

from __future__ import annotations

import re

from django.http import HttpRequest, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from deployments import livetail, rules
from deployments import repository as deployments
from staff.permissions import VIEW
from web.common import params
from web.common.dashboard import dashboard_view
from web.deployments.links import whole_number
from web.templatetags.anchor_logs import style_classes

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
    offset = whole_number(request, "offset") or 0
    etag = params.token(request.GET, "etag", _TAIL_ETAG, "not an ETag") or ""
    mark = params.token(request.GET, "mark", _MARK, "not a mark this console made") or ""
    final = rules.is_final(deployment.status)
    tail = livetail.read_log_tail(
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
