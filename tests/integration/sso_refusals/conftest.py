"""Single sign-on against a scripted provider (tests/oidc/scripted.py), served over real HTTP:
the console configured for it and one whole sign-in with the answers a test chooses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from hypothesis import HealthCheck

from anchor_site import sso_provider
from staff.models import AuditEntry, AuditKind
from tests.integration.sso.conftest import _reload_urls, sso_settings
from tests.oidc.scripted import CLIENT_ID, ScriptedProvider, scripted_provider

SECRET = "scripted-client-secret-for-tests-only-0123456789"
FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
USER_CLAIMS = ("sub", "email", "email_verified", "name", "groups")
NOW = int(time.time())  # seconds since the epoch: the base of the exp / nbf / iat claims tests set


@pytest.fixture(scope="module")
def idp() -> Iterator[ScriptedProvider]:
    with scripted_provider() as provider:
        yield provider


@pytest.fixture
def console(idp: ScriptedProvider) -> Iterator[ScriptedProvider]:
    """The console with single sign-on to the scripted provider (valid answers to start with)."""
    idp.reset()
    override = override_settings(
        **sso_settings(
            OIDC_ISSUER=idp.issuer,
            OIDC_CLIENT_ID=CLIENT_ID,
            OIDC_CLIENT_SECRET=SECRET,
            OIDC_PROVIDER_NAME="Scripted IdP",
            OIDC_GROUP_MAP="console-support=Support,console-ops=Operations",
            OIDC_ALLOWED_EMAIL_DOMAINS="example.com",
        )
    )
    override.enable()
    sso_provider.forget_discovery()
    _reload_urls()
    yield idp
    override.disable()
    sso_provider.forget_discovery()
    _reload_urls()


def begin(client: Client) -> tuple[str, str]:
    """The console's "Sign in with …": the state and nonce it sends the provider."""
    response = client.get("/oidc/authenticate/?next=/admin/")
    assert response.status_code == 302, response.status_code
    query = dict(parse_qsl(urlsplit(response["Location"]).query))
    return query["state"], query["nonce"]


def sign_in(
    idp: ScriptedProvider,
    client: Client | None = None,
    *,
    token: Callable[[str], Any] | None = None,
    userinfo: Any = None,
    header: dict[str, Any] | None = None,
    **claims: Any,
):
    """One whole sign-in: the provider answers the token request with an ID token carrying
    `claims` (or `token(nonce)`), and userinfo with the same user claims (or `userinfo`)."""
    client = client or Client()
    state, nonce = begin(client)
    body = token(nonce) if token else idp.token_answer(idp.id_token(nonce, header=header, **claims))
    idp.answer("/token", body)
    if userinfo is None:
        userinfo = {k: v for k, v in idp.claims(nonce, **claims).items() if k in USER_CLAIMS}
    idp.answer("/me", userinfo)
    return client.get(f"/oidc/callback/?code=scripted-code&state={state}")


def signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def sso_audit(user: User) -> list[str]:
    entries = AuditEntry.objects.filter(user=user, kind=AuditKind.SSO_LOGIN).order_by("pk")
    return [entry.change_message for entry in entries]
