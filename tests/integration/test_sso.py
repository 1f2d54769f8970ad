"""Staff single sign-on against a real OpenID Connect server (tests/oidc/provider.mjs, npm's
oidc-provider): the authorization-code flow with PKCE driven over HTTP, the provider's login form
posted with `requests`, its redirects followed into the console's callback, ID tokens signed
RS256 and checked against the provider's JWKS.

The console runs in-process (Django's test client, settings from anchor_site/settings.py read with
the OIDC_* variables set); everything on the provider's side is real HTTP on loopback. Each
refusal prints its status (`pytest -s`), for the issue's closing note.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import clear_url_caches

from anchor_site import sso, sso_provider
from staff.models import AuditEntry
from tests.oidc.server import Provider, running_provider, signing_key

pytestmark = pytest.mark.django_db

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "anchor_site" / "settings.py"
SECRET = "console-client-secret-for-tests-only-0123456789"
OTHER_SECRET = "other-app-client-secret-for-tests-only-98765"
CALLBACK = "http://testserver/oidc/callback/"
PASSWORD = "idp-password-for-tests"
ACCOUNTS = {
    "ana": {"email": "ana@example.com", "name": "Ana Support", "groups": ["console-support"]},
    "oscar": {"email": "oscar@example.com", "name": "Oscar Ops", "groups": ["console-ops"]},
    "nina": {"email": "nina@example.com", "name": "Nina Marketing", "groups": ["marketing"]},
    "eve": {"email": "eve@elsewhere.test", "name": "Eve Outsider", "groups": ["console-ops"]},
    # Issue 27's borrowers: another identity with ana's address, and look-alike addresses.
    "ana-twin": {"email": "ana@example.com", "name": "Not Ana", "groups": ["console-ops"]},
    "ana-wide": {"email": "\uff41na@example.com", "name": "Wide Ana", "groups": ["console-ops"]},
    "kelvin-sign": {"email": "\u212aelvin@example.com", "groups": ["console-ops"]},
}
# Claim shapes the provider really sends (provider.mjs passes `claims` through as written).
_GROUPS = {"groups": ["console-support"], "name": "Shape Test"}
CLAIM_SHAPES = {
    "verified-string-false": (
        {"email": "vera@example.com", "email_verified": "false", **_GROUPS},
        403,
    ),
    "verified-null": ({"email": "vera@example.com", "email_verified": None, **_GROUPS}, 403),
    "verified-zero": ({"email": "vera@example.com", "email_verified": 0, **_GROUPS}, 403),
    "verified-missing": ({"email": "vera@example.com", **_GROUPS}, 403),
    "email-list": ({"email": ["vera@example.com"], "email_verified": True, **_GROUPS}, 400),
    "email-number": ({"email": 7, "email_verified": True, **_GROUPS}, 400),
    "groups-object": (
        {"email": "vera@example.com", "email_verified": True, "groups": {"console-ops": 1}},
        400,
    ),
}
CLIENTS = [
    {
        "client_id": "console",
        "client_secret": SECRET,
        "redirect_uris": [CALLBACK],
        "post_logout_redirect_uris": ["http://testserver/admin/login/"],
    },
    # Another application of the same company, registered with the same callback by mistake.
    {"client_id": "other-app", "client_secret": OTHER_SECRET, "redirect_uris": [CALLBACK]},
]


def refusal(case: str, status: int) -> None:
    print(f"\nREFUSAL {case}: HTTP {status}")


def refused_because(caplog: pytest.LogCaptureFixture, reason: str) -> bool:
    """The security log's refusal line names this reason."""
    return any(
        getattr(record, "event", None) == "sso_refused" and reason in record.getMessage()
        for record in caplog.records
    )


@pytest.fixture(scope="module")
def idp_key() -> dict[str, Any]:
    return signing_key("test-key-1")


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory, idp_key: dict[str, Any]) -> Iterator[Provider]:
    accounts = {sub: {**account, "password": PASSWORD} for sub, account in ACCOUNTS.items()}
    for sub, (claims, _status) in CLAIM_SHAPES.items():
        accounts[sub] = {"claims": claims, "password": PASSWORD}
    with running_provider(
        tmp_path_factory.mktemp("idp"), clients=CLIENTS, accounts=accounts, key=idp_key
    ) as provider:
        yield provider


@pytest.fixture(scope="module")
def other_idp(
    tmp_path_factory: pytest.TempPathFactory, idp_key: dict[str, Any]
) -> Iterator[Provider]:
    """Another issuer signing with the same key (so only the issuer check can tell them apart)."""
    accounts = {sub: {**account, "password": PASSWORD} for sub, account in ACCOUNTS.items()}
    with running_provider(
        tmp_path_factory.mktemp("other-idp"), clients=CLIENTS, accounts=accounts, key=idp_key
    ) as provider:
        yield provider


def sso_settings(**environment: str) -> dict[str, Any]:
    """anchor_site/settings.py evaluated afresh with these variables: its single sign-on block."""
    spec = importlib.util.spec_from_file_location("anchor_settings_probe", SETTINGS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(os.environ, environment):
        spec.loader.exec_module(module)
    names = [name for name in vars(module) if name.startswith("OIDC_")]
    names += ["AUTHENTICATION_BACKENDS", "MIDDLEWARE", "CONTENT_SECURITY_POLICY"]
    return {name: getattr(module, name) for name in [*names, "LOGIN_REDIRECT_URL"]}


def _reload_urls() -> None:
    import anchor_site.urls

    importlib.reload(anchor_site.urls)
    clear_url_caches()


@pytest.fixture
def configure(idp: Provider) -> Iterator[Callable[..., None]]:
    """configure(**variables): the console with single sign-on to `idp` (and these overrides)."""
    overrides: list[override_settings] = []

    def apply(**extra: str) -> None:
        environment = {
            "OIDC_ISSUER": idp.issuer,
            "OIDC_CLIENT_ID": "console",
            "OIDC_CLIENT_SECRET": SECRET,
            "OIDC_PROVIDER_NAME": "Test IdP",
            "OIDC_GROUP_MAP": "console-support=Support,console-ops=Operations",
            "OIDC_ALLOWED_EMAIL_DOMAINS": "example.com",
            **extra,
        }
        override = override_settings(**sso_settings(**environment))
        override.enable()
        overrides.append(override)
        sso_provider.forget_discovery()
        _reload_urls()

    yield apply
    for override in reversed(overrides):
        override.disable()
    sso_provider.forget_discovery()
    _reload_urls()


class Browser:
    """A staff member's browser: the console (Django's test client) and the provider (requests,
    with the provider's own cookies) in one."""

    def __init__(self, idp: Provider) -> None:
        self.idp = idp
        self.console = Client()
        self.provider = requests.Session()

    def at_provider(self, url: str) -> requests.Response | str:
        """Follow the provider's redirects: its page, or the console URL it sends us back to."""
        response = self.provider.get(url, allow_redirects=False, timeout=10)
        while response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if not location.startswith(self.idp.issuer):
                return location
            response = self.provider.get(location, allow_redirects=False, timeout=10)
        return response

    def log_in_at_provider(self, page: requests.Response, login: str) -> str:
        """Post the provider's login form; the console callback URL it redirects to."""
        assert page.status_code == 200 and 'name="password"' in page.text, page.text[:300]
        response = self.provider.post(
            page.url, data={"login": login, "password": PASSWORD}, allow_redirects=False
        )
        assert response.is_redirect, response.text[:300]
        back = self.at_provider(urljoin(response.url, response.headers["Location"]))
        assert isinstance(back, str), back.text[:300]
        return back

    def start(self) -> str:
        """The console's "Sign in with …" link: the provider's authorization URL it redirects to."""
        response = self.console.get("/oidc/authenticate/?next=/admin/")
        assert response.status_code == 302
        return response["Location"]

    def callback(self, url: str):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK, url
        return self.console.get(f"{parts.path}?{parts.query}")

    def sign_in(self, login: str, *, tamper: Callable[[str], str] | None = None):
        """The whole flow: the console's callback response at the end."""
        authorize = self.start()
        if tamper is not None:
            authorize = tamper(authorize)
        page = self.at_provider(authorize)
        assert not isinstance(page, str), f"no login form: sent straight back to {page}"
        return self.callback(self.log_in_at_provider(page, login))


def with_params(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def console_groups(email: str) -> list[str]:
    return sorted(User.objects.get(username=email).groups.values_list("name", flat=True))


def audit_messages(email: str) -> list[str]:
    user = User.objects.get(username=email)
    return [e.change_message for e in AuditEntry.objects.filter(user=user).order_by("pk")]


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
