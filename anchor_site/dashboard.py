"""What every dashboard view shares: permission checks, error pages and the admin context."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from infra.core.errors import InvalidCursor, NotFound, Unavailable, ValidationError

logger = logging.getLogger("anchor.dashboard")


View = Callable[..., HttpResponse]
T = TypeVar("T")


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


def forbidden(request: HttpRequest, message: str | None = None) -> TemplateResponse:
    """The admin-styled 403 page: a staff member whose groups do not allow this page or action."""
    return error_page(
        request,
        403,
        "Permission denied",
        message or "Your account's staff groups do not allow this page or action.",
    )


def dashboard_view(permission: str) -> Callable[[View], View]:
    """Wrap a dashboard view: staff login (admin_view), its own permission check, and the
    repository's exceptions turned into 404 / 400 / 503 pages (never a 500).

    Each view names its permission here itself: hiding a menu entry protects nothing.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(permission):
                return forbidden(request)
            try:
                return view(request, *args, **kwargs)
            except NotFound:
                # The same page for a missing record and another tenant's record.
                return error_page(request, 404, "Not found", "No such record for this tenant.")
            except InvalidCursor as error:
                return error_page(request, 400, "Bad page link", str(error))
            except ValidationError as error:
                return error_page(request, 400, "Bad request", str(error))
            except Unavailable as error:
                logger.warning("data plane unavailable: %s", error)
                return error_page(
                    request,
                    503,
                    "Service unavailable",
                    "DynamoDB or S3 cannot be reached right now; try again in a moment.",
                )

        return admin.site.admin_view(wrapped)

    return decorate
