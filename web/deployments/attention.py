"""The "needs attention" page (admin:attention): stuck builds, long-queued deployments and
recent errors across every tenant, one merged list newest first, refreshing itself every 30 s.

Cross-tenant by nature, so the visit is audited like Find — once per visit: the first full page a
staff member opens records one audit entry, and pages, reloads and the 30-second refreshes of the
next AUDIT_EVERY minutes of the same session record none (the session remembers when). A
refresh is a GET of the same URL with the X-Anchor-Refresh header (anchor/attention.js), answered
with the list's fragment only and never audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from deployments import attention as feed
from infra.core.dynamo import now
from staff import attention as staff_attention
from staff.permissions import VIEW
from web.common import params
from web.common.dashboard import dashboard_view, granted, render
from web.common.pagination import build_pager, current_cursor, without

PAGE_SIZE = 25
REFRESH_SECONDS = 30
REFRESH_HEADER = "X-Anchor-Refresh"
AUDIT_EVERY = timedelta(minutes=30)
_AUDITED_AT = "anchor_attention_audited_at"
_USER, _PROJECT, _DEPLOYMENT = "usr_placeholder", "prj_0000000000000000", "dpl_0000000000000000"


@dashboard_view(VIEW)
@require_GET
def attention(request: HttpRequest) -> HttpResponse:
    """The feed's page (or, for a refresh, its list only). One page: 10 Queries of
    AttentionIndex and one BatchGetItem of the page's project names (deployments.attention)."""
    refresh = request.headers.get(REFRESH_HEADER) == "1"
    kind = params.choice(request.GET, "kind", feed.KINDS)
    record = not refresh and _visit_starts(request)
    page = staff_attention.attention_feed(
        granted(request),
        limit=PAGE_SIZE,
        cursor=current_cursor(request),
        kind=kind,
        record_visit=record,
    )
    if record:
        request.session[_AUDITED_AT] = now().timestamp()
    context: dict[str, Any] = {
        "title": "Needs attention",
        "rows": _rows(page.rows),
        "unreadable": page.unreadable,
        "pager": build_pager(request, page),
        "kind": kind,
        "kinds": [
            {"label": "All", "url": without(request, "cursor", "kind"), "selected": not kind},
            *(
                {
                    "label": feed.KIND_LABELS[k],
                    "url": without(request, "cursor", kind=k),
                    "selected": kind == k,
                }
                for k in feed.KINDS
            ),
        ],
        "stuck_minutes": int(settings.STUCK_BUILD_AFTER.total_seconds() // 60),
        "queued_minutes": int(settings.LONG_QUEUED_AFTER.total_seconds() // 60),
        "refresh_seconds": REFRESH_SECONDS,
        # The refresh stops after this long without a key, click or scroll: a page left open
        # must not keep the staff session alive past its idle limit.
        "session_idle_seconds": settings.SESSION_COOKIE_AGE,
        "checked_at": now(),
    }
    template = "admin/anchor/_attention_feed.html" if refresh else "admin/anchor/attention.html"
    return render(request, template, context)


def _visit_starts(request: HttpRequest) -> bool:
    """One audit entry per visit: none if this session recorded one in the last AUDIT_EVERY."""
    last = request.session.get(_AUDITED_AT)
    return not (
        isinstance(last, (int, float)) and now().timestamp() - last < AUDIT_EVERY.total_seconds()
    )


def _rows(rows: list[feed.AttentionRow]) -> list[dict[str, Any]]:
    """Each row with its links (three `reverse` calls for the whole table, not three a row)."""
    tenant = reverse("admin:tenant_detail", args=[_USER])
    project = reverse("admin:projects_project_detail", args=[_USER, _PROJECT])
    detail = reverse("admin:deployments_deployment_detail", args=[_USER, _DEPLOYMENT])
    moment = now()
    return [
        {
            "kind": row.kind,
            "label": feed.KIND_LABELS[row.kind],
            "since": row.since,
            "age_seconds": max(0.0, (moment - row.since).total_seconds()),
            "d": row.deployment,
            "project_name": row.project_name,
            "tenant_url": tenant.replace(_USER, row.deployment.user_id),
            "project_url": project.replace(_USER, row.deployment.user_id).replace(
                _PROJECT, row.deployment.project_id
            ),
            "url": detail.replace(_USER, row.deployment.user_id).replace(
                _DEPLOYMENT, row.deployment.deployment_id
            ),
        }
        for row in rows
    ]


urlpatterns = [path("attention/", attention, name="attention")]
