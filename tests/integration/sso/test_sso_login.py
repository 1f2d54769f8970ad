"""Staff single sign-on against the real provider: the authorization-code flow with PKCE, its
refusals (state, nonce, issuer, audience, key, group, domain), session re-checks and sign-out.
Each refusal prints its status (`pytest -s`), for the issue's closing note.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from anchor_site import sso, sso_provider
from tests.integration.sso.conftest import (
    ACCOUNTS,
    CLIENTS,
    OTHER_SECRET,
    PASSWORD,
    Browser,
    audit_messages,
    console_groups,
    refusal,
    refused_because,
    sso_settings,
    with_params,
)
from tests.oidc.server import Provider, running_provider, signing_key

pytestmark = pytest.mark.django_db


def test_login_lands_in_the_mapped_group_with_pkce_and_an_audit_entry(configure, idp) -> None:
    configure()
    browser = Browser(idp)
    authorize = browser.start()
    query = dict(parse_qsl(urlsplit(authorize).query))
    assert authorize.startswith(f"{idp.issuer}/auth?")
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] and query["nonce"] and query["response_type"] == "code"

    page = browser.at_provider(authorize)
    back = browser.log_in_at_provider(page, "ana@example.com")
    response = browser.callback(back)

    assert response.status_code == 302 and response["Location"] == "/admin/"
    replay = browser.callback(back)  # the state was used up: the same answer twice is refused
    refusal("replayed callback (state used up)", replay.status_code)
    assert replay.status_code == 400
    user = User.objects.get(username="ana@example.com")
    assert user.is_staff and not user.is_superuser and not user.has_usable_password()
    assert console_groups("ana@example.com") == ["Support"]
    assert user.has_perm("projects.view_tenant_data")
    assert not user.has_perm("projects.edit_project")
    index = browser.console.get("/admin/")
    assert index.status_code == 200 and b"Find a tenant" in index.content
    messages = audit_messages("ana@example.com")
    assert any("Staff groups set by single sign-on" in m and "Support" in m for m in messages)
    assert "Signed in with Test IdP (single sign-on)" in messages


def test_the_login_page_offers_the_provider_and_keeps_passwords_for_superusers(
    configure, idp
) -> None:
    configure()
    User.objects.create_user("staff-pw", password="a-long-password-123", is_staff=True)
    User.objects.create_superuser("root", password="a-long-password-456")
    page = Client().get("/admin/login/?next=/admin/")
    assert b"Sign in with Test IdP" in page.content
    assert b'href="/oidc/authenticate/?next=%2Fadmin%2F"' in page.content
    assert b'name="password"' in page.content

    staff = Client().post(
        "/admin/login/?next=/admin/", {"username": "staff-pw", "password": "a-long-password-123"}
    )
    assert staff.status_code == 200 and b"errornote" in staff.content  # refused: not a superuser
    root = Client().post(
        "/admin/login/?next=/admin/", {"username": "root", "password": "a-long-password-456"}
    )
    assert root.status_code == 302 and root["Location"] == "/admin/"


def test_password_login_can_be_switched_off(configure, idp) -> None:
    configure(OIDC_PASSWORD_LOGIN="off")
    User.objects.create_superuser("root", password="a-long-password-456")
    page = Client().get("/admin/login/")
    assert b"Sign in with Test IdP" in page.content and b'name="password"' not in page.content
    root = Client().post("/admin/login/", {"username": "root", "password": "a-long-password-456"})
    assert root.status_code == 200  # the form again: no backend accepts the password


def test_without_an_issuer_nothing_changes(db) -> None:
    page = Client().get("/admin/login/")
    assert b"Sign in with" not in page.content and b'name="password"' in page.content
    assert Client().get("/oidc/authenticate/").status_code == 404


def test_a_wrong_state_is_refused(configure, idp, caplog) -> None:
    configure()
    browser = Browser(idp)
    page = browser.at_provider(browser.start())
    back = browser.log_in_at_provider(page, "ana@example.com")
    response = browser.callback(with_params(back, state="forged-state-0123456789abcdef"))
    refusal("wrong state", response.status_code)
    assert response.status_code == 400 and b"could not be verified" in response.content
    assert refused_because(caplog, "state not found")
    assert browser.console.get("/admin/").status_code == 302  # not signed in
    assert not User.objects.filter(username="ana@example.com").exists()


def test_a_wrong_nonce_is_refused(configure, idp, caplog) -> None:
    configure()
    browser = Browser(idp)
    # The provider signs whatever nonce the authorization request carried: not the session's.
    response = browser.sign_in(
        "ana@example.com", tamper=lambda url: with_params(url, nonce="another-nonce-0123456789")
    )
    refusal("wrong nonce", response.status_code)
    assert response.status_code == 400 and refused_because(caplog, "Nonce verification failed")
    assert browser.console.get("/admin/").status_code == 302
    assert not User.objects.filter(username="ana@example.com").exists()


def test_a_token_from_another_issuer_is_refused(configure, idp, other_idp, caplog) -> None:
    configure()
    document = sso_provider.discovery()
    # A mix-up: the endpoints answer for another issuer, whose token is signed with a key the
    # console's JWKS holds (so signature and nonce pass; only `iss` differs).
    sso_provider._discovered[idp.issuer] = {
        **document,
        "authorization_endpoint": f"{other_idp.issuer}/auth",
        "token_endpoint": f"{other_idp.issuer}/token",
        "userinfo_endpoint": f"{other_idp.issuer}/me",
    }
    browser = Browser(idp)
    browser.idp = other_idp
    response = browser.sign_in("ana@example.com")
    refusal("token from another issuer", response.status_code)
    assert response.status_code == 400
    assert refused_because(caplog, f"ID token from issuer '{other_idp.issuer}'")
    assert not User.objects.filter(username="ana@example.com").exists()


def test_a_token_for_another_audience_is_refused(configure, idp, caplog) -> None:
    configure()
    browser = Browser(idp)
    # The provider really issues the token to another client (aud=other-app), with this login's
    # nonce and the provider's signature; the console must not take it as its own.
    exchange = sso.SSOBackend.get_token

    def as_other_app(self, payload):
        return exchange(self, {**payload, "client_id": "other-app", "client_secret": OTHER_SECRET})

    with mock.patch.object(sso.SSOBackend, "get_token", as_other_app):
        response = browser.sign_in(
            "ana@example.com", tamper=lambda url: with_params(url, client_id="other-app")
        )
    refusal("token for another audience", response.status_code)
    assert response.status_code == 400
    assert refused_because(caplog, "ID token for audience 'other-app'")
    assert not User.objects.filter(username="ana@example.com").exists()


def test_a_code_issued_to_another_client_is_refused(configure, idp) -> None:
    configure()
    browser = Browser(idp)
    # Code injection: a code for other-app, redeemed with the console's credentials.
    response = browser.sign_in(
        "ana@example.com", tamper=lambda url: with_params(url, client_id="other-app")
    )
    refusal("code issued to another client", response.status_code)
    assert response.status_code == 400 and b"did not accept the sign-in" in response.content


def test_a_user_with_no_mapped_group_gets_the_403_page(configure, idp) -> None:
    configure()
    browser = Browser(idp)
    response = browser.sign_in("nina@example.com")
    refusal("no mapped group", response.status_code)
    assert response.status_code == 403
    assert b"Permission denied" in response.content and b"in no group" in response.content
    assert browser.console.get("/admin/").status_code == 302  # no half-working console
    assert not User.objects.get(username="nina@example.com").is_staff


def test_an_email_domain_outside_the_allow_list_is_refused(configure, idp) -> None:
    configure()
    browser = Browser(idp)
    response = browser.sign_in("eve@elsewhere.test")
    refusal("e-mail domain not allowed", response.status_code)
    assert response.status_code == 403 and b"elsewhere.test may not sign in" in response.content
    assert not User.objects.filter(email="eve@elsewhere.test").exists()


def test_removal_from_the_group_takes_effect_at_the_next_login(configure, idp) -> None:
    configure()
    assert Browser(idp).sign_in("oscar@example.com").status_code == 302
    assert console_groups("oscar@example.com") == ["Operations"]

    idp.update_account("oscar", groups=["console-support"])
    try:
        assert Browser(idp).sign_in("oscar@example.com").status_code == 302
        assert console_groups("oscar@example.com") == ["Support"]

        idp.update_account("oscar", groups=[])
        response = Browser(idp).sign_in("oscar@example.com")
        refusal("removed from every mapped group", response.status_code)
        assert response.status_code == 403
        user = User.objects.get(username="oscar@example.com")
        assert console_groups("oscar@example.com") == [] and not user.is_staff
    finally:
        idp.update_account("oscar", groups=["console-ops"])
    changes = [m for m in audit_messages("oscar@example.com") if "Staff groups set" in m]
    assert len(changes) == 3
    assert "groups: Operations → Support" in changes[1]
    assert "groups: Support → none" in changes[2] and "is_staff: True → False" in changes[2]


def test_session_refresh_locks_out_a_user_disabled_at_the_provider(configure, idp) -> None:
    configure()
    browser = Browser(idp)
    assert browser.sign_in("ana@example.com").status_code == 302
    expires = browser.console.session["oidc_id_token_expiration"]
    assert 14 * 60 < expires - time.time() <= 15 * 60  # re-checked at most every 15 minutes

    def fifteen_minutes_later() -> None:
        session = browser.console.session
        session["oidc_id_token_expiration"] = time.time() - 1
        session.save()

    # Still enabled: the re-check is silent (prompt=none) and the page comes back.
    fifteen_minutes_later()
    recheck = browser.console.get("/admin/")
    assert recheck.status_code == 302 and "prompt=none" in recheck["Location"]
    back = browser.at_provider(recheck["Location"])
    assert isinstance(back, str) and "code=" in back
    assert browser.callback(back)["Location"] == "/admin/"
    assert browser.console.get("/admin/").status_code == 200

    idp.update_account("ana", disabled=True)
    try:
        fifteen_minutes_later()
        recheck = browser.console.get("/admin/")
        back = browser.at_provider(recheck["Location"])
        assert isinstance(back, str) and "error=login_required" in back
        response = browser.callback(back)
        refusal("disabled at the provider (session re-check)", response.status_code)
        assert response.status_code == 302 and response["Location"] == "/admin/login/"
        after = browser.console.get("/admin/")
        assert after.status_code == 302 and after["Location"].startswith("/admin/login/")
    finally:
        idp.update_account("ana", disabled=False)
    assert "Session re-checked with Test IdP" in audit_messages("ana@example.com")


def test_logout_ends_the_session_at_the_provider_too(configure, idp) -> None:
    configure()
    browser = Browser(idp)
    assert browser.sign_in("ana@example.com").status_code == 302
    response = browser.console.post("/admin/logout/")
    assert response.status_code == 302
    end_session = response["Location"]
    assert end_session.startswith(f"{idp.issuer}/session/end?") and "id_token_hint=" in end_session
    assert browser.console.get("/admin/").status_code == 302  # signed out here

    # The provider asks to confirm, then ends its session and sends the browser back.
    confirm = browser.at_provider(end_session)
    assert confirm.status_code == 200, confirm.text[:500]
    form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', confirm.text))
    done = browser.provider.post(
        f"{idp.issuer}/session/end/confirm", data={**form, "logout": "yes"}, allow_redirects=False
    )
    assert done.headers["Location"] == "http://testserver/admin/login/"
    # Signing in again asks for the password: the provider's session is gone.
    page = browser.at_provider(browser.start())
    assert not isinstance(page, str) and 'name="password"' in page.text


@pytest.fixture(scope="module")
def stranger_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    """Another issuer with a key of its own (under the same key id as the real provider's)."""
    accounts = {sub: {**account, "password": PASSWORD} for sub, account in ACCOUNTS.items()}
    with running_provider(
        tmp_path_factory.mktemp("stranger-idp"),
        clients=CLIENTS,
        accounts=accounts,
        key=signing_key("test-key-1"),
    ) as provider:
        yield provider


def test_a_token_signed_by_another_key_is_refused(configure, idp, stranger_idp, caplog) -> None:
    configure()
    document = sso_provider.discovery()
    sso_provider._discovered[idp.issuer] = {
        **document,
        "authorization_endpoint": f"{stranger_idp.issuer}/auth",
        "token_endpoint": f"{stranger_idp.issuer}/token",
        "userinfo_endpoint": f"{stranger_idp.issuer}/me",
    }
    browser = Browser(idp)
    browser.idp = stranger_idp
    response = browser.sign_in("ana@example.com")
    refusal("token signed by a key not in the JWKS", response.status_code)
    assert response.status_code == 400 and refused_because(caplog, "verification failed")
    assert not User.objects.filter(username="ana@example.com").exists()


def test_a_session_recheck_applies_a_group_removal_at_once(configure, idp) -> None:
    configure()
    browser = Browser(idp)
    assert browser.sign_in("oscar@example.com").status_code == 302
    idp.update_account("oscar", groups=["marketing"])
    try:
        session = browser.console.session
        session["oidc_id_token_expiration"] = time.time() - 1
        session.save()
        back = browser.at_provider(browser.console.get("/admin/")["Location"])
        response = browser.callback(back)
        refusal("removed from the group (session re-check)", response.status_code)
        assert response.status_code == 403
        assert browser.console.get("/admin/").status_code == 302  # logged out, not half in
        assert console_groups("oscar@example.com") == []
    finally:
        idp.update_account("oscar", groups=["console-ops"])


def test_sso_never_signs_into_a_superuser_account(configure, idp) -> None:
    configure()
    User.objects.create_superuser("ana@example.com", password="a-long-password-789")
    response = Browser(idp).sign_in("ana@example.com")
    refusal("SSO into a superuser account", response.status_code)
    assert response.status_code == 403 and b"Superuser accounts sign in" in response.content


def test_an_unreachable_provider_is_a_503_and_superusers_can_still_log_in(configure, idp) -> None:
    configure(OIDC_ISSUER="http://127.0.0.1:9")  # nothing listens on the discard port
    response = Client().get("/oidc/authenticate/")
    refusal("provider unreachable", response.status_code)
    assert response.status_code == 503 and b"cannot be reached" in response.content
    User.objects.create_superuser("root", password="a-long-password-456")
    root = Client().post(
        "/admin/login/?next=/admin/", {"username": "root", "password": "a-long-password-456"}
    )
    assert root.status_code == 302 and root["Location"] == "/admin/"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"OIDC_CLIENT_SECRET": ""}, "OIDC_ISSUER is set: set OIDC_CLIENT_SECRET too."),
        ({"OIDC_ISSUER": "http://sso.example.com"}, "OIDC_ISSUER must be an https:// URL"),
        ({"OIDC_GROUP_MAP": "staff=Admins"}, "OIDC_GROUP_MAP maps to Admins"),
        ({"OIDC_PASSWORD_LOGIN": "everyone"}, "OIDC_PASSWORD_LOGIN must be superusers or off."),
        ({"OIDC_REFRESH_MINUTES": "60"}, "OIDC_REFRESH_MINUTES may be at most 15."),
    ],
)
def test_a_wrong_sso_setting_is_one_clear_line(variables: dict[str, str], message: str) -> None:
    from django.core.exceptions import ImproperlyConfigured

    environment = {
        "OIDC_ISSUER": "https://sso.example.com/realms/acme",
        "OIDC_CLIENT_ID": "anchor-console",
        "OIDC_CLIENT_SECRET": "secret",
        "OIDC_GROUP_MAP": "console-support=Support",
        "OIDC_ALLOWED_EMAIL_DOMAINS": "example.com",
        **variables,
    }
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        sso_settings(**environment)
