"""Every malformed or hostile discovery document, key set, token response, ID token and userinfo
answer of the scripted provider is refused with a 4xx or a 503, never a 500.

Each case prints its status (`pytest -s | grep REFUSAL`) for the issue's closing note.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from anchor_site.models import SSOIdentity
from tests.integration.sso.conftest import refusal
from tests.integration.sso_refusals.conftest import NOW, SECRET, begin, sign_in, signed_in
from tests.oidc.scripted import CLIENT_ID, DROP, ScriptedProvider

pytestmark = pytest.mark.django_db


def test_the_suite_runs_on_the_database_it_was_pointed_at() -> None:
    # tests/integration/test_sso_on_postgresql.py runs this module on PostgreSQL.
    assert connection.vendor == os.environ.get("EXPECT_DATABASE_VENDOR", "sqlite")


def test_a_valid_sign_in_through_the_scripted_provider_works(console) -> None:
    client = Client()
    response = sign_in(console, client)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    user = User.objects.get(username="ana@example.com")
    assert user.sso_identity.issuer == console.issuer
    assert user.sso_identity.subject == "scripted-ana"
    assert signed_in(client)


# --- 3. No 500 from the provider: tokens ----------------------------------------------------------


def _alg_none(idp: ScriptedProvider) -> Callable[[str], Any]:
    return lambda nonce: idp.token_answer(
        jwt.encode(idp.claims(nonce), None, algorithm="none", headers={"kid": idp.kid})
    )


def _hs256_with_the_secret(idp: ScriptedProvider) -> Callable[[str], Any]:
    return lambda nonce: idp.token_answer(
        jwt.encode(idp.claims(nonce), SECRET, algorithm="HS256", headers={"kid": idp.kid})
    )


TOKEN_CASES: list[tuple[str, dict[str, Any]]] = [
    ("ID token expired an hour ago", {"exp": NOW - 3600}),
    ("ID token not valid for an hour (nbf)", {"nbf": NOW + 3600}),
    ("ID token issued in an hour (iat)", {"iat": NOW + 3600}),
    ("ID token without exp", {"exp": DROP}),
    ("ID token with exp as a string", {"exp": str(NOW + 300)}),
    ("ID token with exp too large for a float", {"exp": 10**400}),
    ("ID token without a key id (kid)", {"header": {"kid": DROP}}),
    ("ID token with a kid the key set lacks", {"header": {"kid": "unknown-key"}}),
    ("ID token with a kid that is a number", {"header": {"kid": 7}}),
    ("ID token from another issuer", {"iss": "https://evil.example"}),
    ("ID token for another audience", {"aud": "other-app"}),
    ("ID token for several audiences, no azp", {"aud": [CLIENT_ID, "other-app"]}),
    ("azp naming another client, one audience", {"azp": "other-app"}),
    ("azp naming another client, several audiences", {"aud": [CLIENT_ID, "x"], "azp": "x"}),
    ("azp that is not a string", {"azp": ["console"]}),
    ("ID token with a wrong nonce", {"nonce": "another-nonce"}),
    ("ID token without a subject", {"sub": DROP}),
    ("ID token with an empty subject", {"sub": ""}),
    ("ID token with a subject of 300 characters", {"sub": "s" * 300}),
    ("ID token with a numeric subject", {"sub": 12345}),
]


@pytest.mark.parametrize(("case", "claims"), TOKEN_CASES, ids=[c for c, _ in TOKEN_CASES])
def test_a_bad_id_token_is_refused_with_400(console, case, claims, caplog) -> None:
    client = Client()
    response = sign_in(console, client, **claims)
    refusal(case, response.status_code)
    assert response.status_code == 400, response.content[:500]
    assert b"could not be verified" in response.content
    assert not signed_in(client)
    assert not SSOIdentity.objects.exists()
    assert any(getattr(r, "event", None) == "sso_refused" for r in caplog.records)


def test_an_azp_equal_to_the_client_id_is_accepted_with_several_audiences(console) -> None:
    response = sign_in(console, aud=[CLIENT_ID, "other-app"], azp=CLIENT_ID)
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("case", "build"),
    [
        ("ID token signed with alg none", _alg_none),
        ("ID token signed HS256 with the client secret", _hs256_with_the_secret),
        ("ID token that is garbage", lambda idp: lambda nonce: idp.token_answer("not-a-jwt")),
        ("ID token of three garbage parts", lambda idp: lambda nonce: idp.token_answer("a.b.c")),
        (
            "ID token signed by a key not in the key set",
            lambda idp: (
                lambda nonce: idp.token_answer(
                    idp.id_token(nonce, key=ScriptedProvider(issuer="x").key)
                )
            ),
        ),
    ],
)
def test_a_forged_or_garbage_id_token_is_refused_with_400(console, case, build) -> None:
    client = Client()
    response = sign_in(console, client, token=build(console))
    refusal(case, response.status_code)
    assert response.status_code == 400 and not signed_in(client)


# --- 3. token responses, key sets, userinfo, discovery --------------------------------------------

TOKEN_RESPONSES: list[tuple[str, Callable[[ScriptedProvider, str], Any], int]] = [
    ("token response that is not JSON", lambda idp, n: b"<html>oops</html>", 503),
    ("token response that is a JSON list", lambda idp, n: [idp.id_token(n)], 503),
    ("token response without an ID token", lambda idp, n: idp.token_answer(DROP), 503),
    ("token response with an ID token that is a number", lambda idp, n: idp.token_answer(42), 503),
    (
        "token response without an access token",
        lambda idp, n: idp.token_answer(idp.id_token(n), access_token=DROP),
        503,
    ),
    (
        "token response of token_type mac",
        lambda idp, n: idp.token_answer(idp.id_token(n), token_type="mac"),
        503,
    ),
]


@pytest.mark.parametrize(
    ("case", "build", "status"), TOKEN_RESPONSES, ids=[c for c, _, _ in TOKEN_RESPONSES]
)
def test_a_malformed_token_response_is_a_503(console, case, build, status) -> None:
    client = Client()
    response = sign_in(console, client, token=lambda nonce: build(console, nonce))
    refusal(case, response.status_code)
    assert response.status_code == status and b"cannot be reached" in response.content
    assert not signed_in(client)


def test_a_token_endpoint_refusal_is_a_400_without_the_provider_text(console) -> None:
    client = Client()
    state, _nonce = begin(client)
    console.answer(
        "/token",
        {"error": "invalid_grant", "error_description": "<b>Call +1-555-SCAM</b>"},
        status=400,
    )
    response = client.get(f"/oidc/callback/?code=c&state={state}")
    refusal("token endpoint refuses the code (invalid_grant)", response.status_code)
    assert response.status_code == 400 and b"did not accept the sign-in" in response.content
    assert b"SCAM" not in response.content


@pytest.mark.parametrize(
    ("case", "status", "body"),
    [
        ("token endpoint answers 500", 500, {"error": "server_error"}),
        ("token endpoint answers a redirect", 302, b""),
    ],
)
def test_a_broken_token_endpoint_is_a_503(console, case, status, body) -> None:
    client = Client()
    state, _nonce = begin(client)
    console.answer("/token", body, status=status)
    response = client.get(f"/oidc/callback/?code=c&state={state}")
    refusal(case, response.status_code)
    assert response.status_code == 503


def test_an_unreachable_token_endpoint_is_a_503(console) -> None:
    console.answer(
        "/.well-known/openid-configuration",
        {**console.discovery(), "token_endpoint": "http://127.0.0.1:9/token"},
    )
    response = sign_in(console)
    refusal("token endpoint unreachable", response.status_code)
    assert response.status_code == 503


def _key_set(idp: ScriptedProvider, case: str) -> Any:
    good = idp.public_jwk()
    return {
        "key set that is not JSON": b"keys?",
        "key set that is a JSON list": [good],
        "key set whose keys are not a list": {"keys": good},
        "key set whose keys have no kid": {"keys": [{k: v for k, v in good.items() if k != "kid"}]},
        "key set whose key is garbage": {"keys": [{**good, "n": 42}]},
        "key set with two keys under one kid": {"keys": [good, {**good, "e": "AQAB"}]},
        "key set of an unknown key type": {"keys": [{**good, "kty": "XYZ"}]},
    }[case]


@pytest.mark.parametrize(
    "case",
    [
        "key set that is not JSON",
        "key set that is a JSON list",
        "key set whose keys are not a list",
        "key set whose keys have no kid",
        "key set whose key is garbage",
        "key set with two keys under one kid",
        "key set of an unknown key type",
    ],
)
def test_a_malformed_key_set_is_a_503(console, case) -> None:
    console.answer("/jwks", _key_set(console, case))
    client = Client()
    response = sign_in(console, client)
    refusal(case, response.status_code)
    assert response.status_code == 503 and not signed_in(client)


def test_a_missing_key_set_is_a_503(console) -> None:
    console.answer("/jwks", {"error": "not found"}, status=404)
    response = sign_in(console)
    refusal("key set answers 404", response.status_code)
    assert response.status_code == 503


USERINFO_CASES: list[tuple[str, Any, int]] = [
    ("userinfo that is a JSON list", ["ana@example.com"], 503),
    ("userinfo that is not JSON", b"sub=scripted-ana", 503),
    ("userinfo about another subject", {"sub": "someone-else", "email": "ana@example.com"}, 400),
]


@pytest.mark.parametrize(
    ("case", "body", "status"), USERINFO_CASES, ids=[c for c, _, _ in USERINFO_CASES]
)
def test_a_malformed_userinfo_answer_is_refused(console, case, body, status) -> None:
    client = Client()
    response = sign_in(console, client, userinfo=body)
    refusal(case, response.status_code)
    assert response.status_code == status and not signed_in(client)


def test_a_signed_userinfo_answer_is_a_503_not_a_500(console) -> None:
    client = Client()
    state, nonce = begin(client)
    console.answer("/token", console.token_answer(console.id_token(nonce)))
    console.answer("/me", console.id_token(nonce).encode(), content_type="application/jwt")
    response = client.get(f"/oidc/callback/?code=c&state={state}")
    refusal("userinfo as a signed JWT (application/jwt)", response.status_code)
    assert response.status_code == 503


CLAIM_CASES: list[tuple[str, dict[str, Any], int]] = [
    ("e-mail claim that is a number", {"email": 42}, 400),
    ("e-mail claim that is a list", {"email": ["ana@example.com"]}, 400),
    ("e-mail claim missing", {"email": DROP}, 400),
    ('email_verified the string "false"', {"email_verified": "false"}, 403),
    ('email_verified the string "true"', {"email_verified": "true"}, 403),
    ("email_verified null", {"email_verified": None}, 403),
    ("email_verified 0", {"email_verified": 0}, 403),
    ("email_verified 1", {"email_verified": 1}, 403),
    ("email_verified missing", {"email_verified": DROP}, 403),
    ("email_verified false", {"email_verified": False}, 403),
    ("groups claim that is an object", {"groups": {"console-ops": True}}, 400),
    ("groups claim with a number in it", {"groups": ["console-ops", 7]}, 400),
    ("e-mail in a domain outside the allow-list", {"email": "eve@elsewhere.test"}, 403),
    ("e-mail in a look-alike domain (IDNA)", {"email": "ana@exämple.com"}, 403),
    ("e-mail in a fullwidth domain", {"email": "ana@\uff45xample.com"}, 403),
    ("e-mail with a trailing-dot domain", {"email": "ana@example.com."}, 403),
]


@pytest.mark.parametrize(
    ("case", "claims", "status"), CLAIM_CASES, ids=[c for c, _, _ in CLAIM_CASES]
)
def test_a_bad_claim_is_refused(console, case, claims, status) -> None:
    client = Client()
    response = sign_in(console, client, **claims)
    refusal(case, response.status_code)
    assert response.status_code == status and not signed_in(client)
    assert not SSOIdentity.objects.exists()


def test_a_groups_claim_that_is_one_string_is_accepted(console) -> None:
    response = sign_in(console, groups="console-ops")
    assert response.status_code == 302
    groups = User.objects.get(username="ana@example.com").groups.values_list("name", flat=True)
    assert list(groups) == ["Operations"]


DISCOVERY_CASES: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("discovery document that is a JSON list", lambda d: [d]),
    ("discovery document that is a JSON string", lambda d: "openid"),
    ("discovery document that is not JSON", lambda d: b"<html>maintenance</html>"),
    ("discovery document without a token endpoint", lambda d: {**d, "token_endpoint": DROP}),
    ("discovery document with a numeric token endpoint", lambda d: {**d, "token_endpoint": 42}),
    ("discovery document naming another issuer", lambda d: {**d, "issuer": "https://evil.example"}),
    ("discovery document with a javascript: endpoint", lambda d: {**d, "jwks_uri": "javascript:1"}),
    ("discovery document with a bad end-session URL", lambda d: {**d, "end_session_endpoint": 7}),
]


@pytest.mark.parametrize(("case", "change"), DISCOVERY_CASES, ids=[c for c, _ in DISCOVERY_CASES])
def test_a_malformed_discovery_document_is_a_503(console, case, change) -> None:
    document = change(console.discovery())
    if isinstance(document, dict):
        document = {k: v for k, v in document.items() if v is not DROP}
    console.answer("/.well-known/openid-configuration", document)
    response = Client().get("/oidc/authenticate/")
    refusal(case, response.status_code)
    assert response.status_code == 503 and b"cannot be reached" in response.content


def test_a_discovery_error_status_is_a_503(console) -> None:
    console.answer("/.well-known/openid-configuration", {"error": "down"}, status=500)
    response = Client().get("/oidc/authenticate/")
    refusal("discovery answers 500", response.status_code)
    assert response.status_code == 503


def test_an_oversized_answer_is_a_503(console) -> None:
    console.answer("/jwks", b"[" + b"1," * 200_000 + b"1]")
    response = sign_in(console)
    refusal("key set of 400 kB", response.status_code)
    assert response.status_code == 503
