"""A real browser restores an archived build log with a reason (the production server on moto's
S3 server), in light and dark mode; screenshots in test-artifacts/screenshots/restore/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.core import aws
from infra.core.resources import LOGS, log_key
from tests.e2e.axe import check_accessibility
from tests.e2e.stage import (
    PASSWORD,
    PROJECT_DIR,
    PROXY_HEADERS,
    SCREENSHOTS,
    TENANT,
    USERNAME,
    assert_styled,
    watch_csp,
)

pytestmark = pytest.mark.e2e
SHOTS = SCREENSHOTS / "restore"
ORPHAN = "dpl_e2eorphan00000000"
REASON = "Ticket 8812: the customer asks why release 4 was slow to build"


def _archive(stage, moto_server) -> None:
    """Move the logged deployment's build log to GLACIER on the server's S3."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
        aws.reset_clients()
        try:
            key = log_key(stage.logged.project_id, stage.logged.deployment_id)
            body = aws.s3().get_object(Bucket=LOGS.name(), Key=key)["Body"].read()
            aws.s3().put_object(Bucket=LOGS.name(), Key=key, Body=body, StorageClass="GLACIER")
        finally:
            aws.reset_clients()


def test_operations_restores_an_archived_log_with_a_reason(
    stage, moto_server, page, csp_violations
) -> None:
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def shot(name: str, on=None, *, axe: bool = True) -> None:
        """A screenshot named for its colour scheme, and axe on the page (it checks light and
        dark itself, so its row is the page's name without the scheme)."""
        if axe:
            page_name = name.removesuffix("-light").removesuffix("-dark")
            check_accessibility(on or page, f"restore-{page_name}")
        path = SHOTS / f"{len(shots) + 1:02d}-{name}.png"
        (on or page).screenshot(path=str(path), full_page=True)
        shots.append(path)

    _archive(stage, moto_server)
    page.goto(f"{stage.base_url}/admin/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#anchor-find-q").first).to_be_visible()

    detail = f"{stage.base_url}/admin/tenants/{TENANT}/deployments/{stage.logged.deployment_id}/"
    page.goto(detail)
    expect(page.locator(".anchor-log-retention")).to_contain_text("GLACIER")
    expect(page.locator(".anchor-log-archived")).to_contain_text("Archived in GLACIER")
    expect(page.locator(".anchor-artifacts .anchor-expires").first).to_contain_text("SGT")
    assert_styled(page)
    shot("archived-light")

    page.click("a.anchor-restore-link")
    expect(page.locator("h1")).to_contain_text("Restore build log")
    # Too short a reason: the server refuses it and says why (the browser's own check is
    # bypassed, as a script or an old browser would).
    page.eval_on_selector("#id_reason", "el => el.removeAttribute('minlength')")
    page.fill("#id_reason", "ab")
    page.click("form.anchor-reason-form input[type=submit]")
    expect(page.locator(".errorlist")).to_contain_text("Give a reason of 3 to 500 characters")
    shot("reason-refused")

    page.fill("#id_reason", REASON)
    page.click("form.anchor-reason-form input[type=submit]")
    expect(page.locator(".messagelist")).to_contain_text("requested from GLACIER")
    # moto's S3 finishes a restore at once: the page says until when and shows the log.
    expect(page.locator(".anchor-restore-done")).to_contain_text("Restored until")
    expect(page.locator("pre.anchor-log")).to_contain_text("Deployment ready")
    shot("restored-light")

    page.goto(f"{stage.base_url}/admin/audit/?kind=restore_log")
    expect(page.locator("table.anchor-audit")).to_contain_text("Ticket 8812")

    dark = page.context.browser.new_context(
        viewport={"width": 1280, "height": 900},
        color_scheme="dark",
        storage_state=page.context.storage_state(),
        extra_http_headers=PROXY_HEADERS,
    )
    watch_csp(dark, csp_violations)
    try:
        night = dark.new_page()
        night.goto(detail)
        expect(night.locator(".anchor-restore-done")).to_be_visible()
        assert night.evaluate("getComputedStyle(document.body).backgroundColor") != (
            "rgb(255, 255, 255)"
        )
        shot("restored-dark", on=night, axe=False)  # axe checked this page in both schemes
        night.goto(detail + "restore-log/")
        expect(night.locator("#id_reason")).to_be_visible()
        shot("confirm-dark", on=night)
    finally:
        dark.close()

    # `manage.py reconcile` against the same S3 and DynamoDB: the history was imported without
    # logs, so it finds them missing (exit 2), and the project page shows its stored report.
    put_orphan(moto_server, stage.project_id)
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_server.endpoint, "DEBUG": "true"}
    done = subprocess.run(
        [sys.executable, "manage.py", "reconcile", "--json"],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    kinds = {f["kind"] for f in json.loads(done.stdout)["findings"]}
    assert kinds == {"missing_log", "orphan_log"}
    page.goto(f"{stage.base_url}/admin/tenants/{TENANT}/projects/{stage.project_id}/")
    expect(page.locator(".anchor-reconciliation")).to_contain_text("at the last reconciliation")
    expect(page.locator(".anchor-reconcile-findings")).to_contain_text("orphan_log")
    shot("project-reconciliation-light")

    assert csp_violations == []


def put_orphan(moto_server, project_id: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
        aws.reset_clients()
        try:
            aws.s3().put_object(
                Bucket=LOGS.name(), Key=log_key(project_id, ORPHAN), Body=b"orphan\n"
            )
        finally:
            aws.reset_clients()
