"""The console end to end in real Chromium: moto server, the production server, and a staff
member's day.

Everything runs for real on loopback: moto's server for DynamoDB and S3, the stage provisioned
from infra.core.resources, a SQLite file for Django, `manage.py serve` (what `make serve` runs:
collectstatic, gunicorn, WhiteNoise, DEBUG off, JSON logs) and Debian's chromium driven by
Playwright. The browser plays the TLS-terminating proxy's part by sending X-Forwarded-Proto, so
the production settings (HTTPS redirect, Secure `__Host-` cookies, HSTS, CSP) all apply; every
Content-Security-Policy violation the browser reports is counted, and there must be none.
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


@pytest.fixture(scope="module")
def moto_server() -> Iterator[localaws.LocalService]:
    service = localaws.start_moto_server()
    yield service
    service.stop()


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
        yield Stage(base_url=base_url, log=log, project_id=project_id, queued=queued, logged=logged)
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


def test_a_staff_member_finds_a_tenant_reads_a_log_and_cancels_a_queued_deployment(
    stage: Stage, page, csp_violations: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    shots: list[Path] = []

    def shot(name: str, on=None) -> None:
        path = SCREENSHOTS / f"{len(shots) + 1:02d}-{name}.png"
        (on or page).screenshot(path=str(path), full_page=True)
        shots.append(path)

    # Log in through the admin's own login page.
    page.goto(f"{stage.base_url}/admin/")
    expect(page.locator("#id_username")).to_be_visible()
    _assert_styled(page)
    shot("login")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#anchor-find-q").first).to_be_visible()
    _assert_styled(page)
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["__Host-sessionid"]["secure"] and cookies["__Host-sessionid"]["httpOnly"]
    shot("dashboard-index")

    # Find the tenant by its userId.
    page.locator("#anchor-find-q").first.fill(TENANT)
    page.locator("form.anchor-find input[type=submit]").first.click()
    expect(page.locator("h1")).to_contain_text(TENANT)
    project_link = page.locator("#projects").get_by_role("link", name="storefront", exact=True)
    expect(project_link).to_be_visible()
    shot("tenant")

    # Open the project: 25 deployments on the first page, the rest on the second.
    project_link.click()
    expect(page.locator("h1")).to_have_text("storefront")
    rows = page.locator("#deployments table tbody tr")
    expect(rows).to_have_count(25)
    expect(page.locator("svg").filter(has=page.locator("rect")).first).to_be_visible()
    shot("project-page-1")
    page.locator("#deployments a[rel=next]").click()
    expect(rows).to_have_count(HISTORY + 1 - 25)
    expect(page.locator("#deployments a[rel=prev]")).to_be_visible()
    shot("project-page-2")

    # Open a deployment of the second page, with its build log and artifacts.
    logged_id = stage.logged.deployment_id
    page.locator("#deployments").get_by_role("link", name=stage.logged.deployment_id).click()
    expect(page.locator("h1")).to_contain_text(stage.logged.deployment_id)
    log = page.locator("pre.anchor-log")
    expect(log).to_contain_text("Deployment ready")
    expect(log).not_to_contain_text("[082] compiling")  # the last 200 of 283 lines
    expect(log).to_contain_text("[083] compiling")
    expect(page.get_by_text("The last 200 lines of")).to_be_visible()
    expect(page.get_by_role("link", name="Download the full log")).to_be_visible()
    expect(page.get_by_role("link", name="static/app.js")).to_be_visible()
    shot("deployment-with-log")

    # The download link redirects to a presigned URL that serves the whole log.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the full log").click()
    download = download_info.value
    assert download.suggested_filename == f"{stage.logged.deployment_id}-build.log"
    assert "[001] compiling route" in Path(download.path()).read_text()

    # Back to the project (breadcrumbs) and cancel its queued deployment, confirming first.
    page.locator(".breadcrumbs").get_by_role("link", name=f"Project {stage.project_id}").click()
    expect(rows).to_have_count(25)
    page.locator("#deployments").get_by_role("link", name=stage.queued.deployment_id).click()
    expect(page.locator(".badge-queued").first).to_be_visible()
    expect(page.get_by_text("No build log is stored for this deployment yet")).to_be_visible()
    shot("deployment-queued")
    page.get_by_role("link", name="Cancel deployment").click()
    expect(page.get_by_text("Cancel this deployment?")).to_be_visible()
    shot("cancel-confirmation")
    page.get_by_label("Reason").fill("The tenant asked support to stop this build")
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.locator("ul.messagelist li.success")).to_have_text(
        f"Canceled deployment {stage.queued.deployment_id}."
    )
    expect(page.locator(".anchor-fields .badge-canceled")).to_have_text("canceled")
    expect(page.get_by_role("link", name="Cancel deployment")).to_have_count(0)
    shot("deployment-canceled")

    assert re.fullmatch(r".*/deployments/dpl_[0-9a-z]{16}/", page.url)

    # The audit record shows among the admin's recent actions.
    page.get_by_role("link", name="Home").first.click()
    expect(page.locator("#recent-actions-module")).to_contain_text(stage.queued.deployment_id)
    shot("index-recent-actions")

    # The other pages staff open, under the same policy: the project form, the audit trail with
    # its filters and date drill-down (the admin's own scripts), a failed search.
    page.goto(f"{stage.base_url}/admin/tenants/{TENANT}/projects/{stage.project_id}/edit/")
    expect(page.locator("form input[name=name]")).to_be_visible()
    shot("project-edit")
    page.goto(f"{stage.base_url}/admin/admin/logentry/")
    expect(page.locator("#changelist")).to_contain_text(stage.queued.deployment_id)
    _assert_styled(page)
    shot("audit-trail")
    page.goto(f"{stage.base_url}/admin/find/?q=dpl_doesnotexist00000")
    expect(page.locator("h1")).to_be_visible()
    shot("find-nothing")

    # The same deployment page on a phone in dark mode, through the same session.
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
        shot("deployment-phone-dark", on=small)
    finally:
        phone.close()

    # Not one script, style, image or font the policy refused, on any page.
    assert csp_violations == []
    _assert_served_like_production(stage, page)
    with capsys.disabled():
        print(f"\nscreenshots in {SCREENSHOTS}:")
        for path in shots:
            print(f"  {path.name}")


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
