"""The pages that refuse, in real Chromium on the production server (moto's server, gunicorn,
DEBUG off, the CSP): a stored record the schema rejects, a page the staff member's groups do not
allow, the login locked after too many wrong passwords, and an address that does not exist.
Each is a page staff meet on a bad day, so each passes the accessibility gate (tests/e2e/axe.py)
in light and dark mode like every other page. Screenshots in test-artifacts/screenshots/refusals/.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from infra.core import aws
from infra.core.dynamo import to_item
from infra.core.resources import DEPLOYMENTS
from tests.e2e.axe import check_accessibility
from tests.e2e.stage import (
    PASSWORD,
    PROXY_HEADERS,
    SCREENSHOTS,
    TENANT,
    USERNAME,
    assert_styled,
    run,
    watch_csp,
)

pytestmark = pytest.mark.e2e
SHOTS = SCREENSHOTS / "refusals"
BROKEN = "dpl_e2ebroken0000000"
SUPPORT, SUPPORT_PASSWORD = "sam-support", "e2e-only-password-refusals-5c2"


def _store_a_malformed_deployment(stage, moto_server) -> None:
    """A deployment item another service wrote badly: a status the console does not know."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
        aws.reset_clients()
        try:
            aws.dynamodb().put_item(
                TableName=DEPLOYMENTS.name(),
                Item=to_item(
                    {
                        "PK": stage.docs_project_id,
                        "SK": f"DEPLOYMENT#2026-11-30T02:00:00.000Z#{BROKEN}",
                        "deploymentId": BROKEN,
                        "projectId": stage.docs_project_id,
                        "userId": TENANT,
                        "status": "exploded",
                        "createdAt": "2026-11-30T02:00:00.000Z",
                        "updatedAt": "yesterday",
                    }
                ),
            )
        finally:
            aws.reset_clients()


def _log_in(page, base_url: str, username: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("#anchor-find-q").first).to_be_visible()


def test_refusal_pages_say_what_is_wrong_and_pass_the_accessibility_gate(
    stage, moto_server, page, csp_violations
) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    shots: list[Path] = []

    def visit(name: str, on=None) -> None:
        """The page as it is now: screenshot, and axe in light and dark mode."""
        here = on or page
        path = SHOTS / f"{len(shots) + 1:02d}-{name}.png"
        here.screenshot(path=str(path), full_page=True)
        shots.append(path)
        check_accessibility(here, f"refusal-{name}")

    base = stage.base_url
    _store_a_malformed_deployment(stage, moto_server)
    _log_in(page, base, USERNAME, PASSWORD)

    # A record the schema rejects: the project page marks the row and shows every good one; the
    # deployment's own page shows what is stored, and offers no action.
    page.goto(f"{base}/admin/tenants/{TENANT}/projects/{stage.docs_project_id}/")
    expect(page.get_by_text("1 record could not be read")).to_be_visible()
    expect(page.locator("#content")).to_contain_text(stage.stuck.deployment_id)
    assert_styled(page)
    visit("project-with-unreadable-row")
    with page.expect_navigation():
        page.locator(".anchor-unreadable a").click()
    assert page.url == f"{base}/admin/tenants/{TENANT}/deployments/{BROKEN}/"
    expect(page.locator("#content h1")).to_have_text("Record could not be read")
    expect(page.locator("div.breadcrumbs")).to_contain_text(f"Tenant {TENANT}")
    expect(page.locator(".anchor-unreadable-problems li")).to_contain_text(
        ["Commit SHA is required", "Branch is required", "Status must be one of"]
    )
    expect(page.locator("#content")).to_contain_text("exploded")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    visit("unreadable-deployment")

    # A support colleague on an operations action: the admin-styled 403, not Django's bare one.
    run(
        [
            sys.executable,
            "-c",
            "import django; django.setup()\n"
            "from django.contrib.auth.models import Group, User\n"
            f"user = User.objects.create_user({SUPPORT!r}, password={SUPPORT_PASSWORD!r},"
            " is_staff=True)\n"
            "user.groups.add(Group.objects.get(name='Support'))\n",
        ],
        {**stage.env, "DJANGO_SETTINGS_MODULE": "anchor_site.settings"},
    )
    support = page.context.browser.new_context(
        viewport={"width": 1280, "height": 900}, extra_http_headers=PROXY_HEADERS
    )
    watch_csp(support, csp_violations)
    colleague = support.new_page()
    _log_in(colleague, base, SUPPORT, SUPPORT_PASSWORD)
    cancel = f"{base}/admin/tenants/{TENANT}/deployments/{stage.stuck.deployment_id}/cancel/"
    response = colleague.goto(cancel)
    assert response is not None and response.status == 403
    expect(colleague.locator("#content h1")).to_have_text("Permission denied")
    expect(colleague.locator(".errornote")).to_contain_text("staff groups do not allow")
    assert_styled(colleague)
    visit("permission-denied", on=colleague)
    support.close()

    # Five wrong passwords for one username from one address: the login is locked, HTTP 429.
    page.context.clear_cookies()
    for attempt in range(5):
        page.goto(f"{base}/admin/login/")
        page.fill("#id_username", "mallory")
        page.fill("#id_password", f"guess-{attempt}")
        with page.expect_response(lambda r: r.url.startswith(f"{base}/admin/login/")) as answer:
            page.click("input[type=submit]")
        if answer.value.status == 429:
            break
    assert answer.value.status == 429, answer.value.status
    expect(page.locator("#content h1")).to_have_text("Too many failed logins")
    expect(page.locator(".errornote")).to_contain_text("locked for 15 minutes")
    assert_styled(page)
    visit("login-locked")

    # Someone logged out on an address that does not exist: the console's page, with the login.
    response = page.goto(f"{base}/no-such-page")
    assert response is not None and response.status == 404
    expect(page.locator("#content h1")).to_have_text("Page not found")
    expect(page.get_by_role("link", name="Log in to the console")).to_be_visible()
    expect(page.locator("#anchor-find-q")).to_have_count(0)
    assert_styled(page)
    visit("not-found-logged-out")

    assert csp_violations == []
    print(f"\nscreenshots in {SHOTS}: {', '.join(p.name for p in shots)}")
