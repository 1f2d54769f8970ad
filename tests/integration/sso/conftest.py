"""Single sign-on against a real OpenID Connect server (tests/oidc/provider.mjs, npm's
oidc-provider): its accounts and clients, the console configured for it, a staff member's browser.

The console runs in-process (Django's test client, settings from anchor_site/settings.py read with
the OIDC_* variables set); everything on the provider's side is real HTTP on loopback.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
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

from anchor_site import sso_provider
from staff.models import AuditEntry
from tests.oidc.server import Provider, running_provider, signing_key

SETTINGS_FILE = Path(__file__).resolve().parents[3] / "anchor_site" / "settings.py"
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
