"""The browser tests' shared stage: Chromium's launch flags, the console's production server
(`production_console`), one tenant's data on moto's server (`stage`) and a Chromium page that
counts every Content-Security-Policy violation (`page`). tests/e2e/conftest.py makes the
fixtures available to every browser test; each module that asks for `stage` gets its own server
and data (module scope).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from deployments import artifactstore, logstore
from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import now
from infra.local import localaws, processes
from projects import repository as projects
from tests.conftest import build_stage

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


def cannot_run(reason: str) -> None:
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
def moto_server() -> Iterator[processes.LocalService]:
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
    logstore.put_build_log(
        logged,
        "Cloning https://github.com/acme/storefront (main)\n"
        + "\n".join(lines)
        + "\nBuild completed in 1m 35s\nDeployment ready\n",
    )
    artifactstore.put_artifact(logged, "index.html", b"<!doctype html><h1>Storefront</h1>" * 40)
    artifactstore.put_artifact(logged, "static/app.js", b"console.log('storefront');\n" * 900)
    queued = deployments.create_deployment(
        TENANT,
        project.project_id,
        {"commit_sha": "f00dfacecafe1234", "message": "Fix the cart total rounding"},
    )
    return project.project_id, queued, logged


def run(command: list[str], env: dict[str, str]) -> None:
    """Run a command of the project (manage.py, python -c) to completion, or fail with its
    output."""
    result = subprocess.run(
        command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=180
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


def wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait (60 s at most) until `url` answers 200, failing at once if `process` exits."""
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


@dataclass
class Console:
    """A running production console: where it answers, its environment, its output."""

    base_url: str
    env: dict[str, str]
    log: Path


@contextlib.contextmanager
def production_console(
    folder: Path,
    *,
    env: dict[str, str],
    staff: Sequence[tuple[str, str, str]] = (),
    port: int | None = None,
) -> Iterator[Console]:
    """`manage.py serve` (what `make serve` runs: collectstatic, gunicorn, WhiteNoise, DEBUG off)
    on a free loopback port (or `port`), with its own SQLite file in `folder`, migrated, and the
    staff accounts `staff` (username, password, group); `env` adds to or overrides the
    production settings. Stopped (and killed if it must be) when the block ends."""
    port = port or processes.free_port()
    base_url = f"http://127.0.0.1:{port}"
    full = {
        # The test run's own relaxations (SECURE_SSL_REDIRECT=false) do not reach the server.
        **{k: v for k, v in os.environ.items() if k != "SECURE_SSL_REDIRECT"},
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "STATIC_ROOT": str(folder / "static"),
        "GUNICORN_WORKERS": "2",
        # The browser's Origin is http://…, the proxy's forwarded scheme https: trust that pair.
        "CSRF_TRUSTED_ORIGINS": base_url,
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    python = sys.executable
    run([python, "manage.py", "migrate", "--noinput"], full)
    if staff:
        script = [
            "import django; django.setup()",
            "from django.contrib.auth.models import Group, User",
        ]
        for username, password, group in staff:
            script += [
                f"user = User.objects.create_user({username!r}, password={password!r},"
                " is_staff=True)",
                f"user.groups.add(Group.objects.get(name={group!r}))",
            ]
        run(
            [python, "-c", "\n".join(script)],
            {**full, "DJANGO_SETTINGS_MODULE": "anchor_site.settings"},
        )
    log = folder / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [python, "manage.py", "serve"],
            cwd=PROJECT_DIR,
            env=full,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(f"{base_url}/healthz", server, log)  # plain HTTP: the health checks allow it
        yield Console(base_url=base_url, env=full, log=log)
    finally:
        processes.stop_child(server)


@contextlib.contextmanager
def on_server(endpoint: str) -> Iterator[None]:
    """The test's own boto3 clients, on moto's server, for the duration of the block."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", endpoint)
        aws.reset_clients()
        try:
            yield
        finally:
            aws.reset_clients()


@pytest.fixture(scope="module")
def stage(
    moto_server: processes.LocalService, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stage]:
    """The console's production server on moto's server, with one tenant's data and an
    Operations staff member (USERNAME, PASSWORD): one per test module that asks for it."""
    if not CHROMIUM.exists():
        cannot_run(f"{CHROMIUM} is missing (install Debian's chromium package)")
    with on_server(moto_server.endpoint):
        project_id, queued, logged = _seed()
        docs_project_id, stuck, keyboard_queued = _seed_docs()
    with production_console(
        tmp_path_factory.mktemp("console"),
        env={"AWS_ENDPOINT_URL": moto_server.endpoint, "LOG_FORMAT": "json"},
        staff=[(USERNAME, PASSWORD, "Operations")],
    ) as console:
        yield Stage(
            base_url=console.base_url,
            log=console.log,
            project_id=project_id,
            queued=queued,
            logged=logged,
            docs_project_id=docs_project_id,
            stuck=stuck,
            keyboard_queued=keyboard_queued,
            env=console.env,
        )


@pytest.fixture
def csp_violations() -> list[str]:
    """Every Content-Security-Policy violation the browser reported, on any page."""
    return []


def watch_csp(context, violations: list[str]) -> None:
    def report(text: str) -> None:
        violations.append(text)

    context.expose_function("reportCspViolation", report)
    context.add_init_script(CSP_WATCH)


@pytest.fixture
def page(csp_violations: list[str]) -> Iterator[object]:
    """A Chromium page (1280 x 900, sending the proxy's headers) whose every CSP violation
    lands in `csp_violations`; its browser is `page.context.browser`, for more contexts."""
    if not CHROMIUM.exists():
        cannot_run(f"{CHROMIUM} is missing (install Debian's chromium package)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        cannot_run("the playwright Python package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, extra_http_headers=PROXY_HEADERS
            )
            watch_csp(context, csp_violations)
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


def assert_styled(page) -> None:
    """The admin's stylesheets loaded: its header is dark blue-green, not unstyled white."""
    header = page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")
    assert header not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"), header
