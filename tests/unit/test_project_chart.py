"""The project page's 30-day chart: Singapore days, stacking by outcome, and the SVG it draws."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from deployments.schemas import DeploymentSchema
from deployments.schemas import DeploymentStatus as S
from web.projects.chart import DAYS, build_chart, render_svg, window

TODAY = date(2025, 3, 10)


def deployment(created: datetime, status: S = S.READY) -> DeploymentSchema:
    return DeploymentSchema(
        deployment_id="dpl_0000000000000001",
        project_id="prj_0000000000000001",
        user_id="usr_a",
        commit_sha="abcdef1",
        branch="main",
        status=status,
        created_at=created,
        updated_at=created,
    )


def test_the_window_is_the_thirty_singapore_days_ending_today() -> None:
    assert window(TODAY) == (date(2025, 2, 9), TODAY)


def test_a_deployment_after_utc_evening_counts_on_the_next_singapore_day() -> None:
    late = datetime(2025, 3, 8, 17, 30, tzinfo=UTC)  # 9 Mar 01:30 in Singapore
    bars = {bar.day: bar for bar in build_chart([deployment(late)], today=TODAY).bars}
    assert bars[date(2025, 3, 9)].counts == {"ready": 1}
    assert bars[date(2025, 3, 8)].total == 0


def test_the_chart_has_thirty_days_ending_today_and_ignores_older_deployments() -> None:
    old = datetime(2025, 1, 1, tzinfo=UTC)
    chart = build_chart([deployment(old)], today=TODAY)
    assert len(chart.bars) == DAYS
    assert (chart.bars[0].day, chart.bars[-1].day) == (date(2025, 2, 9), TODAY)
    assert chart.total == 0


def test_each_day_stacks_its_outcomes_and_the_svg_says_so_on_hover() -> None:
    noon = datetime(2025, 3, 10, 4, 0, tzinfo=UTC)
    items = [
        deployment(noon, S.READY),
        deployment(noon + timedelta(minutes=5), S.READY),
        deployment(noon + timedelta(minutes=9), S.ERROR),
    ]
    chart = build_chart(items, today=TODAY)
    assert chart.bars[-1].counts == {"ready": 2, "error": 1}
    svg = str(render_svg(chart))
    assert "<title>Mon 10 Mar: 3 deployments (2 ready, 1 error)</title>" in svg
    assert svg.count('class="chart-ready"') == 1 and svg.count('class="chart-error"') == 1
    assert "<title>Sun 9 Mar: no deployments</title>" in svg
    assert svg.startswith('<svg class="anchor-chart"') and "<script" not in svg
