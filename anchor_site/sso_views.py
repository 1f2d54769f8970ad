"""Staff single sign-on's pages: the login and callback views, sign-out, the login page's offer."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.views.generic import View
from mozilla_django_oidc import views as oidc_views

from anchor_site.security import client_address
from anchor_site.sso import SignInRefused
from anchor_site.sso_claims import error_code
from anchor_site.sso_provider import ProviderUnavailable, discovery, endpoint
from staff.audit import audit
from staff.models import AuditKind, RecordType
from web.common.dashboard import error_page, forbidden

logger = logging.getLogger("anchor.security")


def _refused(request: HttpRequest, status: int, title: str, message: str, reason: str) -> Any:
    logger.warning(
        "single sign-on refused from %s: %s",
        client_address(request),
        reason[:500],  # a hostile claim's value is in it (repr-escaped): not all of it
        extra={"event": "sso_refused", "client": client_address(request), "status": status},
    )
    if status == 403:
        return forbidden(request, message)
    return error_page(request, status, title, message)


class LoginView(oidc_views.OIDCAuthenticationRequestView):
    """Starts the authorization-code flow: state, nonce and a PKCE challenge in the session."""

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    @property
    def OIDC_OP_AUTH_ENDPOINT(self) -> str:
        return endpoint("authorization_endpoint")

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            return super().get(request)
        except ProviderUnavailable as error:
            return unavailable(request, error)


def unavailable(request: HttpRequest, error: Exception) -> Any:
    logger.error("single sign-on unavailable: %s", error, extra={"event": "sso_unavailable"})
    return error_page(
        request,
        503,
        "Sign-in unavailable",
        f"{settings.OIDC_PROVIDER_NAME} cannot be reached just now. Try again in a minute.",
    )


# What the sign-in page says for the provider's own error codes (RFC 6749 §4.1.2.1, OpenID
# Connect Core §3.1.2.6); its error_description is never shown.
_PROVIDER_ERRORS = {
    "login_required": "Your {provider} session has ended. Sign in again.",
    "access_denied": "The sign-in with {provider} was cancelled or refused. Sign in again.",
}


class CallbackView(oidc_views.OIDCAuthenticationCallbackView):
    """The provider's redirect back. Only an answer carrying a state this session is waiting for
    is read (code or error alike); the state is used up whatever follows. A refusal is a page
    with its status (never a 500), and during a session re-check it also ends the session."""

    def get(self, request: HttpRequest) -> HttpResponse:
        state = request.GET.get("state")
        states = request.session.get("oidc_states")
        if not isinstance(states, dict) or not isinstance(state, str) or state not in states:
            # Unknown, forged or replayed: nothing in it (an `error` included) touches the session.
            said = f" (error={error_code(request.GET['error'])})" if "error" in request.GET else ""
            return _refused(
                request,
                400,
                "Sign-in refused",
                "This sign-in could not be verified. Start again from the login page.",
                f"OIDC callback state not found in session `oidc_states`{said}",
            )
        pending = states.pop(state)
        request.session.save()
        rechecking = request.user.is_authenticated
        if "error" in request.GET:
            return self._provider_said_no(request, error_code(request.GET["error"]))
        nonce = pending.get("nonce") if isinstance(pending, dict) else None
        verifier = pending.get("code_verifier") if isinstance(pending, dict) else None
        # The library's own step: reload the session after the slow token exchange, so other
        # tabs' changes to it are not overwritten.
        request.session = request.session.__class__(request.session.session_key)
        try:
            self.user = auth.authenticate(request=request, nonce=nonce, code_verifier=verifier)
            if self.user is None:
                raise SignInRefused(
                    "This sign-in could not be verified. Start again from the login page.",
                    status=400,
                    reason="the callback carried no code",
                )
            return self.login_success()
        except SignInRefused as refusal:
            if rechecking:  # a session re-check that no longer passes ends the session
                auth.logout(request)
            return _refused(
                request, refusal.status, "Sign-in refused", str(refusal), refusal.reason
            )
        except ProviderUnavailable as error:
            return unavailable(request, error)

    def _provider_said_no(self, request: HttpRequest, code: str) -> HttpResponse:
        # The user cancelled, or a silent re-check found them signed out or disabled there.
        logger.warning(
            "single sign-on ended without a login from %s: %s",
            client_address(request),
            code,
            extra={"event": "sso_failed", "client": client_address(request)},
        )
        if request.user.is_authenticated:
            auth.logout(request)
        text = _PROVIDER_ERRORS.get(code, "You are not signed in with {provider}. Sign in again.")
        messages.error(request, text.format(provider=settings.OIDC_PROVIDER_NAME))
        return HttpResponseRedirect(reverse("admin:login"))

    def login_success(self) -> HttpResponse:
        refresh = self.request.user.is_authenticated and self.request.user == self.user
        response = super().login_success()
        audit(
            self.user,
            action=(
                f"Session re-checked with {settings.OIDC_PROVIDER_NAME}"
                if refresh
                else f"Signed in with {settings.OIDC_PROVIDER_NAME} (single sign-on)"
            ),
            object_id=str(self.user.pk),
            object_repr=self.user.get_username(),
            kind=AuditKind.SSO_LOGIN,
            record_type=RecordType.NONE,
        )
        return response


def provider_logout_url(request: HttpRequest) -> str | None:
    """Where to send the browser to end the provider's session too (RP-initiated logout), or
    None: not an SSO session, or a provider without an end_session_endpoint (Google)."""
    id_token = request.session.get("oidc_id_token")
    if not settings.OIDC_ENABLED or not isinstance(id_token, str) or not id_token:
        return None
    try:
        end_session = discovery().get("end_session_endpoint")
    except ProviderUnavailable as error:
        logger.warning(
            "single sign-on: the provider's session could not be ended: %s",
            error,
            extra={"event": "sso_logout_unavailable"},
        )
        return None
    if not isinstance(end_session, str):
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": request.build_absolute_uri(reverse("admin:login")),
            "client_id": settings.OIDC_RP_CLIENT_ID,
        }
    )
    return f"{end_session}?{query}"


def sign_out(request: HttpRequest) -> HttpResponse | None:
    """The one sign-out of an SSO session (the admin's Log out and POST /oidc/logout/): the
    console's session ends, then the browser goes to the provider's end-session endpoint, which
    sends it back to the login page. Any `next` is ignored. None for a session that is not
    single sign-on's (a superuser's password session): the admin's own logout handles it."""
    if request.session.get(auth.BACKEND_SESSION_KEY) != "anchor_site.sso.SSOBackend":
        return None
    end_session = provider_logout_url(request)
    user = request.user
    auth.logout(request)
    logger.info(
        "single sign-on session of %s ended%s",
        user.get_username(),
        " (and at the provider)" if end_session else "",
        extra={"event": "sso_logout"},
    )
    return HttpResponseRedirect(end_session or reverse("admin:login"))


class LogoutView(View):
    """POST /oidc/logout/: sign_out(), or (no SSO session) the console's session ended and the
    login page. GET is 405: signing out is a form post with its CSRF token."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        response = sign_out(request)
        if response is None:
            auth.logout(request)
            response = HttpResponseRedirect(reverse("admin:login"))
        return response


def login_context(request: HttpRequest) -> dict[str, Any]:
    """What the admin's login page needs to offer single sign-on."""
    if not settings.OIDC_ENABLED:
        return {}
    url = reverse("oidc_authentication_init")
    next_url = request.GET.get("next")
    return {
        "sso_provider": settings.OIDC_PROVIDER_NAME,
        "sso_login_url": f"{url}?{urlencode({'next': next_url})}" if next_url else url,
        "sso_password_login": settings.OIDC_PASSWORD_LOGIN,
    }


urlpatterns = [
    path("callback/", CallbackView.as_view(), name="oidc_authentication_callback"),
    path("authenticate/", LoginView.as_view(), name="oidc_authentication_init"),
    path("logout/", LogoutView.as_view(), name="oidc_logout"),
]
