"""Accounts pinned to the provider's identity, the session re-check guarding every method, and
sign-out ending the provider's session whatever `next` says (scripted provider).
"""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from anchor_site.models import SSOIdentity
from anchor_site.sso_claims import canonical_email
from tests.integration.sso.conftest import refusal
from tests.integration.sso_refusals.conftest import NOW, begin, sign_in, signed_in, sso_audit

pytestmark = pytest.mark.django_db


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
