"""The needs-attention feed in real Chromium, served by the production server over moto's server:
a staff member starts the day on it, in light and dark mode and at phone width, and the list
refreshes itself (a fetch of its fragment, no reload) when a new build gets stuck.

Reuses the console browser test's fixtures (moto server, `manage.py serve`, the CSP watch).
Screenshots go to test-artifacts/screenshots/attention/ (a folder of its own: the console
browser test empties the screenshots folder's own PNGs when it starts).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import now
from infra.local import processes
from projects import repository as projects
from tests.e2e.axe import check_accessibility
from tests.e2e.stage import PASSWORD, SCREENSHOTS, USERNAME, Stage, assert_styled

pytestmark = pytest.mark.e2e

S = DeploymentStatus
_serial = iter(range(1, 10**6))


def _deployment(project, status: S, *, created_ago: timedelta, **times: timedelta):
    n = next(_serial)
    moment = now()
    created = moment - created_ago
    started = moment - times["started_ago"] if "started_ago" in times else None
    ended = moment - times["ended_ago"] if "ended_ago" in times else None
    return DeploymentSchema(
        deployment_id=f"dpl_e2eattention{n:04d}",
        project_id=project.project_id,
        user_id=project.user_id,
        commit_sha=f"{n:04x}c0ffee1234567890abcdef",
        message=f"Change {n}",
        branch="main",
        status=status,
        created_at=created,
        updated_at=ended or started or created,
        started_at=started,
        ended_at=ended,
        error="next build failed: exit code 1" if status is S.ERROR else None,
    )


@pytest.fixture(scope="module")
def attention_data(stage: Stage, moto_server: processes.LocalService) -> Iterator[dict]:
    """A second tenant with a stuck build, a long-queued deployment and a fresh failure."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
        aws.reset_clients()
        try:
            docs = projects.create_project(
                "globex-labs",
                {"name": "docs-site", "repo_url": "https://github.com/globex/docs-site"},
            )
            rows = {
                "stuck": _deployment(
                    docs,
                    S.BUILDING,
                    created_ago=timedelta(hours=2, minutes=40),
                    started_ago=timedelta(hours=2, minutes=39),
                ),
                "queued": _deployment(docs, S.QUEUED, created_ago=timedelta(minutes=42)),
                "error": _deployment(
                    docs,
                    S.ERROR,
                    created_ago=timedelta(hours=5),
                    started_ago=timedelta(hours=5),
                    ended_ago=timedelta(hours=4, minutes=55),
                ),
            }
            deployments.import_deployments("globex-labs", docs.project_id, list(rows.values()))
            yield {"project": docs, "rows": rows, "endpoint": moto_server.endpoint}
        finally:
            aws.reset_clients()


def test_a_staff_member_starts_the_day_on_the_feed_and_it_refreshes_itself(
    stage: Stage, attention_data: dict, page, csp_violations: list[str]
) -> None:
    from playwright.sync_api import expect

    folder = SCREENSHOTS / "attention"
    folder.mkdir(parents=True, exist_ok=True)
    shots: list[Path] = []

    def shot(name: str) -> None:
        path = folder / f"{len(shots) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    page.clock.install()  # the 30-second refresh is fast-forwarded, not waited for
    page.goto(f"{stage.base_url}/admin/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    first_link = page.locator("#content a[href]").first
    expect(first_link).to_have_text("Needs attention")
    first_link.click()

    expect(page.locator("h1")).to_have_text("Needs attention")
    breadcrumbs = page.locator(".breadcrumbs")
    expect(breadcrumbs.get_by_role("link", name="Home")).to_be_visible()
    expect(breadcrumbs).to_contain_text("Needs attention")
    assert_styled(page)
    rows = page.locator("#attention-feed tbody tr")
    expect(rows).to_have_count(4)
    docs = attention_data["rows"]
    # Newest first: queued 42 min ago, the browser test's own build stuck since 2 h ago (the
    # stage's acme-corp tenant), started 2 h 39 min ago, failed 4 h 55 min ago.
    expect(rows.nth(0)).to_contain_text("Long queued")
    expect(rows.nth(0)).to_contain_text(docs["queued"].deployment_id)
    expect(rows.nth(1)).to_contain_text("Stuck build")
    expect(rows.nth(1)).to_contain_text(stage.stuck.deployment_id)
    expect(rows.nth(2)).to_contain_text("Stuck build")
    expect(rows.nth(2)).to_contain_text("2h 39m")
    expect(rows.nth(3)).to_contain_text("Failed")
    expect(rows.nth(2).get_by_role("link", name="docs-site")).to_be_visible()
    expect(rows.nth(2).get_by_role("link", name="globex-labs")).to_be_visible()
    shot("light")

    page.emulate_media(color_scheme="dark")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)", background  # the admin's dark theme applies
    shot("dark")
    page.emulate_media(color_scheme="light")

    # Another build gets stuck meanwhile: the next refresh shows it without reloading the page.
    marker = page.evaluate("window.anchorMarker = 'same page'; window.anchorMarker")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", attention_data["endpoint"])
        aws.reset_clients()
        try:
            late = _deployment(
                attention_data["project"],
                S.BUILDING,
                created_ago=timedelta(hours=1, minutes=20),
                started_ago=timedelta(hours=1, minutes=15),
            )
            deployments.import_deployments("globex-labs", late.project_id, [late])
        finally:
            aws.reset_clients()
    expect(rows).to_have_count(4)
    with page.expect_response(lambda r: r.url.endswith("/admin/attention/")) as refreshed:
        page.clock.run_for(31_000)
    assert refreshed.value.request.headers.get("x-anchor-refresh") == "1"
    expect(rows).to_have_count(5)
    expect(page.locator("#attention-feed")).to_contain_text(late.deployment_id)
    assert page.evaluate("window.anchorMarker") == marker  # no full reload happened

    # At phone width the kind and age stay on screen.
    page.set_viewport_size({"width": 390, "height": 844})
    badge = rows.nth(0).locator(".badge")
    expect(badge).to_be_in_viewport()
    shot("phone")
    page.emulate_media(color_scheme="dark")
    shot("phone-dark")

    # The deployment link opens the deployment.
    page.set_viewport_size({"width": 1280, "height": 900})
    rows.nth(0).get_by_role("link", name=docs["queued"].deployment_id).click()
    expect(page.locator("h1")).to_contain_text(docs["queued"].deployment_id)

    # The accessibility gate (axe-core times itself with timers, so the clock runs freely now).
    page.clock.resume()
    page.goto(f"{stage.base_url}/admin/attention/")
    expect(rows).to_have_count(5)
    check_accessibility(page, "attention")
    page.set_viewport_size({"width": 390, "height": 844})
    check_accessibility(page, "attention-phone")

    assert csp_violations == []
    print("\n" + "\n".join(f"screenshot: {p}" for p in shots))
