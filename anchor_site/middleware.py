"""Request middleware: the request log (id, staff user, view, status, duration, DynamoDB calls)
and the absolute limit on a staff session's age."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from anchor_site.security import LOGIN_AT
from infra.core import logs
from infra.core.metrics import counting_dynamodb_calls

request_logger = logging.getLogger("anchor.request")
security_logger = logging.getLogger("anchor.security")

# An X-Request-ID from the proxy is kept when it is this tame; otherwise the console makes one.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

Handler = Callable[[HttpRequest], HttpResponse]


class RequestLogMiddleware:
    """One log line per request (static files aside) and an X-Request-ID on every response."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        rid = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = logs.request_id.set(rid)
        started = time.monotonic()
        try:
            with counting_dynamodb_calls() as dynamodb_calls:
                response = self.get_response(request)
            response["X-Request-ID"] = rid
            if not request.path.startswith(self.static_prefix):
                self._log(request, response, rid, time.monotonic() - started, dynamodb_calls())
            return response
        finally:
            logs.request_id.reset(token)

    def _log(
        self,
        request: HttpRequest,
        response: HttpResponse,
        rid: str,
        seconds: float,
        dynamodb_calls: int,
    ) -> None:
        user = getattr(request, "user", None)
        username = user.get_username() if user is not None and user.is_authenticated else None
        match = getattr(request, "resolver_match", None)
        fields = {
            "request_id": rid,
            "user": username,
            "view": match.view_name if match else None,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
            "dynamodb_calls": dynamodb_calls,
        }
        request_logger.info(
            "%s %s %s %.1fms user=%s view=%s dynamodb_calls=%d",
            request.method,
            request.path,
            response.status_code,
            seconds * 1000,
            username or "-",
            fields["view"] or "-",
            dynamodb_calls,
            extra=fields,
        )
        if response.status_code == 403:
            security_logger.warning(
                "permission denied: %s %s for user %s",
                request.method,
                request.path,
                username or "-",
                extra={"event": "permission_denied", **fields},
            )


class SessionLifetimeMiddleware:
    """Log a staff member out SESSION_MAX_HOURS after their login, however active they are.

    The idle limit is the session cookie's age (SESSION_COOKIE_AGE, renewed on every request);
    this adds the absolute one, from the login time the user_logged_in signal stored.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            started = request.session.get(LOGIN_AT)
            limit = settings.SESSION_MAX_HOURS * 3600
            if not isinstance(started, int) or time.time() - started > limit:
                security_logger.info(
                    "session of %s ended: older than %d hours",
                    request.user.get_username(),
                    settings.SESSION_MAX_HOURS,
                    extra={"event": "session_expired"},
                )
                logout(request)
        return self.get_response(request)
