"""Hypothesis generates hostile values for every claim, token header and provider document: never
a 500, never another account.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from django.contrib.auth.models import User
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from anchor_site import sso_provider
from tests.integration.sso_refusals.conftest import FIXTURES, begin, sign_in

pytestmark = pytest.mark.django_db


# --- Hostile values for every claim and every document (hypothesis) -------------------------------

hostile_text = st.sampled_from(
    [
        "",
        "false",
        "true",
        "null",
        "console",
        "other-app",
        "ana@example.com",
        "ANA@EXAMPLE.COM",
        "\uff41na@example.com",
        "\u212aelvin@example.com",
        "ana@exämple.com",
        "ana@example.com\x00",
        "ana@example.com.",
        "ana@@example.com",
        "a" * 300 + "@example.com",
        "<script>alert(1)</script>",
        "console-ops",
        "\ud800",
    ]
)
json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | hostile_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=8,
)
CLAIMS = ["iss", "aud", "azp", "sub", "nonce", "exp", "iat", "nbf", "email", "email_verified"]
CLAIMS += ["name", "groups"]


def _no_surrogates(value: Any) -> bool:
    try:
        jwt.utils.base64url_encode(str(value).encode())
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize("claim", CLAIMS)
@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURES)
@given(value=json_value.filter(_no_surrogates))
def test_a_hostile_claim_is_never_a_500_nor_another_account(console, claim, value) -> None:
    client = Client()
    response = sign_in(console, client, **{claim: value})
    assert response.status_code in {302, 400, 403, 503}, response.status_code
    if response.status_code == 302:
        user = User.objects.get(pk=client.session["_auth_user_id"])
        subject = value if claim == "sub" else "scripted-ana"
        assert user.sso_identity.subject == subject
        assert user.sso_identity.issuer == console.issuer


@pytest.mark.parametrize("field", ["kid", "alg", "typ", "crit"])
@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURES)
@given(value=json_value.filter(_no_surrogates))
def test_a_hostile_token_header_is_never_a_500(console, field, value) -> None:
    response = sign_in(console, header={field: value})
    assert response.status_code in {302, 400, 503}, response.status_code
    if response.status_code == 302:
        assert field != "kid" or value == console.kid


@pytest.mark.parametrize("route", ["/.well-known/openid-configuration", "/jwks", "/token", "/me"])
@settings(max_examples=25, deadline=None, suppress_health_check=FIXTURES)
@given(body=json_value.filter(_no_surrogates), status=st.sampled_from([200, 200, 400, 401, 500]))
def test_a_hostile_provider_answer_is_never_a_500(console, route, body, status) -> None:
    sso_provider.forget_discovery()
    console.reset()
    client = Client()
    if route == "/.well-known/openid-configuration":
        console.answer(route, body, status=status)
        response = client.get("/oidc/authenticate/")
        assert response.status_code in {302, 503}, response.status_code
        return
    state, nonce = begin(client)
    console.answer("/token", console.token_answer(console.id_token(nonce)))
    console.answer(
        "/me", {"sub": "scripted-ana", "email": "ana@example.com", "email_verified": True}
    )
    console.answer(route, body, status=status)
    response = client.get(f"/oidc/callback/?code=c&state={state}")
    assert response.status_code in {400, 403, 503}, response.status_code
