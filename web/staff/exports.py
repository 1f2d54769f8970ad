"""The tenant's deployments as a streamed CSV download (admin:tenant_export).

GET without `format=csv` shows the filter form; with it, the rows stream from DynamoDB one
Query page at a time (deployments.history.iter_tenant_deployments), so a worker's memory
stays flat however many deployments the tenant has. Each export is audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_GET

from deployments.schemas import DeploymentSchema
from infra.core.dynamo import format_timestamp
from infra.core.errors import NotFound, Unreadable
from infra.core.ids import MAX_PAGE, valid_user_id
from projects import repository as projects
from staff import exports
from staff.permissions import VIEW
from web.common.csvstream import csv_lines, csv_response
from web.common.dashboard import dashboard_view, error_page, granted, render
from web.common.forms import TenantExportForm

DEPLOYMENT_COLUMNS = (
    "deployment_id",
    "project_id",
    "status",
    "commit_sha",
    "branch",
    "message",
    "created_at_utc",
    "started_at_utc",
    "ended_at_utc",
    "error",
    "note",
)


def _stamp(moment: Any) -> str:
    return format_timestamp(moment) if moment else ""


def deployment_row(record: DeploymentSchema | Unreadable) -> list[Any]:
    """One CSV row; a stored item the schema rejects keeps what is readable and says so."""
    if isinstance(record, Unreadable):
        raw = record.attributes
        return [
            *(raw.get(name, "") for name in ("deploymentId", "projectId", "status", "commitSha")),
            *(raw.get(name, "") for name in ("branch", "message", "createdAt", "startedAt")),
            raw.get("endedAt", ""),
            raw.get("error", ""),
            "stored item does not match the schema",
        ]
    d = record
    return [
        d.deployment_id,
        d.project_id,
        d.status.value,
        d.commit_sha,
        d.branch,
        d.message,
        _stamp(d.created_at),
        _stamp(d.started_at),
        _stamp(d.ended_at),
        d.error or "",
        "",
    ]


@dashboard_view(VIEW)
@require_GET
def tenant_export(request: HttpRequest, user_id: str) -> HttpResponse:
    """The filter form (GET), or with `format=csv` the tenant's deployments as streamed CSV."""
    if not valid_user_id(user_id):
        raise NotFound(f"tenant {user_id} not found")
    wants_csv = request.GET.get("format") == "csv"
    form = TenantExportForm(request.GET if wants_csv else None)
    if not wants_csv or not form.is_valid():
        page = projects.list_user_projects(user_id, limit=MAX_PAGE)
        if not page.items and not page.unreadable:
            return error_page(
                request, 404, "Not found", f"No projects are stored for a tenant “{user_id}”."
            )
        return render(
            request,
            "admin/anchor/tenant_export.html",
            {
                "title": f"Export deployments of tenant {user_id}",
                "user_id": user_id,
                "form": form if wants_csv else TenantExportForm(),
                "projects": page.items,
            },
            status=400 if wants_csv else 200,
        )
    project_id = form.cleaned_data["project"] or None
    status = form.cleaned_data["status"] or None
    since, until = form.window()
    filters = {
        key: str(value)
        for key, value in form.cleaned_data.items()
        if value not in (None, "") and key != "format"
    }
    # An unreachable DynamoDB is a 503 page, not a cut file: the use case reads the first row
    # before it records the export and before the response starts.
    records = exports.export_tenant_deployments(
        granted(request),
        user_id,
        project_id=project_id,
        status=status,
        since=since,
        until=until,
        filters=filters,
    )
    stream: Iterator[Any] = (deployment_row(r) for r in records)
    name = "-".join(filter(None, ["deployments", user_id, project_id, status]))
    return csv_response(
        f"{name}.csv", csv_lines(DEPLOYMENT_COLUMNS, stream, what=f"tenant {user_id}")
    )


urlpatterns = [
    path("tenants/<str:user_id>/export/", tenant_export, name="tenant_export"),
]
