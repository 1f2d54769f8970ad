"""Single sign-on against a scripted provider (tests/oidc/scripted.py): every malformed or hostile
discovery document, key set, token response, ID token and userinfo answer, served over real HTTP,
is refused with a 4xx or a 503 and never a 500; accounts are pinned to the provider's identity;
the session re-check guards every method; sign-out ends the provider's session whatever `next`
says. Hypothesis generates hostile values for every claim and every document.

Each case prints its status (`pytest -s | grep REFUSAL`) for the issue's closing note.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anchor_site import sso_provider
from anchor_site.models import SSOIdentity
from anchor_site.sso_claims import canonical_email
from staff.models import AuditEntry, AuditKind
from tests.integration.test_sso import _reload_urls, refusal, sso_settings
from tests.oidc.scripted import CLIENT_ID, DROP, ScriptedProvider, scripted_provider

pytestmark = pytest.mark.django_db

SECRET = "scripted-client-secret-for-tests-only-0123456789"
FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
USER_CLAIMS = ("sub", "email", "email_verified", "name", "groups")


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

NOW = int(time.time())


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


# --- 1. Accounts pinned to the identity -----------------------------------------------------------


def test_a_hand_made_account_is_linked_at_its_first_sign_in_and_found_by_identity_after(
    console,
) -> None:
    ana = User.objects.create_user("ana@example.com", email="ana@example.com", password="x" * 20)
    assert sign_in(console, email="Ana@EXAMPLE.com").status_code == 302
    identity = SSOIdentity.objects.get(user=ana)
    assert (identity.issuer, identity.subject) == (console.issuer, "scripted-ana")
    assert any("Account linked to its Scripted IdP identity" in m for m in sso_audit(ana))

    # The provider changes ana's address to oscar's: the sign-in stays in ana's account.
    oscar = User.objects.create_user("oscar@example.com", email="oscar@example.com")
    client = Client()
    assert sign_in(console, client, email="oscar@example.com").status_code == 302
    assert client.session["_auth_user_id"] == str(ana.pk)
    assert not SSOIdentity.objects.filter(user=oscar).exists()
    identity.refresh_from_db()
    assert identity.email == "oscar@example.com"


def test_a_second_identity_with_the_same_address_is_refused_and_audited(console) -> None:
    assert sign_in(console).status_code == 302  # scripted-ana, linked
    ana = User.objects.get(username="ana@example.com")
    client = Client()
    response = sign_in(console, client, sub="ana-impostor")
    refusal("second identity with the same e-mail address", response.status_code)
    assert response.status_code == 403 and b"linked to another" in response.content
    assert not signed_in(client)
    assert any("linked to another identity" in m and "ana-impostor" in m for m in sso_audit(ana))
    assert SSOIdentity.objects.count() == 1


@pytest.mark.parametrize(
    ("case", "address", "account"),
    [
        (
            "fullwidth letter lower-casing to a staff address",
            "\uff41na@example.com",
            "ana@example.com",
        ),
        (
            "Kelvin sign lower-casing to a staff address",
            "\u212aelvin@example.com",
            "kelvin@example.com",
        ),
    ],
)
def test_a_look_alike_address_never_reaches_the_account_it_resembles(
    console, case, address, account
) -> None:
    target = User.objects.create_user(account, email=account)
    client = Client()
    response = sign_in(console, client, email=address, sub=f"attacker-{account}")
    refusal(case, response.status_code)
    assert response.status_code == 403 and not signed_in(client)
    assert not SSOIdentity.objects.exists()
    assert canonical_email(address) is None  # refused by the one normalisation's ASCII rule
    assert any("not plain ASCII" in m for m in sso_audit(target))  # and the target is told


def test_an_unverified_address_never_links_a_hand_made_account(console) -> None:
    ana = User.objects.create_user("ana@example.com", email="ana@example.com")
    response = sign_in(console, email_verified="false")
    refusal('first link with email_verified "false"', response.status_code)
    assert response.status_code == 403
    assert not SSOIdentity.objects.exists()
    assert any("email_verified is 'false'" in m for m in sso_audit(ana))


def test_an_address_shared_by_two_accounts_links_neither(console) -> None:
    one = User.objects.create_user("ana", email="ana@example.com")
    two = User.objects.create_user("ana@example.com")
    response = sign_in(console)
    refusal("address of two hand-made accounts", response.status_code)
    assert response.status_code == 403 and not SSOIdentity.objects.exists()
    assert sso_audit(one) and sso_audit(two)


def test_a_hand_made_superuser_is_never_linked(console) -> None:
    User.objects.create_superuser("ana@example.com", email="ana@example.com", password="p" * 20)
    response = sign_in(console)
    refusal("first link to a superuser account", response.status_code)
    assert response.status_code == 403 and not SSOIdentity.objects.exists()


def test_the_command_lists_the_accounts_not_yet_linked(console, capsys) -> None:
    User.objects.create_user("ana@example.com", email="ana@example.com")  # made by the old SSO
    User.objects.create_user("bob", email="Bob@Example.com", password="p" * 20)
    User.objects.create_user("gone@example.com", is_active=False)
    call_command("sso_unlinked")
    before = capsys.readouterr().out
    assert "ana@example.com" in before and "bob" in before and "gone@" not in before

    assert sign_in(console).status_code == 302  # ana's next sign-in links her account
    call_command("sso_unlinked", "--json")
    import json

    rows = json.loads(capsys.readouterr().out)
    assert [row["username"] for row in rows] == ["bob"]
    assert rows[0]["links_as"] == "bob@example.com" and rows[0]["has_password"] is True


# --- 2. The session re-check guards every method --------------------------------------------------


def _recheck_due(client: Client) -> None:
    session = client.session
    session["oidc_id_token_expiration"] = time.time() - 1
    session.save()


def test_a_due_recheck_holds_back_every_method(console) -> None:
    client = Client()
    assert sign_in(console, client).status_code == 302
    _recheck_due(client)
    page = "/admin/auth/user/"
    for method in ("get", "head", "post", "put", "patch", "delete", "options"):
        response = getattr(client, method)(page)
        refusal(f"re-check due, {method.upper()} from a browser", response.status_code)
        assert response.status_code in {302, 303}, (method, response.status_code)
        assert response["Location"].startswith(f"{console.issuer}/auth?")
        assert "prompt=none" in response["Location"]
    xhr = client.post(page, headers={"x-requested-with": "XMLHttpRequest"})
    script = client.get(page, headers={"accept": "application/json"})
    for name, response in (("XHR POST", xhr), ("JSON GET", script)):
        refusal(f"re-check due, {name}", response.status_code)
        assert response.status_code == 403 and response.json()["error"] == "session re-check due"

    # The provider says the account is gone: the session ends, whatever the next method is.
    recheck = client.post(page)
    state = dict(parse_qsl(urlsplit(recheck["Location"]).query))["state"]
    back = client.get(f"/oidc/callback/?error=login_required&state={state}")
    assert back.status_code == 302 and back["Location"] == "/admin/login/"
    after = client.post(page)
    refusal("POST after the refused re-check", after.status_code)
    assert after.status_code == 302 and after["Location"].startswith("/admin/login/")
    assert not signed_in(client)


def test_a_recheck_whose_token_fails_ends_the_session(console) -> None:
    client = Client()
    assert sign_in(console, client).status_code == 302
    _recheck_due(client)
    recheck = client.post("/admin/")
    query = dict(parse_qsl(urlsplit(recheck["Location"]).query))
    console.answer("/token", console.token_answer(console.id_token(query["nonce"], exp=NOW - 999)))
    response = client.get(f"/oidc/callback/?code=c&state={query['state']}")
    refusal("re-check answered with an expired ID token", response.status_code)
    assert response.status_code == 400 and not signed_in(client)


# --- 4. Sign-out and the callback's error ---------------------------------------------------------


def test_a_foreign_error_on_the_callback_changes_nothing_and_shows_nothing(console) -> None:
    client = Client()
    assert sign_in(console, client).status_code == 302
    for query in (
        "error=access_denied&error_description=Call%20%2B1-555-SCAM",
        "error=%3Cscript%3Ealert(1)%3C/script%3E&state=forged",
    ):
        response = client.get(f"/oidc/callback/?{query}")
        refusal(
            f"callback error without this session's state ({query[:20]}…)", response.status_code
        )
        assert response.status_code == 400
        assert b"SCAM" not in response.content and b"<script>" not in response.content
        assert signed_in(client)  # the session is untouched


def test_the_providers_error_text_is_never_shown(console) -> None:
    client = Client()
    state, _nonce = begin(client)
    response = client.get(
        f"/oidc/callback/?error=access_denied&error_description=Call%20%2B1-555-SCAM&state={state}",
        follow=True,
    )
    assert b"SCAM" not in response.content
    assert b"The sign-in with Scripted IdP was cancelled or refused" in response.content


@pytest.mark.parametrize(
    ("case", "url"),
    [
        ("POST /oidc/logout/", "/oidc/logout/"),
        ("POST /admin/logout/", "/admin/logout/"),
        ("POST /admin/logout/?next=/admin/", "/admin/logout/?next=/admin/"),
        (
            "POST /admin/logout/?next=https://evil.example/",
            "/admin/logout/?next=https://evil.example/",
        ),
        (
            "POST /oidc/logout/?next=https://evil.example/",
            "/oidc/logout/?next=https://evil.example/",
        ),
    ],
)
def test_sign_out_ends_the_provider_session_whatever_next_says(console, case, url) -> None:
    client = Client()
    assert sign_in(console, client).status_code == 302
    _recheck_due(client)  # signing out works even when a re-check is due
    response = client.post(url)
    refusal(f"sign-out by {case}", response.status_code)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{console.issuer}/session/end?")
    assert "id_token_hint=" in response["Location"]
    assert not signed_in(client)


def test_the_sign_out_route_refuses_get_and_forged_posts(console) -> None:
    client = Client(enforce_csrf_checks=True)
    assert sign_in(console, client).status_code == 302
    get = client.get("/oidc/logout/")
    forged = client.post("/oidc/logout/")
    refusal("GET /oidc/logout/", get.status_code)
    refusal("POST /oidc/logout/ without a CSRF token", forged.status_code)
    assert get.status_code == 405 and forged.status_code == 403
    assert signed_in(client)
    anonymous = Client().post("/oidc/logout/")
    assert anonymous.status_code == 302 and anonymous["Location"] == "/admin/login/"


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
