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
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from deployments import repository as deployments
from deployments import storage
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import now
from infra.local import localaws
from projects import repository as projects
from tests.conftest import build_stage
from tests.e2e.axe import check_accessibility

pytestmark = pytest.mark.e2e

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_DIR / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TENANT = "acme-corp"
USERNAME, PASSWORD = "olivia-ops", "e2e-only-password-9f3b2c"
HISTORY = 30  # finished deployments, so the project's list has two pages of 25
S = DeploymentStatus
# What the TLS-terminating proxy in front of the console adds to every request.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
# Reports every CSP violation of every page to the test (the binding survives navigations).
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}`);
});
"""


def _cannot_run(reason: str) -> None:
    # CI must run the browser test; anywhere else a missing browser is a skip, with the reason.
    if os.environ.get("CI") == "true":
        pytest.fail(f"the browser test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"browser test skipped: {reason}")


@dataclass
class Stage:
    """What the test put in the data plane, and where the console serves it."""

    base_url: str
    log: Path  # the server's output
    project_id: str
    queued: DeploymentSchema
    logged: DeploymentSchema  # on the project's second page, with a build log and artifacts
    # A second project of the tenant, "docs-site": a build stuck for two hours, and a queued
    # deployment that the keyboard-only flow cancels.
    docs_project_id: str = ""
    stuck: DeploymentSchema | None = None
    keyboard_queued: DeploymentSchema | None = None
    env: dict[str, str] | None = None  # the server's environment, for manage.py beside it


@pytest.fixture(scope="module")
def moto_server() -> Iterator[localaws.LocalService]:
    service = localaws.start_moto_server()
    yield service
    service.stop()


def _seed_docs() -> tuple[str, DeploymentSchema, DeploymentSchema]:
    """The tenant's second project: a build stuck for two hours and a queued deployment."""
    docs = projects.create_project(
        TENANT, {"name": "docs-site", "repo_url": "https://github.com/acme/docs-site"}
    )
    stuck = deployments.create_deployment(
        TENANT,
        docs.project_id,
        {"commit_sha": "5ca1ab1e0042", "message": "Rebuild the search index"},
    )
    deployments.update_deployment_status(stuck.deployment_id, S.BUILDING)
    stuck = deployments.update_deployment(
        stuck.deployment_id, started_at=now() - timedelta(hours=2)
    )
    queued = deployments.create_deployment(
        TENANT, docs.project_id, {"commit_sha": "c0ffee0042", "message": "Fix a broken link"}
    )
    return docs.project_id, stuck, queued


def _seed() -> tuple[str, DeploymentSchema, DeploymentSchema]:
    """Tables, buckets and one tenant's project with HISTORY + 1 deployments, through the repo."""
    build_stage()
    project = projects.create_project(
        TENANT,
        {"name": "storefront", "repo_url": "https://github.com/acme/storefront", "branch": "main"},
    )
    start = now() - timedelta(days=20)
    history = []
    for n in range(HISTORY):
        created = start + timedelta(hours=15 * n)
        status = (S.READY, S.READY, S.ERROR, S.READY, S.CANCELED)[n % 5]
        started = created + timedelta(seconds=20)
        history.append(
            DeploymentSchema(
                deployment_id=deployments.new_deployment_id(),
                project_id=project.project_id,
                user_id=TENANT,
                commit_sha=f"{n:02x}" + "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3"[:38],
                message=f"Release {n + 1}: update checkout and pricing pages",
                branch="main",
                status=status,
                created_at=created,
                updated_at=started + timedelta(seconds=95),
                started_at=started,
                ended_at=started + timedelta(seconds=95 + n),
                build_id=f"bld_{n:04d}",
                error="next build failed: exit code 1" if status is S.ERROR else None,
            )
        )
    deployments.import_deployments(TENANT, project.project_id, history)
    # Newest first, 25 a page: history[3] is the 28th row, on the second page.
    logged = history[3]
    lines = [f"[{n:03d}] compiling route /products/{n} ... ok" for n in range(1, 281)]
    storage.put_build_log(
        logged,
        "Cloning https://github.com/acme/storefront (main)\n"
        + "\n".join(lines)
        + "\nBuild completed in 1m 35s\nDeployment ready\n",
    )
    storage.put_artifact(logged, "index.html", b"<!doctype html><h1>Storefront</h1>" * 40)
    storage.put_artifact(logged, "static/app.js", b"console.log('storefront');\n" * 900)
    queued = deployments.create_deployment(
        TENANT,
        project.project_id,
        {"commit_sha": "f00dfacecafe1234", "message": "Fix the cart total rounding"},
    )
    return project.project_id, queued, logged


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(
        command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=180
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text()}")
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise AssertionError(f"the server did not answer {url} within 60s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def stage(
    moto_server: localaws.LocalService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stage]:
    if not CHROMIUM.exists():
        _cannot_run(f"{CHROMIUM} is missing (install Debian's chromium package)")
    folder = tmp_path_factory.mktemp("console")
    port = localaws.free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        # The test run's own relaxations (SECURE_SSL_REDIRECT=false) do not reach the server.
        **{k: v for k, v in os.environ.items() if k != "SECURE_SSL_REDIRECT"},
        "AWS_ENDPOINT_URL": moto_server.endpoint,
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "STATIC_ROOT": str(folder / "static"),
        "GUNICORN_WORKERS": "2",
        "LOG_FORMAT": "json",
        # The browser's Origin is http://…, the proxy's forwarded scheme https: trust that pair.
        "CSRF_TRUSTED_ORIGINS": base_url,
        "PYTHONUNBUFFERED": "1",
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
        aws.reset_clients()
        try:
            project_id, queued, logged = _seed()
            docs_project_id, stuck, keyboard_queued = _seed_docs()
        finally:
            aws.reset_clients()

    python = sys.executable
    _run([python, "manage.py", "migrate", "--noinput"], env)
    _run(
        [
            python,
            "-c",
            "import django; django.setup()\n"
            "from django.contrib.auth.models import Group, User\n"
            f"user = User.objects.create_user({USERNAME!r}, password={PASSWORD!r}, is_staff=True)\n"
            "user.groups.add(Group.objects.get(name='Operations'))\n",
        ],
        {**env, "DJANGO_SETTINGS_MODULE": "anchor_site.settings"},
    )
    log = folder / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [python, "manage.py", "serve"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(f"{base_url}/healthz", server, log)  # plain HTTP: the health checks allow it
        yield Stage(
            base_url=base_url,
            log=log,
            project_id=project_id,
            queued=queued,
            logged=logged,
            docs_project_id=docs_project_id,
            stuck=stuck,
            keyboard_queued=keyboard_queued,
            env=env,
        )
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def csp_violations() -> list[str]:
    """Every Content-Security-Policy violation the browser reported, on any page."""
    return []


def _watch_csp(context, violations: list[str]) -> None:
    def report(text: str) -> None:
        violations.append(text)

    context.expose_function("reportCspViolation", report)
    context.add_init_script(CSP_WATCH)


@pytest.fixture
def page(stage: Stage, csp_violations: list[str]) -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _cannot_run("the playwright Python package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, extra_http_headers=PROXY_HEADERS
            )
            _watch_csp(context, csp_violations)
            page = context.new_page()
            # The browser's own console is the second witness: it logs every refusal too.
            page.on(
                "console",
                lambda message: (
                    csp_violations.append(message.text)
                    if "Content Security Policy" in message.text
                    else None
                ),
            )
            yield page
            context.close()
        finally:
            browser.close()


def _assert_styled(page) -> None:
    """The admin's stylesheets loaded: its header is dark blue-green, not unstyled white."""
    header = page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")
    assert header not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"), header


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
    _assert_styled(page)
    visit("login")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#anchor-find-q").first).to_be_visible()
    _assert_styled(page)
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
    _assert_styled(page)
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
    _assert_styled(page)  # the console's page, not Django's bare "Not Found"
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
    _watch_csp(phone, csp_violations)
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
