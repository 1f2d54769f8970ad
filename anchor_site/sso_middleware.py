"""Single sign-on's session re-check: a middleware sending an SSO session back to the provider."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin
from mozilla_django_oidc import middleware as oidc_middleware

from anchor_site.sso_provider import ProviderUnavailable, endpoint
from anchor_site.sso_views import unavailable


def wants_json(request: HttpRequest) -> bool:
    """A script's request (XHR, or one that accepts JSON and not HTML), not a browser page's."""
    if request.headers.get("x-requested-with") == "XMLHttpRequest":
        return True
    accept = request.headers.get("accept", "")
    return "json" in accept and "text/html" not in accept


class SessionRefresh(oidc_middleware.SessionRefresh):
    """Re-check an SSO session with the provider (prompt=none) once its OIDC_REFRESH_MINUTES are
    up, so an account disabled there is signed out here within that time. Every method waits for
    the re-check (the library re-checks GET only): a browser is sent to the provider (303 after a
    POST: its form is not replayed), a script gets JSON 403 with the URL to re-check at. Fails
    closed: 503 when the provider's discovery cannot be had."""

    def __init__(self, get_response: Any) -> None:
        MiddlewareMixin.__init__(self, get_response)
        self.OIDC_EXEMPT_URLS = settings.OIDC_EXEMPT_URLS
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_STATE_SIZE = 32
        self.OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
        self.OIDC_RP_SCOPES = settings.OIDC_RP_SCOPES
        self.OIDC_USE_NONCE = True
        self.OIDC_NONCE_SIZE = 32

    @property
    def OIDC_OP_AUTHORIZATION_ENDPOINT(self) -> str:
        return endpoint("authorization_endpoint")

    def is_refreshable_url(self, request: HttpRequest) -> bool:
        # The library's test with its `request.method == "GET"` left out: any method.
        backend = request.session.get(auth.BACKEND_SESSION_KEY)
        return (
            request.user.is_authenticated
            and backend == "anchor_site.sso.SSOBackend"
            and request.path not in self.exempt_urls
            and not any(pattern.match(request.path) for pattern in self.exempt_url_patterns)
        )

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        try:
            response = super().process_request(request)
        except ProviderUnavailable as error:
            if wants_json(request):
                return JsonResponse({"error": "identity provider unavailable"}, status=503)
            return unavailable(request, error)
        if response is None:
            return None
        if isinstance(response, JsonResponse) or wants_json(request):
            url = response.get("refresh_url") or response["Location"]
            answer = JsonResponse({"error": "session re-check due", "refresh_url": url}, status=403)
            answer["refresh_url"] = url
            return answer
        if request.method not in {"GET", "HEAD"}:
            # The provider is asked with GET whatever the method was; the form is not replayed
            # (after the re-check the browser lands on the same page, to send it again).
            response.status_code = 303
        return response
