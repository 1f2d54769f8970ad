"""What every dashboard view shares: permission checks, error pages and the admin context."""

from __future__ import annotations

import contextvars
import functools
import logging
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views import defaults
from pydantic import ValidationError as PydanticValidationError

from infra.core.errors import (
    InternalError,
    InvalidCursor,
    Misconfigured,
    NotFound,
    Unavailable,
    Unreadable,
    ValidationError,
)
from infra.core.logs import request_id
from infra.core.schemas import field_errors
from staff.outbox import AuditPending, AuditUnavailable
from staff.permissions import Grant, authorize

logger = logging.getLogger("anchor.dashboard")


View = Callable[..., HttpResponse]
T = TypeVar("T")


# Reads a page makes independently of each other run side by side, so a page costs one round trip
# to DynamoDB rather than one per list. boto3 clients are thread-safe; these threads touch no
# Django database connection.
_READS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dashboard-read")


def concurrently(*calls: Callable[[], Any]) -> list[Future[Any]]:
    """Start each read at once; the caller takes `.result()` in the order its errors matter
    (the record that decides NotFound first), so an error is raised as if run in order.

    Each runs in a copy of the request's context, so per-request state (the request log's
    DynamoDB call count) sees the calls made on the request's behalf."""
    return [_READS.submit(contextvars.copy_context().run, call) for call in calls]


_PLACEHOLDER = "dpl_0000000000000000"
_PROJECT_PLACEHOLDER = "prj_0000000000000000"


def deployment_rows(
    user_id: str, items: list[Any], names: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Rows of a deployments table, each with its links: two `reverse` calls for the whole
    table instead of one or two per row (URL reversing is most of a table's rendering time)."""
    detail = reverse("admin:deployments_deployment_detail", args=[user_id, _PLACEHOLDER])
    project = reverse("admin:projects_project_detail", args=[user_id, _PROJECT_PLACEHOLDER])
    return [
        {
            "d": d,
            "url": detail.replace(_PLACEHOLDER, d.deployment_id),
            "project_url": project.replace(_PROJECT_PLACEHOLDER, d.project_id),
            "project_name": (names or {}).get(d.project_id),
        }
        for d in items
    ]


def render(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> TemplateResponse:
    """Render a dashboard template with everything the admin's base templates expect."""
    site = admin.site
    request.current_app = site.name
    full = {**site.each_context(request), **(context or {})}
    return TemplateResponse(request, template, full, status=status)


def error_page(request: HttpRequest, status: int, title: str, message: str) -> TemplateResponse:
    return render(
        request,
        "admin/anchor/error.html",
        {"title": title, "message": message, "status": status},
        status=status,
    )


def granted(request: HttpRequest) -> Grant:
    """The permission dashboard_view decided for this request, to hand to the use case."""
    grant: Grant = request.grant  # type: ignore[attr-defined]
    return grant


def forbidden(request: HttpRequest, message: str | None = None) -> TemplateResponse:
    """The admin-styled 403 page: a staff member whose groups do not allow this page or action."""
    return error_page(
        request,
        403,
        "Permission denied",
        message or "Your account's staff groups do not allow this page or action.",
    )


# Django's handlers for what no dashboard view answers itself (anchor_site/urls.py): an unknown
# address, a stock admin page the staff member may not open, a request Django refuses, and a bug
# outside the dashboard's views. The same admin-styled page as the dashboard's own errors, where
# Django's defaults are bare unstyled HTML.


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _styled_or_plain(
        lambda: error_page(
            request,
            404,
            "Page not found",
            "There is no console page at this address. Check the link, or start again from the "
            "dashboard.",
        ),
        lambda: defaults.page_not_found(request, exception or Http404()),
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _styled_or_plain(
        lambda: forbidden(request),
        lambda: defaults.permission_denied(request, exception or PermissionDenied()),
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # A request refused for its Host header cannot even build the admin's page (every link
    # needs the host): then it is Django's plain 400.
    return _styled_or_plain(
        lambda: error_page(
            request, 400, "Bad request", "The console cannot answer this request as it was sent."
        ),
        lambda: defaults.bad_request(request, exception or SuspiciousOperation()),
    )


AUDIT_DOWN = (
    "The console's own database, which keeps the audit trail, cannot be reached right now, so "
    "nothing was done: no change was made in DynamoDB or S3. Try again in a moment."
)


def done_pending_message(done: str) -> str:
    """What staff are told when their action took effect but its audit entry is pending."""
    return (
        f"{done} Its audit entry could not be confirmed just now: it is recorded as pending "
        "and will be resolved automatically."
    )


def mark_done(request: HttpRequest, done: str) -> None:
    """Remember on the request that its action took effect (what `done` says), so that an
    error after it (Django's database failing to save the session) is not worded as a refusal."""
    request.anchor_done = done  # type: ignore[attr-defined]


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The admin-styled page for Django's database being down: 503 "nothing was done", or,
    when the request's action had already taken effect, 200 saying so. Rendered without what
    needs the database (no user, no messages, no menu); Django's plain page if even that fails."""
    done = getattr(request, "anchor_done", None)
    status, title = (200, "Done; audit entry pending") if done else (503, "Service unavailable")
    message = done_pending_message(done) if done else AUDIT_DOWN
    site = admin.site
    request.current_app = site.name
    context = {
        "title": title,
        "message": message,
        "status": status,
        "has_permission": False,
        "user": AnonymousUser(),
        "messages": [],
        "site_header": site.site_header,
        "site_title": site.site_title,
        "site_url": site.site_url,
        "is_nav_sidebar_enabled": False,
        "available_apps": [],
    }
    return _styled_or_plain(
        lambda: TemplateResponse(request, "admin/anchor/error.html", context, status=status),
        lambda: HttpResponse(f"{title}. {message}", content_type="text/plain", status=status),
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """The admin-styled 500 with the request id (the 503 page when Django's database failed)."""
    if isinstance(sys.exception(), DatabaseError):
        logger.error("Django's database failed: %s", sys.exception())
        return database_unavailable(request)
    rid = request_id.get() or "unknown"
    return _styled_or_plain(
        lambda: error_page(
            request,
            500,
            "Server error",
            f"Something went wrong in the console itself. It has been logged as request {rid}; "
            "please quote that id when you report it.",
        ),
        lambda: defaults.server_error(request),
    )


def _styled_or_plain(
    styled: Callable[[], TemplateResponse], plain: Callable[[], HttpResponse]
) -> HttpResponse:
    """The admin-styled page, rendered now (Django's error handlers run outside the view
    phase, where nothing renders a TemplateResponse); Django's plain page if that fails (a
    refused Host header, a broken template, the staff database gone), so an error page never
    becomes a second error."""
    try:
        return styled().render()
    except Exception:
        logger.warning("the styled error page could not be rendered", exc_info=True)
        return plain()


def unreadable_problems(error: Unreadable) -> list[str]:
    """What is wrong with a stored record, a sentence per problem ("Status must be one of
    'queued', …"), from the schema's errors; the error's own text when it has none."""
    if isinstance(error.cause, PydanticValidationError):
        return [message for messages in field_errors(error.cause).values() for message in messages]
    return [str(error.cause or error)]


def dashboard_view(permission: str) -> Callable[[View], View]:
    """Wrap a dashboard view: staff login (admin_view), its own permission check, and the
    repository's exceptions turned into pages: 404 (missing or another tenant's), 400 (bad
    input), 503 "try again" (unreachable, throttled), 503 "misconfigured" (missing table or
    bucket, refused permissions; logged at ERROR with the AWS code), and the admin-styled 500
    for a bug (logged with the request id).

    Each view names its permission here itself: hiding a menu entry protects nothing. The
    permission is decided here, once: the view hands `granted(request)` to its use case, which
    takes the Grant as decided instead of asking again.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                try:
                    request.grant = authorize(request.user, permission)  # type: ignore[attr-defined]
                except PermissionDenied:
                    return forbidden(request)
                return view(request, *args, **kwargs)
            except AuditUnavailable as error:
                logger.error("audit trail unavailable, action refused: %s", error)
                return database_unavailable(request)
            except AuditPending as error:  # a view that did not word it itself
                logger.warning("%s", error)
                mark_done(request, "The action was done.")
                return database_unavailable(request)
            except DatabaseError as error:
                logger.error("Django's database failed: %s", error)
                return database_unavailable(request)
            except Unreadable as error:
                # A record the schema rejects: staff see what is stored, never a 500.
                return render(
                    request,
                    "admin/anchor/unreadable.html",
                    {
                        "title": "Record could not be read",
                        "key": error.key,
                        "problems": unreadable_problems(error),
                        "user_id": kwargs.get("user_id"),
                        "attributes": sorted(error.attributes.items()),
                    },
                    status=200 if request.method == "GET" else 409,
                )
            except NotFound:
                # The same page for a missing record and another tenant's record.
                return error_page(request, 404, "Not found", "No such record for this tenant.")
            except InvalidCursor as error:
                return error_page(request, 400, "Bad page link", str(error))
            except ValidationError as error:
                return error_page(request, 400, "Bad request", str(error))
            except Misconfigured as error:
                logger.error(
                    "console misconfigured: %s",
                    error,
                    extra={"aws_code": error.code, "resource": error.resource},
                )
                fix = (
                    "provision the stage, or point the console at the right table or bucket"
                    if error.missing
                    else "fix the console's permissions or credentials"
                )
                return error_page(
                    request,
                    503,
                    "Console misconfigured",
                    f"The console cannot use its DynamoDB tables or S3 buckets: "
                    f"{error.what_happened()}. Trying again will not help: an operator must "
                    f"{fix}; the details are in the console's log.",
                )
            except Unavailable as error:
                logger.warning("data plane unavailable: %s", error)
                return error_page(
                    request,
                    503,
                    "Service unavailable",
                    "DynamoDB or S3 cannot be reached right now; try again in a moment.",
                )
            except InternalError:
                rid = request_id.get() or "unknown"
                logger.exception("dashboard bug (request %s)", rid)
                return error_page(
                    request,
                    500,
                    "Server error",
                    f"Something went wrong in the console itself. It has been logged as "
                    f"request {rid}; please quote that id when you report it.",
                )

        return admin.site.admin_view(wrapped)

    return decorate
