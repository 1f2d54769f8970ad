"""Accounts pinned to the identity, against the real provider: no borrowing an account by its
address, claims of the wrong shape refused, sign-out routes that end the provider's session.
"""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User

from tests.integration.sso.conftest import (
    ACCOUNTS,
    CLAIM_SHAPES,
    Browser,
    audit_messages,
    console_groups,
    refusal,
)

pytestmark = pytest.mark.django_db


# --- Issue 27 against the real provider -----------------------------------------------------------


def test_a_second_identity_with_the_same_address_cannot_borrow_the_account(configure, idp) -> None:
    configure()
    assert Browser(idp).sign_in("ana").status_code == 302
    ana = User.objects.get(username="ana@example.com")
    assert ana.sso_identity.subject == "ana"
    twin = Browser(idp)
    response = twin.sign_in("ana-twin")
    refusal("second provider identity with the same e-mail (real provider)", response.status_code)
    assert response.status_code == 403 and twin.console.get("/admin/").status_code == 302
    assert console_groups("ana@example.com") == ["Support"]  # not rewritten to the twin's
    assert any("linked to another identity" in m for m in audit_messages("ana@example.com"))


@pytest.mark.parametrize(
    ("login", "account"),
    [("ana-wide", "ana@example.com"), ("kelvin-sign", "kelvin@example.com")],
)
def test_a_look_alike_address_cannot_borrow_a_staff_account(configure, idp, login, account) -> None:
    configure()
    User.objects.create_user(account, email=account)  # made by hand before single sign-on
    browser = Browser(idp)
    response = browser.sign_in(login)
    refusal(
        f"look-alike address {ACCOUNTS[login]['email']!r} (real provider)", response.status_code
    )
    assert response.status_code == 403 and browser.console.get("/admin/").status_code == 302
    assert not User.objects.get(username=account).groups.exists()
    assert any("not plain ASCII" in m for m in audit_messages(account))


@pytest.mark.parametrize("login", list(CLAIM_SHAPES))
def test_a_claim_of_the_wrong_shape_is_refused(configure, idp, login) -> None:
    configure()
    User.objects.create_user("vera@example.com", email="vera@example.com")  # hand-made
    browser = Browser(idp)
    response = browser.sign_in(login)
    _claims, status = CLAIM_SHAPES[login]
    refusal(f"claim shape {login} (real provider)", response.status_code)
    assert response.status_code == status, response.content[:300]
    assert browser.console.get("/admin/").status_code == 302
    assert not hasattr(User.objects.get(username="vera@example.com"), "sso_identity")


def test_a_changed_address_keeps_the_sign_in_in_its_own_account(configure, idp) -> None:
    configure()
    assert Browser(idp).sign_in("ana").status_code == 302
    assert Browser(idp).sign_in("oscar").status_code == 302
    idp.update_account("ana", email="oscar@example.com")
    try:
        browser = Browser(idp)
        assert browser.sign_in("ana").status_code == 302
        ana = User.objects.get(username="ana@example.com")
        assert browser.console.session["_auth_user_id"] == str(ana.pk)
        assert console_groups("oscar@example.com") == ["Operations"]
    finally:
        idp.update_account("ana", email="ana@example.com")


def test_an_account_made_by_the_old_sso_is_linked_at_its_next_sign_in(configure, idp) -> None:
    configure()
    old = User.objects.create_user("ana@example.com", email="ana@example.com")  # no password
    assert Browser(idp).sign_in("ana@example.com").status_code == 302
    old.refresh_from_db()
    assert old.sso_identity.subject == "ana" and old.sso_identity.issuer == idp.issuer
    assert User.objects.filter(username__iexact="ana@example.com").count() == 1


def test_a_post_after_the_account_is_disabled_ends_the_session(configure, idp) -> None:
    configure()
    browser = Browser(idp)
    assert browser.sign_in("ana").status_code == 302
    idp.update_account("ana", disabled=True)
    try:
        session = browser.console.session
        session["oidc_id_token_expiration"] = time.time() - 1
        session.save()
        post = browser.console.post("/admin/auth/user/", {"anything": "1"})
        refusal("POST with the re-check due, disabled at the provider", post.status_code)
        assert post.status_code == 303 and "prompt=none" in post["Location"]
        back = browser.at_provider(post["Location"])
        assert isinstance(back, str) and "error=login_required" in back
        response = browser.callback(back)
        assert response.status_code == 302 and response["Location"] == "/admin/login/"
        after = browser.console.post("/admin/auth/user/")
        assert after.status_code == 302 and after["Location"].startswith("/admin/login/")
    finally:
        idp.update_account("ana", disabled=False)


@pytest.mark.parametrize("url", ["/admin/logout/?next=https://evil.example/", "/oidc/logout/"])
def test_every_sign_out_route_ends_the_providers_session(configure, idp, url) -> None:
    configure()
    browser = Browser(idp)
    assert browser.sign_in("ana").status_code == 302
    response = browser.console.post(url)
    refusal(f"sign-out POST {url} (real provider)", response.status_code)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{idp.issuer}/session/end?")
    confirm = browser.at_provider(response["Location"])
    assert confirm.status_code == 200 and "logout" in confirm.text.lower()
    assert browser.console.get("/admin/").status_code == 302
