"""Dashboard pages: find, tenant, project and project edit (routes added by anchor_site.admin).

Query parameters: `q` (find); `cursor` pages a list (see web.common.pagination); the tenant
page shows two lists, so its deployments are paged by `dcursor`; `status` filters a
project's deployments.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from deployments import reports
from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core.dynamo import Page
from infra.core.errors import Conflict, NotFound, RepositoryError, RequestKeyReused, ValidationError
from infra.core.ids import valid_user_id
from infra.core.resources import COUNTERS_VERSION
from projects import repository as projects
from projects.schemas import ProjectSchema
from staff import actions, lookups, outbox
from staff.models import Outcome
from staff.outbox import AuditPending
from staff.permissions import EDIT_PROJECT, FIND, VIEW
from web.common import params
from web.common.dashboard import (
    concurrently,
    dashboard_view,
    deployment_rows,
    done_pending_message,
    error_page,
    forbidden,
    granted,
    mark_done,
    render,
)
from web.common.pagination import build_pager, current_cursor, without
from web.projects import chart
from web.projects.forms import ProjectEditForm

PAGE_SIZE = 25
PROJECT_PREFIX = "prj_"
DEPLOYMENT_PREFIX = "dpl_"


# --- find --------------------------------------------------------------------------------------


@dashboard_view(VIEW)
@require_GET
def find(request: HttpRequest) -> HttpResponse:
    """Go straight to a tenant (`userId`), a project (`prj_…`) or a deployment (`dpl_…`).

    A userId is the tenant's own key and needs no look-up. A prj_/dpl_ id is resolved to its
    tenant with the repository's one cross-tenant read, which needs the FIND permission, and
    every such look-up is written to the audit trail, found or not.
    """
    query = request.GET.get("q", "").strip()
    if not query:
        return _find_form(request, query, status=200)
    if query.startswith((PROJECT_PREFIX, DEPLOYMENT_PREFIX)):
        if not request.user.has_perm(FIND):
            return forbidden(
                request,
                "Looking up which tenant owns a project or deployment id needs the "
                "“find by id” permission (the Support or Operations group).",
            )
        if query.startswith(PROJECT_PREFIX):
            return _find_project(request, query)
        return _find_deployment(request, query)
    if valid_user_id(query):
        return HttpResponseRedirect(reverse("admin:tenant_detail", args=[query]))
    return _find_form(
        request,
        query,
        status=400,
        error="That is not a tenant userId (1 to 64 letters, digits, _ or -), "
        "a prj_… project id or a dpl_… deployment id.",
    )


def _find_form(
    request: HttpRequest, query: str, *, status: int, error: str | None = None
) -> HttpResponse:
    return render(
        request,
        "admin/anchor/find.html",
        {
            "title": "Find",
            "find_query": query,
            "find_error": error,
            "can_find_by_id": request.user.has_perm(FIND),
        },
        status=status,
    )


# An id is looked up across all tenants: no tenant is involved, so the page does not name one.
UNKNOWN_ID = "No project or deployment has this id."


def _find_project(request: HttpRequest, project_id: str) -> HttpResponse:
    try:
        user_id = lookups.project_owner(request.user, project_id)
    except NotFound:
        return _find_form(request, project_id, status=404, error=UNKNOWN_ID)
    return HttpResponseRedirect(
        reverse("admin:projects_project_detail", args=[user_id, project_id])
    )


def _find_deployment(request: HttpRequest, deployment_id: str) -> HttpResponse:
    try:
        user_id, _project_id = lookups.deployment_owner(request.user, deployment_id)
    except NotFound:
        return _find_form(request, deployment_id, status=404, error=UNKNOWN_ID)
    return HttpResponseRedirect(
        reverse("admin:deployments_deployment_detail", args=[user_id, deployment_id])
    )


# --- tenant ------------------------------------------------------------------------------------


@dashboard_view(VIEW)
@require_GET
def tenant_detail(request: HttpRequest, user_id: str) -> HttpResponse:
    """The tenant's projects and its most recent deployments: two Queries, nothing per row."""
    if not valid_user_id(user_id):
        raise NotFound(f"tenant {user_id} not found")
    cursor, dcursor = current_cursor(request, "cursor"), current_cursor(request, "dcursor")
    projects_read, deployments_read = concurrently(
        lambda: projects.list_user_projects(user_id, limit=PAGE_SIZE, cursor=cursor),
        lambda: deployments.list_user_deployments(user_id, limit=PAGE_SIZE, cursor=dcursor),
    )
    project_page, deployment_page = projects_read.result(), deployments_read.result()
    stored = project_page.items or deployment_page.items
    if (
        not stored
        and not (project_page.unreadable or deployment_page.unreadable)
        and not (cursor or dcursor)
    ):
        return error_page(
            request,
            404,
            "Not found",
            f"No projects or deployments are stored for a tenant “{user_id}”.",
        )
    names = {p.project_id: p.name for p in project_page.items}
    return render(
        request,
        "admin/anchor/tenant_detail.html",
        {
            "title": f"Tenant {user_id}",
            "user_id": user_id,
            "projects": project_page.items,
            "projects_pager": build_pager(request, project_page),
            "deployments": deployment_rows(user_id, deployment_page.items, names),
            "projects_unreadable": project_page.unreadable,
            "deployments_unreadable": deployment_page.unreadable,
            "deployments_pager": build_pager(request, deployment_page, param="dcursor"),
        },
    )


# --- project -----------------------------------------------------------------------------------


@dashboard_view(VIEW)
@require_GET
def project_detail(request: HttpRequest, user_id: str, project_id: str) -> HttpResponse:
    """The tenant's project, its deployments (25 a page, by status) and the 30-day chart."""
    # Checked before any read: a bad filter costs no DynamoDB call.
    status = params.choice(request.GET, "status", [s.value for s in DeploymentStatus])
    cursor = current_cursor(request)
    if cursor:  # a bad cursor is a 400 before any read
        deployments.check_cursor(user_id, project_id, cursor, status=status)
    # The project, the page and the chart are read side by side (one round trip); the project
    # is taken first, so another tenant's project is the same 404 whatever the others found.
    project_read, page_read, chart_read, report_read = concurrently(
        lambda: projects.get_project(user_id, project_id),
        lambda: deployments.list_project_deployments(
            user_id, project_id, limit=PAGE_SIZE, cursor=cursor, status=status, owner_checked=True
        ),
        lambda: chart.project_chart(user_id, project_id),
        # The last `manage.py reconcile` report: one S3 GET, no DynamoDB call; shown only once
        # get_project proved the tenancy, and a failure to read it only hides it.
        lambda: reports.read_report(user_id, project_id),
    )
    project = project_read.result()
    try:
        reconciliation = report_read.result()
    except RepositoryError:
        reconciliation = None
    # A project stored before the status index and the day counters existed shows neither
    # until `manage.py recount_deployments` has filled them in: no wrong rows, no wrong chart.
    counted = project.derived_version >= COUNTERS_VERSION
    page: Page[DeploymentSchema] = page_read.result() if counted or not status else Page([])
    day_chart = chart_read.result() if counted else None
    return render(
        request,
        "admin/anchor/project_detail.html",
        {
            "title": project.name,
            "user_id": user_id,
            "project": project,
            "deployment_rows": deployment_rows(user_id, page.items),
            "unreadable": page.unreadable,
            "pager": build_pager(request, page),
            "status": status,
            "status_filters": _status_filters(request),
            "counted": counted,
            "chart": day_chart,
            "chart_svg": chart.render_svg(day_chart) if day_chart else "",
            "chart_outcomes": [(s, day_chart.totals.get(s, 0)) for s in chart.OUTCOMES]
            if day_chart
            else [],
            "chart_days": chart.DAYS,
            "chart_table": chart.table_rows(day_chart) if day_chart else [],
            "chart_columns": chart.OUTCOMES,
            "can_edit": request.user.has_perm(EDIT_PROJECT),
            "reconciliation": reconciliation,
        },
    )


def _status_filters(request: HttpRequest) -> list[dict[str, str | None]]:
    """ "All" and one link per status; changing the filter starts again from the first page."""
    links: list[dict[str, str | None]] = [
        {"label": "All", "value": None, "url": without(request, "cursor", "status")}
    ]
    for status in DeploymentStatus:
        url = without(request, "cursor", status=status.value)
        links.append({"label": status.value, "value": status.value, "url": url})
    return links


@dashboard_view(EDIT_PROJECT)
@require_http_methods(["GET", "POST"])
def project_edit(request: HttpRequest, user_id: str, project_id: str) -> HttpResponse:
    """GET shows the form; POST saves the change (conditional on the version the form showed)."""
    project = projects.get_project(user_id, project_id)
    if request.method != "POST":
        return _edit_page(request, project, ProjectEditForm.for_project(project))
    form = ProjectEditForm(request.POST)
    if not form.is_valid():
        return _edit_page(request, project, form, status=400)
    changes = form.changes(project)
    detail_url = reverse("admin:projects_project_detail", args=[user_id, project_id])
    if not changes:
        key = form.cleaned_data.get("request_key")
        earlier = outbox.settle(request.user, key) if key else None
        if earlier is not None and earlier.outcome == Outcome.DONE:
            messages.success(request, f"Saved project “{project.name}” (this form saved it).")
        else:
            messages.info(request, "Nothing changed: the project is as it was.")
        return HttpResponseRedirect(detail_url)
    try:
        updated = actions.edit_project(
            granted(request),
            user_id,
            project_id,
            changes,
            expected_version=form.cleaned_data["expected_version"],
            reason=form.cleaned_data["reason"],
            known=project,
            request_key=form.cleaned_data.get("request_key") or None,
        )
    except AuditPending as pending:
        done = _saved_message(project, pending.result, changes)
        mark_done(request, done)
        messages.warning(request, done_pending_message(done))
        return HttpResponseRedirect(detail_url)
    except RequestKeyReused as error:
        return error_page(request, 409, "Form already used", f"Nothing was saved: {error}.")
    except Conflict:
        # Headed as a conflict, with the project as it is now: the form is filled with the
        # current values (and version), and the change that was not saved is shown beside them.
        current = projects.get_project(user_id, project_id)
        return _edit_page(
            request,
            current,
            ProjectEditForm.for_project(current),
            status=409,
            conflict={
                "opened_version": form.cleaned_data["expected_version"],
                "rows": [
                    {
                        "label": ProjectEditForm.label_of(k),
                        "current": getattr(current, k),
                        "yours": v,
                    }
                    for k, v in changes.items()
                ],
            },
        )
    except ValidationError as error:
        form.add_schema_errors(error)
        return _edit_page(request, project, form, status=400)
    messages.success(request, _saved_message(project, updated, changes))
    return HttpResponseRedirect(detail_url)


def _saved_message(before: ProjectSchema, updated: ProjectSchema, changes: dict[str, str]) -> str:
    summary = "; ".join(f"{k}: {getattr(before, k)} → {v}" for k, v in changes.items())
    return f"Saved project “{updated.name}” ({summary})."


def _edit_page(
    request: HttpRequest,
    project: ProjectSchema,
    form: ProjectEditForm,
    *,
    status: int = 200,
    conflict: dict[str, object] | None = None,
) -> HttpResponse:
    return render(
        request,
        "admin/anchor/project_edit.html",
        {
            "title": f"Edit {project.name}",
            "user_id": project.user_id,
            "project": project,
            "form": form,
            "conflict": conflict,
        },
        status=status,
    )


urlpatterns = [
    path("find/", find, name="find"),
    path("tenants/<str:user_id>/", tenant_detail, name="tenant_detail"),
    path(
        "tenants/<str:user_id>/projects/<str:project_id>/",
        project_detail,
        name="projects_project_detail",
    ),
    path(
        "tenants/<str:user_id>/projects/<str:project_id>/edit/",
        project_edit,
        name="projects_project_edit",
    ),
]
