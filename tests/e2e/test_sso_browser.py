"""Single sign-on end to end in real Chromium: a staff member signs in through the OpenID Connect
provider's own login page (tests/oidc/provider.mjs, npm's oidc-provider) and lands on the
dashboard in their mapped group, then signs out of the console and of the provider; signed in
again and disabled at the provider, their next POST once the session's re-check is due signs them
out.

The console is the production server (`manage.py serve`: gunicorn, DEBUG off) configured by its
OIDC_* environment variables, as README "Single sign-on" says, with its CSP (every violation is
counted: none allowed). It is spoken to over plain HTTP without a proxy (TRUST_PROXY_HEADERS,
SECURE_SSL_REDIRECT and SECURE_COOKIES off): the provider must send the browser back to the
redirect_uri the console names, and no TLS proxy is in front here to answer an https:// one
(tests/e2e/test_console_browser.py covers the proxied HTTPS settings; the in-process SSO tests run
with the `__Host-` cookie names). Screenshots go to test-artifacts/screenshots/sso-*.png.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.local import processes
from tests.e2e.axe import check_accessibility
from tests.e2e.stage import CHROMIUM, CHROMIUM_ARGS, CSP_WATCH, SCREENSHOTS, production_console
from tests.oidc.server import (
    Provider,
    cannot_run,
    require_provider,
    running_provider,
    signing_key,
)

pytestmark = pytest.mark.e2e

SECRET = "console-client-secret-for-the-browser-test-only-42"
PASSWORD = "idp-password-browser-test"


@dataclass
class Console:
    url: str
    log: Path
    database: Path


def make_recheck_due(database: Path, session_key: str) -> None:
    """Move the console's session past its OIDC_REFRESH_MINUTES, as 15 minutes' waiting would:
    its stored session, decoded and encoded as Django does (the test shares the SECRET_KEY)."""
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    with sqlite3.connect(database) as db:
        (data,) = db.execute(
            "SELECT session_data FROM django_session WHERE session_key = ?", (session_key,)
        ).fetchone()
        session = store.decode(data)
        assert session.get("oidc_id_token_expiration"), session.keys()
        session["oidc_id_token_expiration"] = time.time() - 1
        db.execute(
            "UPDATE django_session SET session_data = ? WHERE session_key = ?",
            (store.encode(session), session_key),
        )


@pytest.fixture(scope="module")
def console_and_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Console, Provider]]:
    require_provider()
    if not CHROMIUM.exists():
        cannot_run(f"{CHROMIUM} is missing (install Debian's chromium package)")
    folder = tmp_path_factory.mktemp("sso-console")
    port = processes.free_port()
    console = Console(
        url=f"http://127.0.0.1:{port}", log=folder / "server.log", database=folder / "db.sqlite3"
    )
    clients = [
        {
            "client_id": "anchor-console",
            "client_secret": SECRET,
            "redirect_uris": [f"{console.url}/oidc/callback/"],
            "post_logout_redirect_uris": [f"{console.url}/admin/login/"],
        }
    ]
    accounts = {
        "ana": {
            "email": "ana@example.com",
            "name": "Ana Support",
            "groups": ["console-support"],
            "password": PASSWORD,
        },
        "nina": {
            "email": "nina@example.com",
            "name": "Nina Marketing",
            "groups": ["marketing"],
            "password": PASSWORD,
        },
    }
    with (
        running_provider(
            folder, clients=clients, accounts=accounts, key=signing_key("browser-key")
        ) as idp,
        production_console(
            folder,
            port=port,
            env={
                "TRUST_PROXY_HEADERS": "false",
                "SECURE_SSL_REDIRECT": "false",
                "SECURE_COOKIES": "false",
                # README "Single sign-on": the whole configuration.
                "OIDC_ISSUER": idp.issuer,
                "OIDC_CLIENT_ID": "anchor-console",
                "OIDC_CLIENT_SECRET": SECRET,
                "OIDC_PROVIDER_NAME": "Example IdP",
                "OIDC_GROUP_MAP": "console-support=Support,console-ops=Operations",
                "OIDC_ALLOWED_EMAIL_DOMAINS": "example.com",
            },
        ) as served,
    ):
        assert served.base_url == console.url
        yield console, idp


def test_a_staff_member_signs_in_through_the_provider_and_out_again(console_and_idp) -> None:
    from playwright.sync_api import expect, sync_playwright

    console, idp = console_and_idp
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("sso-*.png"):
        old.unlink()
    violations: list[str] = []
    shots: list[Path] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.expose_function("reportCspViolation", lambda text: violations.append(text))
            context.add_init_script(CSP_WATCH)
            page = context.new_page()

            def shot(name: str) -> None:
                if page.url.startswith(console.url):  # the provider's own pages are not ours
                    check_accessibility(page, f"sso-{name}")
                path = SCREENSHOTS / f"sso-{len(shots) + 1:02d}-{name}.png"
                page.screenshot(path=str(path), full_page=True)
                shots.append(path)

            page.goto(f"{console.url}/admin/")
            sso_button = page.get_by_role("link", name="Sign in with Example IdP")
            expect(sso_button).to_be_visible()
            expect(page.get_by_text("Password login below is for superusers only.")).to_be_visible()
            shot("console-login")

            sso_button.click()
            page.wait_for_url(f"{idp.issuer}/interaction/**")
            expect(page.get_by_role("heading", name="Test identity provider")).to_be_visible()
            page.get_by_label("E-mail or account id").fill("ana@example.com")
            page.get_by_label("Password").fill(PASSWORD)
            shot("provider-login")
            page.get_by_role("button", name="Sign in").click()

            page.wait_for_url(f"{console.url}/admin/")
            expect(page.locator("#user-tools")).to_contain_text("Welcome, Ana Support")
            expect(page.get_by_role("link", name="Find a tenant")).to_be_visible()
            shot("dashboard-as-support")
            cookies = {c["name"]: c for c in context.cookies(console.url)}
            session = cookies["sessionid"]
            assert session["httpOnly"] and session["sameSite"] == "Lax"

            # Sign out: the console, then the provider's own confirmation, then the login page.
            page.get_by_role("button", name="Log out").click()
            page.wait_for_url(f"{idp.issuer}/session/end**")
            shot("provider-logout")
            page.get_by_role("button", name="Yes, sign me out").click()
            page.wait_for_url(f"{console.url}/admin/login/")
            expect(page.get_by_role("link", name="Sign in with Example IdP")).to_be_visible()
            shot("signed-out")

            # Signing in again asks for the password: the provider's session ended too. A
            # colleague outside the console's groups gets the 403 page, and no session.
            page.get_by_role("link", name="Sign in with Example IdP").click()
            page.wait_for_url(f"{idp.issuer}/interaction/**")
            page.get_by_label("E-mail or account id").fill("nina@example.com")
            page.get_by_label("Password").fill(PASSWORD)
            with page.expect_response(lambda r: "/oidc/callback/" in r.url) as callback:
                page.get_by_role("button", name="Sign in").click()
            assert callback.value.status == 403
            expect(page.get_by_text("is in no group that may use this console")).to_be_visible()
            shot("no-mapped-group-403")
            page.goto(f"{console.url}/admin/")
            expect(page.get_by_role("link", name="Sign in with Example IdP")).to_be_visible()

            context.close()

            # Ana signs in again (another browser: this one's provider session is Nina's) and
            # opens a form; meanwhile she is disabled at the provider and her session's re-check
            # falls due: the form's POST does not go through, the re-check (prompt=none) is
            # refused there, and she is signed out here.
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.expose_function("reportCspViolation", lambda text: violations.append(text))
            context.add_init_script(CSP_WATCH)
            page = context.new_page()
            page.goto(f"{console.url}/admin/")
            page.get_by_role("link", name="Sign in with Example IdP").click()
            page.wait_for_url(f"{idp.issuer}/interaction/**")
            page.get_by_label("E-mail or account id").fill("ana@example.com")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{console.url}/admin/")
            page.goto(f"{console.url}/admin/password_change/")
            expect(page.locator("#id_new_password1")).to_be_visible()
            idp.update_account("ana", disabled=True)
            session_id = {c["name"]: c for c in context.cookies(console.url)}["sessionid"]
            make_recheck_due(console.database, session_id["value"])
            page.locator("#id_old_password").fill("not-used-by-sso")
            page.locator("#id_new_password1").fill("a-New-password-123")
            page.locator("#id_new_password2").fill("a-New-password-123")
            with page.expect_response(lambda r: r.request.method == "POST") as posted:
                page.get_by_role("button", name="Change my password").click()
            assert posted.value.status == 303
            assert posted.value.headers["location"].startswith(f"{idp.issuer}/auth?")
            page.wait_for_url(f"{console.url}/admin/login/")
            expect(
                page.get_by_text("Your Example IdP session has ended. Sign in again.")
            ).to_be_visible()
            shot("signed-out-by-the-recheck")
            page.goto(f"{console.url}/admin/")
            expect(page.get_by_role("link", name="Sign in with Example IdP")).to_be_visible()
            context.close()
        finally:
            browser.close()
    print(f"\nscreenshots in {SCREENSHOTS}: {', '.join(p.name for p in shots)}")
    assert violations == [], violations
    log = console.log.read_text()
    assert "Traceback" not in log
