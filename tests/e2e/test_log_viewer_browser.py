"""The log viewer and the live tail in real Chromium: reading a long log chunk by chunk, searching
it, jumping to its first error, and following a running build whose log grows in S3 until the
deployment turns ready — the production server (gunicorn, WhiteNoise, DEBUG off, the CSP) on
moto's server (tests/e2e/stage.py). Every page passes the accessibility gate (tests/e2e/axe.py)
in light and dark mode. Screenshots go to test-artifacts/screenshots/log-viewer/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deployments import logstore
from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.local import processes
from projects import repository as projects
from tests.conftest import build_stage
from tests.e2e.axe import check_accessibility
from tests.e2e.stage import (
    CHROMIUM,
    PROJECT_DIR,
    PROXY_HEADERS,
    cannot_run,
    on_server,
    production_console,
    watch_csp,
)

pytestmark = pytest.mark.e2e

SCREENSHOTS = PROJECT_DIR / "test-artifacts" / "screenshots" / "log-viewer"
TENANT = "kopi-labs"
USERNAME, PASSWORD = "sam-support", "e2e-only-password-log-viewer-7d1"
S = DeploymentStatus
LINES = 12_000  # about 800 KB: four chunks of at most 256 KiB
FIRST_ERROR = 9_431


@dataclass
class LogStage:
    base_url: str
    endpoint: str
    finished: DeploymentSchema
    running: DeploymentSchema


def _long_log() -> str:
    out = []
    for n in range(1, LINES + 1):
        if n == FIRST_ERROR:
            out.append("\x1b[31mError: Cannot find module '@/lib/analytics'\x1b[0m")
        elif n % 500 == 0:
            out.append(f"\x1b[33mnpm WARN\x1b[0m deprecated package-{n}@1.0.0")
        elif n % 97 == 0:
            out.append(f"\x1b[32m✓\x1b[0m compiled \x1b[1mchunk {n}\x1b[0m in {n % 90} ms")
        else:
            stamp = f"[{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000]"
            out.append(f"{stamp} transforming module {n}/{LINES} src/app/page-{n % 41}.tsx")
    out.append('Error: Command "npm run build" exited with 1')
    return "\n".join(out) + "\n"


def _running_log(steps: int) -> str:
    return "".join(f"[00:00:{n:02d}.000] building step {n} of 30\n" for n in range(1, steps + 1))


def _seed() -> tuple[DeploymentSchema, DeploymentSchema]:
    build_stage()
    project = projects.create_project(
        TENANT, {"name": "kopi-web", "repo_url": "https://github.com/kopi/kopi-web"}
    )
    push = {"commit_sha": "a1b2c3d4e5f6a7b8c9d0", "message": "Add the analytics provider"}
    finished = deployments.create_deployment(TENANT, project.project_id, push)
    deployments.update_deployment_status(finished.deployment_id, S.BUILDING)
    finished = deployments.update_deployment_status(
        finished.deployment_id, S.ERROR, error="Build failed: Cannot find module"
    )
    logstore.put_build_log(finished, _long_log())
    running = deployments.create_deployment(
        TENANT, project.project_id, {"commit_sha": "b2c3d4e5f6a7b8c9", "message": "Cart fixes"}
    )
    running = deployments.update_deployment_status(running.deployment_id, S.BUILDING)
    logstore.put_build_log(running, _running_log(5))
    return finished, running


@pytest.fixture(scope="module")
def log_stage(
    moto_server: processes.LocalService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LogStage]:
    if not CHROMIUM.exists():
        cannot_run(f"{CHROMIUM} is missing (install Debian's chromium package)")
    with on_server(moto_server.endpoint):
        finished, running = _seed()
    with production_console(
        tmp_path_factory.mktemp("log-viewer"),
        env={"AWS_ENDPOINT_URL": moto_server.endpoint},
        staff=[(USERNAME, PASSWORD, "Support")],
    ) as console:
        yield LogStage(console.base_url, moto_server.endpoint, finished, running)


def test_staff_read_search_and_follow_build_logs(
    log_stage: LogStage, page, csp_violations: list[str]
) -> None:
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    shots: list[Path] = []

    def shot(page, name: str, full: bool = False, axe: bool = True) -> None:
        """The page as it is now: a screenshot, and axe in light and dark mode."""
        path = SCREENSHOTS / f"{len(shots) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=full)
        shots.append(path)
        if axe:
            audit(page, name)

    def audit(page, name: str) -> None:
        started = time.monotonic()
        check_accessibility(page, f"log-{name}")
        print(
            f"axe on log-{name}: {page.locator('*').count()} elements, "
            f"{time.monotonic() - started:.1f} s"
        )

    base = log_stage.base_url
    finished_url = f"{base}/admin/tenants/{TENANT}/deployments/{log_stage.finished.deployment_id}/"
    running_url = f"{base}/admin/tenants/{TENANT}/deployments/{log_stage.running.deployment_id}/"
    browser = page.context.browser
    context = page.context
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#anchor-find-q").first).to_be_visible()

    # Reading: from the deployment page into the viewer, line 1 onwards, then on.
    page.goto(finished_url)
    expect(page.locator("pre.anchor-log")).to_contain_text("exited with 1")
    expect(page.get_by_text("Times in the log are UTC")).to_be_visible()
    shot(page, "deployment-finished")
    page.get_by_role("link", name="Open in the log viewer").click()
    expect(page.locator("#chunk-heading")).to_contain_text("Lines 1\u2013")
    expect(page.locator("#L1")).to_contain_text("transforming module 1/")
    shot(page, "viewer-first-chunk")
    last_shown = int(page.locator(".anchor-ll[id]").last.get_attribute("id")[1:])
    page.locator("a[rel=next]").first.click()
    expect(page.locator(".anchor-ll[id]").first).to_have_attribute("id", f"L{last_shown + 1}")
    expect(page.locator(f"#L{last_shown + 1} .anchor-ln")).to_have_text(str(last_shown + 1))
    shot(page, "viewer-second-chunk")

    # Searching: a literal phrase, then into the chunk of the match.
    page.fill("#anchor-log-q", "cannot find MODULE")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#results-heading")).to_contain_text("cannot find MODULE")
    match = page.locator(".anchor-logview-results a.anchor-ln")
    expect(match).to_have_count(1)
    expect(match).to_have_text(str(FIRST_ERROR))
    shot(page, "viewer-search")
    match.click()
    target = page.locator(f"#L{FIRST_ERROR}")
    expect(target).to_be_in_viewport()
    assert page.url.endswith(f"#L{FIRST_ERROR}")

    # Jump to first error from the top of the log: the same line, in red.
    page.goto(finished_url + "log/view/")
    page.get_by_role("link", name="Jump to first error").click()
    expect(target).to_be_in_viewport()
    colour = target.locator(".ansi-fg-1").evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(255, 123, 114)", colour
    shot(page, "viewer-first-error")

    # Following: the running build's log grows in S3 and the page shows the new lines.
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/log/tail/" in r.url else None)
    page.goto(running_url)
    log = page.locator("pre.anchor-log")
    expect(log).to_contain_text("building step 5 of 30")
    expect(page.locator("#anchor-live")).to_contain_text("Following the log live")
    with on_server(log_stage.endpoint):
        logstore.put_build_log(log_stage.running, _running_log(12))
    expect(log).to_contain_text("building step 12 of 30", timeout=10_000)
    assert log.inner_text().count("building step 5 of 30") == 1  # appended, not redone
    expect(page.locator(".anchor-log-summary")).to_contain_text("7 new lines since the page loaded")
    shot(page, "deployment-live-tail", full=True)
    with on_server(log_stage.endpoint):
        logstore.put_build_log(
            log_stage.running, _running_log(30) + "Deployment completed in 41s\n"
        )
        deployments.update_deployment_status(log_stage.running.deployment_id, S.READY)
    expect(page.locator("#anchor-status .badge-ready")).to_have_text("ready", timeout=10_000)
    expect(log).to_contain_text("Deployment completed in 41s")
    expect(page.locator("#anchor-live")).to_contain_text("is ready now")
    # The timeline follows: the build has ended, with its time and a final duration.
    ended = page.locator(".anchor-timeline li").nth(2)
    expect(ended).to_contain_text("SGT")
    expect(ended).not_to_contain_text("not yet")
    expect(page.locator(".anchor-timeline li").nth(3)).not_to_contain_text("so far")
    stopped_at = len(polls)
    time.sleep(7)  # more than two poll periods
    assert len(polls) == stopped_at, "the tail kept polling after the final status"
    shot(page, "deployment-tail-stopped", full=True)

    # Dark mode: the viewer and a deployment page.
    dark = browser.new_context(
        viewport={"width": 1280, "height": 900},
        color_scheme="dark",
        storage_state=context.storage_state(),
        extra_http_headers=PROXY_HEADERS,
    )
    watch_csp(dark, csp_violations)
    night = dark.new_page()
    night.goto(finished_url + "log/view/?goto=9425")
    expect(night.locator("#L9425")).to_be_in_viewport()
    shot(night, "viewer-dark")
    night.goto(finished_url + "log/view/?q=npm+WARN")
    expect(night.locator(".anchor-logview-results a.anchor-ln").first).to_be_visible()
    shot(night, "viewer-search-dark")
    dark.close()

    # JavaScript off: a running build's page still shows its tail and a reload link.
    with on_server(log_stage.endpoint):
        other = deployments.create_deployment(
            TENANT,
            log_stage.running.project_id,
            {"commit_sha": "c3d4e5f6a7b8c9d0", "message": "Copy edits"},
        )
        other = deployments.update_deployment_status(other.deployment_id, S.BUILDING)
        logstore.put_build_log(other, _running_log(3))
    still = browser.new_context(
        java_script_enabled=False,
        storage_state=context.storage_state(),
        extra_http_headers=PROXY_HEADERS,
    )
    plain = still.new_page()
    plain.goto(f"{base}/admin/tenants/{TENANT}/deployments/{other.deployment_id}/")
    expect(plain.locator("pre.anchor-log")).to_contain_text("building step 3 of 30")
    expect(plain.get_by_role("link", name="Reload to see new lines")).to_be_visible()
    expect(plain.locator("#anchor-live")).to_contain_text("its log may still grow")
    shot(plain, "deployment-no-javascript", full=True, axe=False)
    still.close()
    # axe is JavaScript and cannot run where scripts are off (its timers never fire), so
    # the page is checked as a browser without JavaScript builds it: the same URL with
    # every script refused. The console uses no <noscript>, so the DOM is the same.
    scripts_refused = browser.new_context(
        storage_state=context.storage_state(), extra_http_headers=PROXY_HEADERS
    )
    scripts_refused.route("**/*.js", lambda route: route.abort())
    bare = scripts_refused.new_page()
    bare.goto(f"{base}/admin/tenants/{TENANT}/deployments/{other.deployment_id}/")
    expect(bare.get_by_role("link", name="Reload to see new lines")).to_be_visible()
    expect(bare.locator("#anchor-live")).to_contain_text("its log may still grow")
    audit(bare, "deployment-no-javascript")
    scripts_refused.close()
    assert csp_violations == []
    print(f"\nscreenshots in {SCREENSHOTS}: {', '.join(p.name for p in shots)}")
