"""The audit trail page (admin:audit) and its streamed CSV export (admin:audit_export).

The trail lives in Django's own database (staff.models.AuditEntry). Filters — staff member,
action kind, tenant, date range — are query parameters, so a filtered view is a link to share.
Pages are keyset-paged on the entry id (newest first), each filter backed by an index, so a
page costs one indexed query however long the trail grows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from infra.core.errors import ValidationError
from staff import exports
from staff.models import AuditEntry, RecordType
from staff.permissions import VIEW_AUDIT
from web.common import params
from web.common.csvstream import csv_lines, csv_response
from web.common.dashboard import dashboard_view, error_page, granted, render
from web.common.forms import AuditFilterForm

PAGE_SIZE = 50
AUDIT_COLUMNS = (
    "time_sgt",
    "staff",
    "action",
    "tenant",
    "record_type",
    "record_id",
    "reason",
    "before",
    "after",
    "message",
    "outcome",
)


def _filtered(form: AuditFilterForm) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.all()
    data = form.cleaned_data
    if data.get("staff"):
        entries = entries.filter(user=data["staff"])
    if data.get("kind"):
        entries = entries.filter(kind=data["kind"])
    if data.get("tenant"):
        entries = entries.filter(tenant=data["tenant"])
    since, until = form.window()
    if since:
        entries = entries.filter(action_time__gte=since)
    if until:
        entries = entries.filter(action_time__lt=until)
    return entries


def record_url(entry: AuditEntry) -> str | None:
    """The dashboard page of the record an entry is about, when the console has one."""
    if not entry.tenant:
        return None
    try:
        if entry.record_type == RecordType.PROJECT:
            return reverse("admin:projects_project_detail", args=[entry.tenant, entry.object_id])
        if entry.record_type == RecordType.DEPLOYMENT:
            return reverse(
                "admin:deployments_deployment_detail", args=[entry.tenant, entry.object_id]
            )
        return reverse("admin:tenant_detail", args=[entry.tenant])
    except NoReverseMatch:
        return None


def recent_actions(user: Any, count: int = 10) -> list[dict[str, Any]]:
    """The staff member's own latest audit entries, each with its record's page (the index)."""
    entries = AuditEntry.objects.filter(user_id=user.pk).order_by("-id")[:count]
    return [{"e": e, "url": record_url(e)} for e in entries]


def _changes(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    keys = sorted(set(entry.before) | set(entry.after))
    return [(k, entry.before.get(k, "—"), entry.after.get(k, "—")) for k in keys]


def _position(request: HttpRequest, name: str) -> int | None:
    try:
        return params.whole_number(request.GET, name, digits=18)
    except ValidationError as error:
        raise ValueError(name) from error


@dashboard_view(VIEW_AUDIT)
@require_GET
def audit_page(request: HttpRequest) -> HttpResponse:
    """Who did what, when (Singapore time), to which record, why; filtered, newest first."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return _page(request, form, [], status=400)
    try:
        before, after = _position(request, "before"), _position(request, "after")
    except ValueError:
        return error_page(request, 400, "Bad page link", "This page link is not valid.")
    entries = _filtered(form)
    if after is not None:  # "Newer": the entries just above the first one shown, then flipped
        rows = list(entries.filter(id__gt=after).order_by("id")[: PAGE_SIZE + 1])
        newer = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        older = bool(rows)
    else:
        if before is not None:
            entries = entries.filter(id__lt=before)
        rows = list(entries.order_by("-id")[: PAGE_SIZE + 1])
        older = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        newer = before is not None
    kept = {k: v for k, v in request.GET.items() if k not in ("before", "after") and v}
    links = {
        "newer": f"?{urlencode({**kept, 'after': rows[0].id})}" if rows and newer else None,
        "older": f"?{urlencode({**kept, 'before': rows[-1].id})}" if rows and older else None,
        "newest": f"?{urlencode(kept)}" if (before or after) else None,
        "export": reverse("admin:audit_export") + (f"?{urlencode(kept)}" if kept else ""),
    }
    return _page(request, form, rows, links=links)


def _page(
    request: HttpRequest,
    form: AuditFilterForm,
    rows: list[AuditEntry],
    *,
    links: dict[str, str | None] | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "admin/anchor/audit.html",
        {
            "title": "Audit trail",
            "form": form,
            "entries": [{"e": e, "url": record_url(e), "changes": _changes(e)} for e in rows],
            "links": links or {},
            "filtered": any(form.data.get(name) for name in form.fields),
        },
        status=status,
    )


def _audit_row(entry: AuditEntry) -> list[Any]:
    local = timezone.localtime(entry.action_time)
    return [
        local.strftime("%Y-%m-%d %H:%M:%S"),
        entry.username,
        entry.get_kind_display(),
        entry.tenant,
        entry.record_type,
        entry.object_id,
        entry.reason,
        "; ".join(f"{k}: {v}" for k, v in sorted(entry.before.items())),
        "; ".join(f"{k}: {v}" for k, v in sorted(entry.after.items())),
        entry.change_message,
        entry.get_outcome_display(),
    ]


@dashboard_view(VIEW_AUDIT)
@require_GET
def audit_export(request: HttpRequest) -> HttpResponse:
    """The audit trail with the page's filters as a streamed CSV (read in chunks of 2,000)."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return _page(request, form, [], status=400)
    filters = {k: str(v) for k, v in form.cleaned_data.items() if v not in (None, "")}
    entries = exports.export_audit_trail(
        granted(request),
        _filtered(form),
        tenant=form.cleaned_data.get("tenant") or "",
        filters=filters,
    )
    rows: Iterator[list[Any]] = (_audit_row(e) for e in entries)
    return csv_response("audit-trail.csv", csv_lines(AUDIT_COLUMNS, rows, what="audit trail"))


urlpatterns = [
    path("audit/", audit_page, name="audit"),
    path("audit/export/", audit_export, name="audit_export"),
]
