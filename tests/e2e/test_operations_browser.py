"""An operations engineer's morning in real Chromium: from the needs-attention feed, a stuck
build is marked as error with a reason, redeployed with a reason, and both actions are found on
the audit page, linked to their deployments; the audit trail and a tenant's deployments download
as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import now
from tests.e2e.axe import check_accessibility
from tests.e2e.stage import PASSWORD, SCREENSHOTS, TENANT, USERNAME, Stage, assert_styled

pytestmark = pytest.mark.e2e
S = DeploymentStatus


@pytest.fixture(scope="module")
def stuck(stage: Stage, moto_server) -> Iterator[DeploymentSchema]:
    """A build of the stage's project that has been running for three hours."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
        aws.reset_clients()
        try:
            created = deployments.create_deployment(
                TENANT,
                stage.project_id,
                {"commit_sha": "5ca1ab1e0ddba11", "message": "Upgrade the image pipeline"},
            )
            deployments.update_deployment_status(created.deployment_id, S.BUILDING)
            yield deployments.update_deployment(
                created.deployment_id, started_at=now() - timedelta(hours=3)
            )
        finally:
            aws.reset_clients()


def test_a_stuck_build_is_failed_and_redeployed_with_reasons_found_on_the_audit_page(
    stage: Stage,
    stuck: DeploymentSchema,
    page,
    csp_violations: list[str],
) -> None:
    from playwright.sync_api import expect

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        check_accessibility(page, f"ops-{name}")
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.screenshot(path=str(SCREENSHOTS / f"ops-{name}-{scheme}.png"), full_page=True)
        page.emulate_media(color_scheme="light")

    page.goto(f"{stage.base_url}/admin/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#anchor-find-q").first).to_be_visible()

    # The day starts on the needs-attention feed (the index's first link): the stuck build is
    # there; open it and mark it as error, giving a reason.
    page.locator("#content a[href]").first.click()
    expect(page.locator("h1")).to_have_text("Needs attention")
    row = page.locator("#attention-feed tbody tr", has_text=stuck.deployment_id)
    expect(row).to_contain_text("Stuck build")
    shot("attention-feed")
    row.get_by_role("link", name=stuck.deployment_id).click()
    expect(page.locator("h1")).to_contain_text(stuck.deployment_id)
    page.get_by_role("link", name="Mark deployment as error").click()
    expect(page.get_by_text("Mark this stuck build as error?")).to_be_visible()
    page.get_by_role("button", name="Yes, mark it as error").click()
    expect(page.locator(".errorlist")).to_contain_text("Give a reason of 3 to 500 characters")
    shot("fail-without-reason")
    page.get_by_label("Reason").fill("Runner host i-0abc died during the build")
    page.get_by_role("button", name="Yes, mark it as error").click()
    expect(page.locator(".messagelist")).to_contain_text(
        f"Marked deployment {stuck.deployment_id} as error."
    )
    expect(page.get_by_text("Reason: Runner host i-0abc died during the build")).to_be_visible()

    # Redeploy the same commit with a reason; the browser lands on the new deployment.
    page.get_by_role("link", name="Redeploy").click()
    expect(page.get_by_text("Queue a new deployment of this commit?")).to_be_visible()
    expect(page.locator(".anchor-confirm-summary")).to_contain_text("5ca1ab1")
    page.get_by_label("Reason").fill("Retry on a healthy runner")
    shot("redeploy-confirmation")
    page.get_by_role("button", name="Yes, redeploy it").click()
    message = page.locator(".messagelist")
    expect(message).to_contain_text(f"Redeployed {stuck.deployment_id} as dpl_")
    new_id = page.locator("h1").inner_text().split()[-1]
    assert new_id.startswith("dpl_") and new_id != stuck.deployment_id
    expect(page.locator(".anchor-fields .badge-queued")).to_have_text("queued")
    shot("redeployed")

    # The audit page, from the menu: both actions, with reasons, linked to the deployments.
    page.goto(f"{stage.base_url}/admin/")
    page.get_by_role("link", name="Audit trail", exact=True).first.click()
    expect(page.locator("h1")).to_have_text("Audit trail")
    assert_styled(page)
    table = page.locator("table.anchor-audit")
    expect(table).to_contain_text("Runner host i-0abc died during the build")
    expect(table).to_contain_text("Retry on a healthy runner")
    expect(table).to_contain_text("status: building → error")
    expect(page.locator("th", has_text="When (SGT)")).to_be_visible()
    page.select_option("#id_kind", "fail")
    page.get_by_role("button", name="Filter").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    assert "kind=fail" in page.url
    shot("audit-filtered")
    table.get_by_role("link", name=stuck.deployment_id).click()
    expect(page.locator("h1")).to_contain_text(stuck.deployment_id)

    # The audit trail and the tenant's deployments as CSV downloads.
    page.goto(f"{stage.base_url}/admin/audit/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export as CSV").click()
    audit_rows = list(csv.DictReader(io.StringIO(_text(download_info.value.path()))))
    reasons = {row["reason"] for row in audit_rows}
    assert {"Runner host i-0abc died during the build", "Retry on a healthy runner"} <= reasons

    page.goto(f"{stage.base_url}/admin/tenants/{TENANT}/")
    page.get_by_role("link", name="Export deployments as CSV").click()
    expect(page.locator("h1")).to_contain_text("Export deployments")
    shot("tenant-export-form")
    page.select_option("#id_status", "error")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(_text(download_info.value.path()))))
    assert stuck.deployment_id in {row["deployment_id"] for row in rows}
    assert {row["status"] for row in rows} == {"error"}

    assert csp_violations == []


def _text(path: str | Path) -> str:
    return Path(path).read_text(encoding="utf-8-sig")
