"""Staff single sign-on with OpenID Connect (mozilla-django-oidc): the provider's discovery, the
backend that checks the ID token and maps the provider's groups to the console's, the login,
callback and refresh views, and logout at the provider. Installed only when OIDC_ISSUER is set.

mozilla-django-oidc wants every endpoint as a setting; here they come from the issuer's
`.well-known/openid-configuration`, fetched on first use and kept for the process's life
(`discovery()`): fetching at start-up would make the console (and every manage.py command) fail
to start while the provider is briefly unreachable, and would put a network call in settings.
Until the provider answers, sign-in answers 503 and password login for superusers still works.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group, User
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.deprecation import MiddlewareMixin
from django.views.generic import View
from mozilla_django_oidc import auth as oidc_auth
from mozilla_django_oidc import middleware as oidc_middleware
from mozilla_django_oidc import views as oidc_views

from anchor_site.dashboard import error_page, forbidden
from anchor_site.security import client_address
from staff.audit import audit
from staff.models import AuditKind, RecordType

logger = logging.getLogger("anchor.security")

_REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint")
_discovered: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


class ProviderUnavailable(Exception):
    """The identity provider's discovery document could not be fetched or is not usable."""


class SignInRefused(Exception):
    """A sign-in the provider vouched for, that the console's own rules refuse."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def discovery() -> dict[str, Any]:
    """The issuer's OpenID configuration, fetched once per process (and again after a failure)."""
    issuer = settings.OIDC_ISSUER
    with _lock:
        if issuer in _discovered:
            return _discovered[issuer]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnavailable(f"discovery at {url} failed: {error}") from error
    missing = [key for key in _REQUIRED if not isinstance(document.get(key), str)]
    if missing:
        raise ProviderUnavailable(f"discovery at {url} lacks {', '.join(missing)}")
    if document["issuer"].rstrip("/") != issuer.rstrip("/"):
        # OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was asked for.
        raise ProviderUnavailable(f"discovery at {url} names another issuer: {document['issuer']}")
    with _lock:
        _discovered[issuer] = document
    return document


def forget_discovery() -> None:
    """Drop the cached discovery document (tests start providers on new ports)."""
    with _lock:
        _discovered.clear()


def _endpoint(name: str) -> str:
    return discovery()[name]


def _console_groups() -> set[str]:
    return set(settings.OIDC_GROUP_MAP.values())


def apply_group_mapping(user: User, claims: dict[str, Any]) -> list[str]:
    """Set the user's console groups and is_staff from the provider's groups claim (every
    login); a change is an audit entry. Returns the console groups the user now has."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    provider_groups = [value] if isinstance(value, str) else value
    if not isinstance(provider_groups, list):
        provider_groups = []
    mapping = settings.OIDC_GROUP_MAP
    wanted = sorted({mapping[g] for g in provider_groups if isinstance(g, str) and g in mapping})
    current = sorted(user.groups.filter(name__in=_console_groups()).values_list("name", flat=True))
    is_staff = bool(wanted)
    if current == wanted and user.is_staff == is_staff:
        return wanted
    with transaction.atomic():
        user.groups.remove(*Group.objects.filter(name__in=set(current) - set(wanted)))
        user.groups.add(*Group.objects.filter(name__in=wanted))
        before = {"groups": ", ".join(current) or "none", "is_staff": user.is_staff}
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
        audit(
            user,
            action=(
                f"Staff groups set by single sign-on from {settings.OIDC_PROVIDER_NAME}'s "
                f"{settings.OIDC_GROUPS_CLAIM!r} claim"
            ),
            object_id=str(user.pk),
            object_repr=user.get_username(),
            kind=AuditKind.GROUP_CHANGE,
            record_type=RecordType.NONE,
            before=before,
            after={"groups": ", ".join(wanted) or "none", "is_staff": is_staff},
        )
    logger.info(
        "single sign-on set the groups of %s: %s → %s",
        user.get_username(),
        before["groups"],
        ", ".join(wanted) or "none",
        extra={"event": "sso_groups_changed"},
    )
    return wanted


class SSOBackend(oidc_auth.OIDCAuthenticationBackend):
    """The authorization-code flow's backend: the ID token verified with the provider's JWKS
    (signature, nonce, issuer, audience, expiry), the e-mail domain allow-list, the account by
    e-mail address (its username), and the groups mapping, applied at every login."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Not the library's __init__: it reads the endpoints from settings; they come from
        # discovery (the properties below), and only when a sign-in needs them.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = auth.get_user_model()

    # The library's own attribute names, as properties read from discovery.
    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return _endpoint("token_endpoint")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return _endpoint("userinfo_endpoint")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return _endpoint("jwks_uri")

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        # Only the callback view passes a code_verifier: a password form posted to a URL that
        # carries ?code=&state= must not start a token exchange.
        if request is None or "code_verifier" not in kwargs:
            return None
        try:
            user = super().authenticate(request, **kwargs)
        except requests.HTTPError as error:
            # The token endpoint refused the code: replayed, expired, or issued to another client.
            detail = error.response.text[:200] if error.response is not None else str(error)
            raise SignInRefused(
                f"The identity provider did not accept the sign-in ({detail}).", status=400
            ) from error
        except requests.RequestException as error:
            raise ProviderUnavailable(f"the provider could not be reached: {error}") from error
        if user is None:
            return None
        if user.is_superuser:
            raise SignInRefused(
                "Superuser accounts sign in with their password, not through single sign-on."
            )
        if not apply_group_mapping(user, self._claims):
            raise SignInRefused(
                f"Your {settings.OIDC_PROVIDER_NAME} account is in no group that may use this "
                "console. Ask your administrator to add you to the support or operations group.",
            )
        return user

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload = super().verify_token(token, **kwargs)
        issuer = discovery()["issuer"]
        if payload.get("iss") != issuer:
            raise SuspiciousOperation(f"ID token from issuer {payload.get('iss')!r}, not {issuer}")
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience or []
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation(f"ID token for audience {audience!r}, not this console")
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("ID token for several audiences, authorized for another")
        if "exp" not in payload:
            raise SuspiciousOperation("ID token without an expiry")
        return payload

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict:
        userinfo = super().get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            # OpenID Connect Core §5.3.2: userinfo about another subject is not to be used.
            raise SuspiciousOperation("userinfo answered for another subject than the ID token")
        return {**payload, **userinfo}

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise SignInRefused("The identity provider did not give an e-mail address.")
        if claims.get("email_verified") is False:
            raise SignInRefused(f"The e-mail address {email} is not verified by the provider.")
        domain = email.rsplit("@", 1)[1].lower()
        if domain not in settings.OIDC_ALLOWED_EMAIL_DOMAINS:
            raise SignInRefused(
                f"Accounts of {domain} may not sign in to this console "
                f"(allowed: {', '.join(settings.OIDC_ALLOWED_EMAIL_DOMAINS)})."
            )
        self._claims = claims
        return True

    def filter_users_by_claims(self, claims: dict[str, Any]):
        return self.UserModel.objects.filter(username__iexact=claims["email"].lower())

    def create_user(self, claims: dict[str, Any]) -> User:
        email = claims["email"].lower()
        name = claims.get("name")
        user = self.UserModel.objects.create_user(email, email=email)  # no usable password
        if isinstance(name, str) and name:
            user.first_name = name[:150]
            user.save(update_fields=["first_name"])
        return user

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None


class PasswordBackend(ModelBackend):
    """Password login beside single sign-on: superusers only (OIDC_PASSWORD_LOGIN=superusers),
    or nobody (off). Their sessions end when the setting stops allowing them."""

    def user_can_authenticate(self, user: AbstractBaseUser) -> bool:
        if settings.OIDC_PASSWORD_LOGIN == "off":  # noqa: S105 (a mode, not a password)
            return False
        return super().user_can_authenticate(user) and getattr(user, "is_superuser", False)


def _refused(request: HttpRequest, status: int, title: str, message: str, reason: str) -> Any:
    logger.warning(
        "single sign-on refused from %s: %s",
        client_address(request),
        reason,
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
        return _endpoint("authorization_endpoint")

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            return super().get(request)
        except ProviderUnavailable as error:
            return _unavailable(request, error)


def _unavailable(request: HttpRequest, error: Exception) -> Any:
    logger.error("single sign-on unavailable: %s", error, extra={"event": "sso_unavailable"})
    return error_page(
        request,
        503,
        "Sign-in unavailable",
        f"{settings.OIDC_PROVIDER_NAME} cannot be reached just now. Try again in a minute.",
    )


class CallbackView(oidc_views.OIDCAuthenticationCallbackView):
    """The provider's redirect back: state checked (the library), then the backend; a refusal is
    a page with its status, never a 500."""

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            return super().get(request)
        except SuspiciousOperation as error:
            # Unknown state, wrong nonce, bad signature, another issuer or audience.
            return _refused(
                request,
                400,
                "Sign-in refused",
                "This sign-in could not be verified. Start again from the login page.",
                str(error),
            )
        except SignInRefused as refusal:
            if request.user.is_authenticated:  # a session re-check that no longer passes
                auth.logout(request)
            return _refused(request, refusal.status, "Sign-in refused", str(refusal), str(refusal))
        except ProviderUnavailable as error:
            return _unavailable(request, error)

    def login_failure(self) -> HttpResponse:
        # The provider answered with an error: the user cancelled, or a silent re-check found
        # them signed out or disabled there (the library has logged them out here too).
        error = self.request.GET.get("error", "the account is not active here")
        logger.warning(
            "single sign-on ended without a login from %s: %s",
            client_address(self.request),
            error,
            extra={"event": "sso_failed", "client": client_address(self.request)},
        )
        messages.error(
            self.request,
            f"You are not signed in with {settings.OIDC_PROVIDER_NAME} ({error}). Sign in again.",
        )
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


class SessionRefresh(oidc_middleware.SessionRefresh):
    """Re-check an SSO session with the provider (prompt=none) once its OIDC_REFRESH_MINUTES are
    up, so an account disabled there is signed out here within that time. Fails closed: 503 when
    the provider's discovery cannot be had."""

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
        return _endpoint("authorization_endpoint")

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        try:
            return super().process_request(request)
        except ProviderUnavailable as error:
            return _unavailable(request, error)


def provider_logout_url(request: HttpRequest) -> str | None:
    """Where to send the browser to end the provider's session too (RP-initiated logout), or
    None: not an SSO session, or a provider without an end_session_endpoint (Google)."""
    id_token = request.session.get("oidc_id_token")
    if not settings.OIDC_ENABLED or not id_token:
        return None
    try:
        end_session = discovery().get("end_session_endpoint")
    except ProviderUnavailable:
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
    path("logout/", oidc_views.OIDCLogoutView.as_view(), name="oidc_logout"),
]
