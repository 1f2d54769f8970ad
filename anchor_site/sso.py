"""Staff single sign-on with OpenID Connect (mozilla-django-oidc): the provider's discovery, the
backend that checks the ID token, pins the account to the provider's (issuer, subject) and maps
the provider's groups to the console's, the login, callback and sign-out views, and the session
re-check. Installed only when OIDC_ISSUER is set. docs/sso.md says what each refusal answers.

mozilla-django-oidc wants every endpoint as a setting; here they come from the issuer's
`.well-known/openid-configuration`, fetched on first use and kept for the process's life
(`discovery()`): fetching at start-up would make the console (and every manage.py command) fail
to start while the provider is briefly unreachable, and would put a network call in settings.
Until the provider answers, sign-in answers 503 and password login for superusers still works.

Everything the provider sends goes through one path: `_fetch_json` reads an answer (size-capped,
JSON or not), anchor_site.sso_claims checks its shape, and only then does any code (this module's
or the library's) read a field. The library keeps the flow's state, nonce and PKCE handling; the
token exchange, the ID token's verification and the userinfo call are this module's.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import path, reverse
from django.utils.deprecation import MiddlewareMixin
from django.views.generic import View
from mozilla_django_oidc import auth as oidc_auth
from mozilla_django_oidc import middleware as oidc_middleware
from mozilla_django_oidc import views as oidc_views
from requests.auth import HTTPBasicAuth

from anchor_site.models import SSOIdentity
from anchor_site.security import client_address
from anchor_site.sso_claims import (
    ClaimRefused,
    Identity,
    ProviderBroken,
    check_discovery,
    check_id_token_claims,
    check_identity,
    check_key_set,
    check_token_response,
    check_userinfo,
    error_code,
    loose_email,
    normalise,
)
from staff.audit import audit
from staff.models import AuditKind, RecordType
from web.common.dashboard import error_page, forbidden

logger = logging.getLogger("anchor.security")

_discovered: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()
# The largest answer read from the provider (a discovery document, key set, token response or
# userinfo answer is a few kilobytes).
MAX_ANSWER_BYTES = 256 * 1024
# Clock difference allowed between the provider and the console on exp, nbf and iat (seconds).
LEEWAY_SECONDS = 60


class ProviderUnavailable(Exception):
    """The identity provider cannot be reached, or answers with documents of the wrong shape."""


class SignInRefused(Exception):
    """A sign-in the console refuses: `status` 400 (could not be verified) or 403 (its rules),
    `str()` the message for the page; `reason` the line for the security log."""

    def __init__(self, message: str, *, status: int = 403, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason or message


def _refusal(error: ClaimRefused) -> SignInRefused:
    return SignInRefused(error.message, status=error.status, reason=str(error))


def _fetch_json(method: str, url: str, what: str, **kwargs: Any) -> tuple[int, Any]:
    """(status, parsed JSON or None) of one call to the provider. Unreachable, too slow, too large
    or a server error is ProviderUnavailable; a body that is not JSON is None."""
    try:
        with requests.request(
            method, url, timeout=settings.OIDC_TIMEOUT, stream=True, allow_redirects=False, **kwargs
        ) as response:
            body = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
            status = response.status_code
    except (requests.RequestException, OSError, ValueError) as error:
        raise ProviderUnavailable(f"{what} at {url} could not be reached: {error}") from error
    if len(body) > MAX_ANSWER_BYTES:
        raise ProviderUnavailable(f"{what} at {url} answered more than {MAX_ANSWER_BYTES} bytes")
    if status >= 500 or 300 <= status < 400:
        raise ProviderUnavailable(f"{what} at {url} answered HTTP {status}")
    try:
        document = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        document = None
    return status, document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def discovery() -> dict[str, Any]:
    """The issuer's OpenID configuration, fetched once per process (and again after a failure)."""
    issuer = settings.OIDC_ISSUER
    with _lock:
        if issuer in _discovered:
            return _discovered[issuer]
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    status, document = _fetch_json("GET", url, "discovery")
    if status != 200:
        raise ProviderUnavailable(f"discovery at {url} answered HTTP {status}")
    try:
        document = check_discovery(document, issuer)
    except ProviderBroken as error:
        raise ProviderUnavailable(f"discovery at {url}: {error}") from error
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


def _audit_refusal(user: User, reason: str) -> None:
    audit(
        user,
        action=f"Single sign-on with {settings.OIDC_PROVIDER_NAME} refused: {reason}",
        object_id=str(user.pk),
        object_repr=user.get_username(),
        kind=AuditKind.SSO_LOGIN,
        record_type=RecordType.NONE,
    )


def accounts_by_email(address: str | None) -> list[User]:
    """Every account whose username or e-mail address equals `address` under the one
    normalisation (NFKC, casefold); staff accounts are few, so they are compared here, not in
    SQL (whose case-insensitive match differs between SQLite and PostgreSQL)."""
    if not address:
        return []
    rows = User.objects.only("pk", "username", "email", "is_superuser", "is_active")
    return [
        user
        for user in rows.iterator()
        if address in {normalise(user.username), normalise(user.email or "")}
    ]


def unlinked_accounts() -> list[User]:
    """Active accounts, superusers aside, that single sign-on has not pinned to an identity yet,
    oldest first: the ones a first sign-in may still link by e-mail (manage.py sso_unlinked)."""
    unlinked = User.objects.filter(sso_identity__isnull=True, is_active=True, is_superuser=False)
    return list(unlinked.order_by("date_joined", "pk"))


class SSOBackend(oidc_auth.OIDCAuthenticationBackend):
    """The authorization-code flow's backend: the code exchanged (PKCE), the ID token verified with
    the provider's key set (signature, key id, algorithm, issuer, audience, azp, nonce, times), the
    claims checked (anchor_site.sso_claims), the account found by its pinned identity or linked at
    its first sign-in, and the groups mapping applied at every login."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Not the library's __init__: it reads the endpoints from settings; they come from
        # discovery, and only when a sign-in needs them.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = auth.get_user_model()

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        # Only the callback view passes a code_verifier: a password form posted to a URL that
        # carries ?code=&state= must not start a token exchange.
        if request is None or "code_verifier" not in kwargs:
            return None
        self.request = request
        code = request.GET.get("code")
        if not code:
            return None
        access_token, id_token = self.get_token(
            {
                "client_id": self.OIDC_RP_CLIENT_ID,
                "client_secret": self.OIDC_RP_CLIENT_SECRET,
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": request.build_absolute_uri(reverse("oidc_authentication_callback")),
                "code_verifier": kwargs["code_verifier"],
            }
        )
        payload = self.verify_token(id_token, nonce=kwargs.get("nonce"))
        claims = self.get_userinfo(access_token, id_token, payload)
        try:
            identity = check_identity(
                claims,
                subject=payload["sub"],
                groups_claim=settings.OIDC_GROUPS_CLAIM,
                allowed_domains=settings.OIDC_ALLOWED_EMAIL_DOMAINS,
                provider=settings.OIDC_PROVIDER_NAME,
            )
        except ClaimRefused as error:
            if error.status == 403:
                # The accounts the address looks like, and the identity's own: their audit
                # trails show the refused attempt.
                concerned = {u.pk: u for u in accounts_by_email(loose_email(claims.get("email")))}
                pinned = SSOIdentity.objects.filter(
                    issuer=discovery()["issuer"], subject=payload["sub"]
                ).first()
                if pinned is not None:
                    concerned[pinned.user_id] = pinned.user
                for user in concerned.values():
                    _audit_refusal(user, str(error))
            raise _refusal(error) from error
        self.store_tokens(access_token, id_token)
        user = self.account_for(identity)
        if not user.is_active:
            raise SignInRefused("This console account is disabled. Ask an administrator.")
        if user.is_superuser:
            raise SignInRefused(
                "Superuser accounts sign in with their password, not through single sign-on."
            )
        if not apply_group_mapping(user, {settings.OIDC_GROUPS_CLAIM: identity.groups}):
            raise SignInRefused(
                f"Your {settings.OIDC_PROVIDER_NAME} account is in no group that may use this "
                "console. Ask your administrator to add you to the support or operations group.",
            )
        return user

    def get_token(self, payload: dict[str, Any]) -> tuple[str, str]:
        """(access_token, id_token) for the code: client_secret_basic, PKCE's verifier."""
        data = {key: value for key, value in payload.items() if key != "client_secret"}
        url = _endpoint("token_endpoint")
        status, document = _fetch_json(
            "POST",
            url,
            "the token endpoint",
            data=data,
            auth=HTTPBasicAuth(payload["client_id"], payload["client_secret"]),
        )
        if status != 200:
            # The provider refused the code (RFC 6749 §5.2): replayed, expired, or issued to
            # another client. Only its error code is logged; its text is never shown.
            code = error_code(document.get("error") if isinstance(document, dict) else None)
            raise SignInRefused(
                "The identity provider did not accept the sign-in. Start again from the login "
                "page.",
                status=400,
                reason=f"the token endpoint answered HTTP {status} ({code})",
            )
        try:
            return check_token_response(document)
        except ProviderBroken as error:
            raise ProviderUnavailable(str(error)) from error

    def retrieve_matching_jwk(self, token: str) -> jwt.PyJWK:
        """The provider's key for this token: the one its key set publishes under the token's key
        id for the configured algorithm. The set is read again at every sign-in (keys rotate)."""
        header = _token_header(token)
        kid, algorithm = header["kid"], header["alg"]
        status, document = _fetch_json("GET", _endpoint("jwks_uri"), "the key set")
        if status != 200:
            raise ProviderUnavailable(f"the key set answered HTTP {status}")
        try:
            keys = check_key_set(document)
        except ProviderBroken as error:
            raise ProviderUnavailable(str(error)) from error
        matches = [k for k in keys if k["kid"] == kid and k.get("alg", algorithm) == algorithm]
        if not matches:
            raise SignInRefused(
                "This sign-in could not be verified. Start again from the login page.",
                status=400,
                reason=f"JWS token verification failed: no key {kid!r} for {algorithm}",
            )
        if len(matches) > 1:
            raise ProviderUnavailable(f"the key set has {len(matches)} keys with key id {kid!r}")
        try:
            return jwt.PyJWK(matches[0], algorithm=algorithm)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
            raise ProviderUnavailable(f"the key set's key {kid!r} is unusable: {error}") from error

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        """The ID token's claims, once its signature (with the provider's key, the configured
        algorithm only), times, issuer, audience, azp and nonce have all passed."""
        key = self.retrieve_matching_jwk(token)
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["exp", "iat", "iss", "aud", "sub"],
                    "verify_aud": False,  # checked below, with azp
                    "verify_iss": False,
                },
            )
            subject = check_id_token_claims(
                payload,
                issuer=discovery()["issuer"],
                client_id=self.OIDC_RP_CLIENT_ID,
                nonce=kwargs.get("nonce"),
            )
        except jwt.ExpiredSignatureError as error:
            raise _unverified(f"the ID token has expired: {error}") from error
        except jwt.ImmatureSignatureError as error:
            raise _unverified(f"the ID token is not valid yet: {error}") from error
        except jwt.PyJWTError as error:
            raise _unverified(f"JWS token verification failed: {error}") from error
        except ClaimRefused as error:
            raise _refusal(error) from error
        return {**payload, "sub": subject}

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> dict:
        """The ID token's claims, with the userinfo answer's over them (about the same subject)."""
        status, document = _fetch_json(
            "GET",
            _endpoint("userinfo_endpoint"),
            "userinfo",
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        )
        if status != 200:
            raise ProviderUnavailable(f"userinfo answered HTTP {status}")
        try:
            userinfo = check_userinfo(document, payload["sub"])
        except ProviderBroken as error:
            raise ProviderUnavailable(str(error)) from error
        except ClaimRefused as error:
            raise _refusal(error) from error
        protected = {"iss", "aud", "azp", "nonce", "exp", "iat", "nbf", "sub"}
        return {**payload, **{k: v for k, v in userinfo.items() if k not in protected}}

    def account_for(self, identity: Identity) -> User:
        """The account pinned to this (issuer, subject); at the identity's first sign-in, the one
        existing account with its address (linked now), or a new account. Refused (403, and an
        audit entry on the accounts concerned) when the address is another identity's account's,
        or several accounts'."""
        issuer = discovery()["issuer"]
        pinned = (
            SSOIdentity.objects.select_related("user")
            .filter(issuer=issuer, subject=identity.subject)
            .first()
        )
        if pinned is not None:
            if pinned.email != identity.email:
                pinned.email = identity.email
                pinned.save(update_fields=["email"])
            return pinned.user
        matches = accounts_by_email(identity.email)
        taken = [user for user in matches if hasattr(user, "sso_identity")]
        if taken or len(matches) > 1:
            reason = (
                f"{identity.email} is the address of an account linked to another identity"
                if taken
                else f"{identity.email} is the address of {len(matches)} accounts"
            )
            for user in matches:
                _audit_refusal(user, f"{reason} (subject {identity.subject!r})")
            raise SignInRefused(
                f"The console account for {identity.email} is linked to another "
                f"{settings.OIDC_PROVIDER_NAME} identity. Ask an administrator.",
                reason=reason,
            )
        try:
            with transaction.atomic():
                if matches:
                    user = matches[0]
                    if user.is_superuser:
                        raise SignInRefused(
                            "Superuser accounts sign in with their password, not through single "
                            "sign-on."
                        )
                else:
                    user = self.create_user(identity)
                SSOIdentity.objects.create(
                    user=user, issuer=issuer, subject=identity.subject, email=identity.email
                )
                audit(
                    user,
                    action=(
                        f"Account linked to its {settings.OIDC_PROVIDER_NAME} identity at its "
                        "first single sign-on"
                    ),
                    object_id=str(user.pk),
                    object_repr=user.get_username(),
                    kind=AuditKind.SSO_LOGIN,
                    record_type=RecordType.NONE,
                    before={"identity": "none"},
                    after={"identity": f"{issuer} {identity.subject}"},
                )
        except IntegrityError as error:
            # Another sign-in of the same identity or address linked first.
            raise SignInRefused(
                "This sign-in met another one for the same account. Sign in again.",
                status=409,
                reason=f"linking {identity.email} raced another sign-in: {error}",
            ) from error
        return user

    def create_user(self, identity: Identity) -> User:  # type: ignore[override]
        user = self.UserModel.objects.create_user(identity.email, email=identity.email)
        if identity.name:
            user.first_name = identity.name
            user.save(update_fields=["first_name"])
        return user

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None


def _unverified(reason: str) -> SignInRefused:
    return SignInRefused(
        "This sign-in could not be verified. Start again from the login page.",
        status=400,
        reason=reason,
    )


def _token_header(token: str) -> dict[str, Any]:
    """The ID token's header, if it is a JWS with a key id and the configured algorithm."""
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise _unverified(f"the ID token is not a JWS: {error}") from error
    if header.get("alg") != settings.OIDC_RP_SIGN_ALGO:
        raise _unverified(
            f"The provider algorithm {header.get('alg')!r} does not match the client's "
            "OIDC_RP_SIGN_ALGO."
        )
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise _unverified("the ID token names no key id (kid)")
    return header


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
            return _unavailable(request, error)

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
        return _endpoint("authorization_endpoint")

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
            return _unavailable(request, error)
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
