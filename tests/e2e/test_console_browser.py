"""The console end to end in real Chromium: moto server, the production server, and a staff
member's day.

Everything runs for real on loopback: moto's server for DynamoDB and S3, the stage provisioned
from infra.core.resources, a SQLite file for Django, `manage.py serve` (what `make serve` runs:
collectstatic, gunicorn, WhiteNoise, DEBUG off, JSON logs) and Debian's chromium driven by
Playwright. The browser plays the TLS-terminating proxy's part by sending X-Forwarded-Proto, so
the production settings (HTTPS redirect, Secure `__Host-` cookies, HSTS, CSP) all apply; every
Content-Security-Policy violation the browser reports is counted, and there must be none.
Every page the test visits also passes axe-core's WCAG 2.1 AA rules in light and dark mode
(tests/e2e/axe.py; the table is printed at the end), and one flow is done by keyboard alone.
Screenshots of every page go to test-artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.axe import check_accessibility
from tests.e2e.stage import (
    HISTORY,
    PASSWORD,
    PROXY_HEADERS,
    SCREENSHOTS,
    TENANT,
    USERNAME,
    Stage,
    assert_styled,
    watch_csp,
)

pytestmark = pytest.mark.e2e


class Shots:
    """Numbered full-page screenshots; `both` adds the same page in dark mode."""

    def __init__(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()
        self.taken: list[Path] = []

    def __call__(self, page, name: str) -> None:
        path = SCREENSHOTS / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)

    def both(self, page, name: str) -> None:
        dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            self(page, f"{name}-{scheme}")
        page.emulate_media(color_scheme="dark" if dark else "light")


def _fill_reason(page) -> None:
    """Every staff action asks for a reason (3 to 500 characters): give one."""
    page.locator("form [name=reason]").fill("Requested by the tenant in ticket 4711")


def test_a_staff_member_finds_a_tenant_reads_a_log_and_cancels_a_queued_deployment(
    stage: Stage, page, csp_violations: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from playwright.sync_api import expect

    shot = Shots()

    def visit(name: str, *, both: bool = False) -> None:
        """The page as it is now: screenshot(s), and axe in light and dark mode."""
        (shot.both if both else shot)(page, name)
        check_accessibility(page, name)

    # Log in through the admin's own login page.
    page.goto(f"{stage.base_url}/admin/")
    expect(page.locator("#id_username")).to_be_visible()
    assert_styled(page)
    visit("login")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#anchor-find-q").first).to_be_visible()
    assert_styled(page)
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["__Host-sessionid"]["secure"] and cookies["__Host-sessionid"]["httpOnly"]
    favicon = page.locator("link[rel=icon]").get_attribute("href")
    assert re.fullmatch(r"/static/anchor/favicon\.[0-9a-f]{12}\.svg", favicon), favicon
    visit("dashboard-index", both=True)

    # Find the tenant by its userId.
    page.locator("#anchor-find-q").first.fill(TENANT)
    page.locator("form.anchor-find input[type=submit]").first.click()
    expect(page.locator("h1")).to_contain_text(TENANT)
    project_link = page.locator("#projects").get_by_role("link", name="storefront", exact=True)
    expect(project_link).to_be_visible()
    visit("tenant", both=True)

    # Open the project: 25 deployments on the first page, the rest on the second.
    project_link.click()
    expect(page.locator("h1")).to_have_text("storefront")
    rows = page.locator("#deployments table tbody tr")
    expect(rows).to_have_count(25)
    expect(page.locator("svg").filter(has=page.locator("rect")).first).to_be_visible()
    visit("project-page-1", both=True)
    # The chart's counts open as a table, no pointer needed to read them.
    page.get_by_text("Show the counts as a table").click()
    expect(page.locator(".anchor-chart-table tbody tr")).to_have_count(30)
    visit("project-chart-table")
    page.locator("#deployments a[rel=next]").click()
    expect(rows).to_have_count(HISTORY + 1 - 25)
    expect(page.locator("#deployments a[rel=prev]")).to_be_visible()
    visit("project-page-2")
    page.locator("#deployments nav").get_by_role("link", name="error", exact=True).click()
    expect(page.locator("#deployments-heading")).to_have_text("Deployments (error)")
    expect(rows).to_have_count(HISTORY // 5)
    visit("project-filtered-error")

    # Open a deployment of the second page, with its build log and artifacts.
    logged_id = stage.logged.deployment_id
    page.goto(f"{stage.base_url}/admin/tenants/{TENANT}/projects/{stage.project_id}/")
    page.locator("#deployments a[rel=next]").click()
    page.locator("#deployments").get_by_role("link", name=stage.logged.deployment_id).click()
    expect(page.locator("h1")).to_contain_text(stage.logged.deployment_id)
    log = page.locator("pre.anchor-log")
    expect(log).to_contain_text("Deployment ready")
    expect(log).not_to_contain_text("[082] compiling")  # the last 200 of 283 lines
    expect(log).to_contain_text("[083] compiling")
    expect(page.get_by_text("The last 200 lines of")).to_be_visible()
    expect(page.get_by_role("link", name="Download the full log")).to_be_visible()
    expect(page.get_by_role("link", name="static/app.js")).to_be_visible()
    visit("deployment-with-log", both=True)

    # The download link redirects to a presigned URL that serves the whole log.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the full log").click()
    download = download_info.value
    assert download.suggested_filename == f"{stage.logged.deployment_id}-build.log"
    assert "[001] compiling route" in Path(download.path()).read_text()

    # Back to the project (breadcrumbs name it) and cancel its queued deployment, confirming first.
    page.locator(".breadcrumbs").get_by_role("link", name="storefront", exact=True).click()
    expect(rows).to_have_count(25)
    page.locator("#deployments").get_by_role("link", name=stage.queued.deployment_id).click()
    expect(page.locator(".badge-queued").first).to_be_visible()
    expect(page.get_by_text("No build log is stored for this deployment yet")).to_be_visible()
    visit("deployment-queued")
    page.get_by_role("link", name="Cancel deployment").click()
    expect(page.get_by_text("Cancel this deployment?")).to_be_visible()
    visit("cancel-confirmation", both=True)
    _fill_reason(page)
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.locator("ul.messagelist li.success")).to_have_text(
        f"Canceled deployment {stage.queued.deployment_id}."
    )
    expect(page.locator(".anchor-fields .badge-canceled")).to_have_text("canceled")
    expect(page.get_by_role("link", name="Cancel deployment")).to_have_count(0)
    visit("deployment-canceled")

    assert re.fullmatch(r".*/deployments/dpl_[0-9a-z]{16}/", page.url)

    # A build stuck for two hours carries the badge, and may be marked as error.
    page.goto(f"{stage.base_url}/admin/tenants/{TENANT}/deployments/{stage.stuck.deployment_id}/")
    expect(page.locator(".anchor-fields .badge-stuck")).to_have_text("stuck")
    visit("deployment-stuck")
    page.get_by_role("link", name="Mark deployment as error").click()
    expect(page.get_by_role("button", name="Yes, mark it as error")).to_be_visible()
    visit("fail-confirmation")

    # The audit record shows among the admin's recent actions.
    page.get_by_role("link", name="Home").first.click()
    expect(page.locator("#recent-actions-module")).to_contain_text(stage.queued.deployment_id)
    visit("index-recent-actions")

    # The other pages staff open, under the same policy: the project form (as it is, refused,
    # and stale), the audit trail with its filters and an entry, Find's answers, error pages.
    edit_url = f"{stage.base_url}/admin/tenants/{TENANT}/projects/{stage.docs_project_id}/edit/"
    page.goto(edit_url)
    expect(page.locator("form input[name=name]")).to_be_visible()
    visit("project-edit", both=True)
    page.locator("form input[name=name]").fill("x" * 51)
    _fill_reason(page)
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-name .errorlist")).to_have_text(
        "Name must be at most 50 characters."
    )
    visit("project-edit-invalid")
    stale = page.context.new_page()
    try:
        stale.goto(edit_url)  # a second tab opened on the same version
        page.goto(edit_url)
        page.locator("form input[name=branch]").fill("release")
        _fill_reason(page)
        page.get_by_role("button", name="Save").click()
        expect(page.locator("ul.messagelist li.success")).to_contain_text("Saved project")
        stale.locator("form input[name=branch]").fill("develop")
        _fill_reason(stale)
        stale.get_by_role("button", name="Save").click()
        expect(stale.locator("#conflict-heading")).to_contain_text("Conflict")
        expect(stale.locator("form input[name=branch]")).to_have_value("release")
        shot(stale, "project-edit-conflict")
        check_accessibility(stale, "project-edit-conflict")
    finally:
        stale.close()

    page.goto(f"{stage.base_url}/admin/audit/")
    expect(page.locator("table.anchor-audit")).to_contain_text(stage.queued.deployment_id)
    assert_styled(page)
    visit("audit-trail")
    page.goto(f"{stage.base_url}/admin/audit/?kind=cancel&tenant={TENANT}")
    expect(page.locator("table.anchor-audit tbody tr")).to_have_count(1)
    visit("audit-trail-filtered")
    page.goto(f"{stage.base_url}/admin/admin/logentry/")
    expect(page.locator("#content h1")).to_be_visible()
    visit("staff-account-changes")

    page.goto(f"{stage.base_url}/admin/find/")
    expect(page.get_by_role("heading", name="What you can find")).to_be_visible()
    visit("find")
    page.goto(f"{stage.base_url}/admin/find/?q=two+words")
    box = page.locator("#anchor-find-q")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_attribute("aria-describedby", "anchor-find-error")
    expect(page.locator("#anchor-find-error")).to_contain_text("That is not a tenant userId")
    visit("find-not-an-id")
    page.goto(f"{stage.base_url}/admin/find/?q=dpl_doesnotexist00000")
    expect(page.locator("#anchor-find-error")).to_have_text("No project or deployment has this id.")
    visit("find-nothing")
    page.goto(f"{stage.base_url}/admin/tenants/nobody-here/")
    expect(page.locator(".errornote")).to_contain_text("No projects or deployments are stored")
    visit("error-404-tenant")
    page.goto(f"{stage.base_url}/admin/tenants/{TENANT}/projects/{stage.project_id}/?status=nope")
    expect(page.locator(".errornote")).to_be_visible()
    visit("error-400-filter")
    response = page.goto(f"{stage.base_url}/admin/no-such-page/")
    assert response is not None and response.status == 404
    expect(page.locator("#content h1")).to_have_text("Page not found")
    assert_styled(page)  # the console's page, not Django's bare "Not Found"
    visit("error-404-admin")
    page.goto(f"{stage.base_url}/admin/password_change/")
    expect(page.locator("#id_old_password")).to_be_visible()
    visit("password-change")

    # Pages on a phone (390 px) in light and dark mode, through the same session: the status
    # column is on screen without scrolling sideways.
    phone = page.context.browser.new_context(
        viewport={"width": 390, "height": 844},
        color_scheme="dark",
        storage_state=page.context.storage_state(),
        extra_http_headers=PROXY_HEADERS,
    )
    watch_csp(phone, csp_violations)
    try:
        small = phone.new_page()
        small.goto(f"{stage.base_url}/admin/tenants/{TENANT}/deployments/{logged_id}/")
        expect(small.locator("pre.anchor-log")).to_contain_text("Deployment ready")
        background = small.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background != "rgb(255, 255, 255)"  # the admin's dark theme applies
        shot.both(small, "phone-deployment")
        check_accessibility(small, "phone-deployment")
        for name, path in (
            ("phone-tenant", f"/admin/tenants/{TENANT}/"),
            ("phone-project", f"/admin/tenants/{TENANT}/projects/{stage.docs_project_id}/"),
        ):
            small.goto(stage.base_url + path)
            status = small.locator("#deployments tbody tr .badge").first
            expect(status).to_be_visible()
            # Within the screen's width while the table is not scrolled sideways.
            right = status.evaluate(
                "el => el.closest('.anchor-table-wrap').scrollLeft === 0"
                " ? el.getBoundingClientRect().right : null"
            )
            assert right is not None and 0 < right <= 390, (name, right)
            shot.both(small, name)
            check_accessibility(small, name)
    finally:
        phone.close()

    # Not one script, style, image or font the policy refused, on any page (axe included).
    assert csp_violations == []
    _assert_served_like_production(stage, page)

    # Last, the logged-out page.
    page.goto(f"{stage.base_url}/admin/")
    page.locator("#logout-form button").click()
    expect(page.locator("#content h1")).to_be_visible()
    visit("logged-out")
    assert csp_violations == []
    with capsys.disabled():
        print(f"\nscreenshots in {SCREENSHOTS}:")
        for path in shot.taken:
            print(f"  {path.name}")


def test_the_accessibility_gate_fails_on_a_serious_violation_and_names_it(page) -> None:
    # A page of the test's own making (no console page has a violation to show).
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Gate</title></head><body><main>'
        '<p><span style="color:#777;background:#888">Grey on grey</span></p></main></body></html>'
    )
    with pytest.raises(AssertionError) as failure:
        check_accessibility(page, "gate-self-test", record=False)
    message = str(failure.value)
    assert "color-contrast [serious]" in message
    assert "#777777 on #888888" in message and "[light]" in message and "[dark]" in message


FOCUS_VISIBLE = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const ring = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow && style.boxShadow !== "none";
  const underline = el.tagName === "A" && style.textDecorationLine.includes("underline");
  return {
    text: (el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 80),
    tag: el.tagName, id: el.id, focusVisible: el.matches(":focus-visible"),
    visible: ring || shadow || underline,
  };
}"""


def _tab_to(page, target, *, limit: int = 200) -> list[dict]:
    """Press Tab until `target` (a locator) has the focus; every element passed on the way shows
    that it has the focus (a ring, a shadow or, for a link, an underline)."""
    path = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_VISIBLE)
        assert focused is not None, f"Tab left the page after {path[-3:]}"
        assert focused["focusVisible"] and focused["visible"], f"focus not visible: {focused}"
        path.append(focused)
        if target.evaluate("el => el === document.activeElement"):
            return path
    raise AssertionError(f"{target} not reached in {limit} Tabs; the last were {path[-5:]}")


def test_a_staff_member_cancels_a_deployment_by_keyboard_alone(stage: Stage, page) -> None:
    """Find → tenant → project → deployment → cancel confirmation → cancel, with Tab and Enter
    only, the focus visible at every stop, in dark mode as well as light."""
    from playwright.sync_api import expect

    page.goto(f"{stage.base_url}/admin/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#anchor-find-q").first).to_be_visible()
    page.emulate_media(color_scheme="dark")

    # The first Tab reaches the skip link; Enter moves into the main content.
    page.keyboard.press("Tab")
    skip = page.evaluate(FOCUS_VISIBLE)
    assert skip["text"] == "Skip to main content" and skip["visible"], skip
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content-start"

    _tab_to(page, page.locator("#anchor-find-q").first)
    page.keyboard.type(TENANT)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text(TENANT)

    page.emulate_media(color_scheme="light")
    docs = page.locator("#projects").get_by_role("link", name="docs-site", exact=True)
    _tab_to(page, docs)
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("docs-site")
    stuck_row = page.locator("#deployments tr", has_text=stage.stuck.deployment_id)
    expect(stuck_row.locator(".badge-stuck")).to_have_text("stuck")

    queued_id = stage.keyboard_queued.deployment_id
    _tab_to(page, page.locator("#deployments").get_by_role("link", name=queued_id))
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text(queued_id)

    _tab_to(page, page.get_by_role("link", name="Cancel deployment"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Cancel this deployment?")).to_be_visible()

    reason = page.locator("form [name=reason]")
    if reason.count():  # staff actions may ask for a reason (issue 13): type it
        _tab_to(page, reason)
        page.keyboard.type("Requested by the tenant, done by keyboard")
    _tab_to(page, page.get_by_role("button", name="Yes, cancel it"))
    page.keyboard.press("Enter")
    expect(page.locator("ul.messagelist li.success")).to_have_text(
        f"Canceled deployment {queued_id}."
    )
    check_accessibility(page, "deployment-canceled-by-keyboard")


def _assert_served_like_production(stage: Stage, page) -> None:
    """WhiteNoise serves hashed, compressed static files cached for a year; every line the
    server wrote is one JSON object, and the request lines name the staff member and view."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    stylesheet = page.evaluate(
        "[...document.querySelectorAll('link[rel=stylesheet]')].map(l => l.href)"
        ".find(h => h.includes('/admin/css/base.'))"
    )
    assert re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css$", stylesheet), stylesheet
    assert stylesheet.startswith(stage.base_url)
    request = urllib.request.Request(  # noqa: S310 (the console's own http:// URL, checked above)
        stylesheet, headers={**PROXY_HEADERS, "Accept-Encoding": "gzip"}
    )
    with opener.open(request, timeout=5) as response:
        assert "max-age=315360000" in response.headers["Cache-Control"]
        assert "immutable" in response.headers["Cache-Control"]
        assert response.headers["Content-Encoding"] == "gzip"
        assert response.headers["X-Frame-Options"] == "DENY"

    lines = [line for line in stage.log.read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # any plain line fails here
    requests = [e for e in entries if e.get("logger") == "anchor.request"]
    cancel = next(
        e
        for e in requests
        if e["view"] == "admin:deployments_deployment_cancel" and e["method"] == "POST"
    )
    assert cancel["user"] == USERNAME and cancel["status"] == 302
    assert cancel["dynamodb_calls"] >= 1 and cancel["request_id"] and cancel["duration_ms"] > 0
    assert any(e.get("logger") == "gunicorn.access" for e in entries)
