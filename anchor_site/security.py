"""Login security: the lockout page, the login time behind the absolute session limit, and the
security log of failed logins and lockouts (permission denials are logged by the request log)."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger("anchor.security")

# The session key holding the login's Unix time (SessionLifetimeMiddleware reads it).
LOGIN_AT = "anchor_login_at"


def client_ip(request: HttpRequest) -> str:
    """The client's address (AXES_CLIENT_IP_CALLABLE): with TRUST_PROXY_HEADERS, the last
    X-Forwarded-For entry, which the proxy appended; otherwise the connection's own address."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.TRUST_PROXY_HEADERS and forwarded.strip():
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def client_address(request: HttpRequest | None) -> str:
    """The client's address for a log line ("-" without a request)."""
    return (client_ip(request) or "-") if request is not None else "-"


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """django-axes' lockout answer: HTTP 429 with an admin-styled page (AXES_LOCKOUT_CALLABLE)."""
    site = admin.site
    request.current_app = site.name
    context = {
        **site.each_context(request),
        "title": "Too many failed logins",
        "cooloff_minutes": settings.AXES_COOLOFF_MINUTES,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
    }
    # Rendered at once: django-axes returns it from its middleware, after the template phase.
    response = render(
        request, "admin/anchor/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
    )
    response["Retry-After"] = str(settings.AXES_COOLOFF_MINUTES * 60)
    return response


def _remember_login_time(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    request.session[LOGIN_AT] = int(time.time())


def _log_failed_login(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    # Django has already removed the password from `credentials`.
    logger.warning(
        "login failed for username %r from %s",
        credentials.get("username", ""),
        client_address(request),
        extra={"event": "login_failed", "client": client_address(request)},
    )


def _log_lockout(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    logger.warning(
        "login locked out for username %r from %s for %d minutes",
        kwargs.get("username", ""),
        kwargs.get("ip_address") or client_address(request),
        settings.AXES_COOLOFF_MINUTES,
        extra={"event": "login_locked_out", "client": client_address(request)},
    )


def connect_signals() -> None:
    """Connect the handlers above (ConsoleConfig.ready calls this once)."""
    from axes.signals import user_locked_out

    user_logged_in.connect(_remember_login_time, dispatch_uid="anchor-login-time")
    user_login_failed.connect(_log_failed_login, dispatch_uid="anchor-login-failed")
    user_locked_out.connect(_log_lockout, dispatch_uid="anchor-locked-out")
