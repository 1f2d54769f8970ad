"""Staff single sign-on with OpenID Connect (mozilla-django-oidc): the authentication backends.

SSOBackend checks the ID token, pins the account to the provider's (issuer, subject) and maps the
provider's groups to the console's; PasswordBackend keeps password login for superusers. Their
dotted paths are stored in every session, so they stay here. Installed only when OIDC_ISSUER is
set; docs/sso.md says what each refusal answers. The library keeps the flow's state, nonce and
PKCE handling; the token exchange, the ID token's verification and the userinfo call are this
module's. The siblings: anchor_site.sso_provider (discovery, calls to the provider),
sso_claims (the answers' shapes), sso_accounts (accounts and groups), sso_views (login,
callback, sign-out) and sso_middleware (the session re-check).
"""

from __future__ import annotations

from typing import Any

import jwt
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from mozilla_django_oidc import auth as oidc_auth
from requests.auth import HTTPBasicAuth

from anchor_site.models import SSOIdentity
from anchor_site.sso_accounts import accounts_by_email, apply_group_mapping, audit_refusal
from anchor_site.sso_claims import (
    ClaimRefused,
    Identity,
    ProviderBroken,
    check_id_token_claims,
    check_identity,
    check_key_set,
    check_token_response,
    check_userinfo,
    error_code,
    loose_email,
)
from anchor_site.sso_provider import ProviderUnavailable, discovery, endpoint, fetch_json
from staff.audit import audit
from staff.models import AuditKind, RecordType

# Clock difference allowed between the provider and the console on exp, nbf and iat (seconds).
LEEWAY_SECONDS = 60


class SignInRefused(Exception):
    """A sign-in the console refuses: `status` 400 (could not be verified) or 403 (its rules),
    `str()` the message for the page; `reason` the line for the security log."""

    def __init__(self, message: str, *, status: int = 403, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason or message


def _refusal(error: ClaimRefused) -> SignInRefused:
    return SignInRefused(error.message, status=error.status, reason=str(error))


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
                    audit_refusal(user, str(error))
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
        url = endpoint("token_endpoint")
        status, document = fetch_json(
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
        status, document = fetch_json("GET", endpoint("jwks_uri"), "the key set")
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
        status, document = fetch_json(
            "GET",
            endpoint("userinfo_endpoint"),
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
                audit_refusal(user, f"{reason} (subject {identity.subject!r})")
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
