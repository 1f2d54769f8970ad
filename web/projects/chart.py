"""The project page's chart: deployments per day over the last 30 days, stacked by outcome.

Drawn on the server as inline SVG (no script, no CDN). Days are Singapore days (the site's time
zone, and the day of the stored counters), today included. The data is the project's per-day
counters (deployments.history.list_project_day_counts): one Query of at most 31 small items,
whatever the size of the project.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from deployments import history
from deployments.history import DayCounts
from deployments.schemas import DeploymentSchema

DAYS = 30
# Bottom to top: finished outcomes first, then what is still in flight.
OUTCOMES = ("ready", "error", "canceled", "building", "queued")

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 12, 24


@dataclass(frozen=True)
class DayBar:
    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Chart:
    bars: list[DayBar]
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def window(today: date | None = None, days: int = DAYS) -> tuple[date, date]:
    """The first and last Singapore day the chart shows."""
    today = today or timezone.localdate()
    return today - timedelta(days=days - 1), today


def project_chart(user_id: str, project_id: str, *, today: date | None = None) -> Chart:
    """The tenant's project's chart, from its day counters: one Query."""
    first, last = window(today)
    counts = history.list_project_day_counts(user_id, project_id, first_day=first, last_day=last)
    return chart_from_counts(counts, today=last)


def chart_from_counts(counts: Sequence[DayCounts], *, today: date | None = None) -> Chart:
    """The chart of the DAYS days ending today, from per-day counts (days outside ignored)."""
    today = today or timezone.localdate()
    days = [today - timedelta(days=offset) for offset in range(DAYS - 1, -1, -1)]
    per_day: dict[date, Counter[str]] = {day: Counter() for day in days}
    totals: Counter[str] = Counter()
    for row in counts:
        if row.day in per_day:
            for status, count in row.counts.items():
                if count > 0:
                    per_day[row.day][status] += count
                    totals[status] += count
    bars = [DayBar(day, {s: per_day[day][s] for s in OUTCOMES if per_day[day][s]}) for day in days]
    return Chart(bars=bars, totals={s: totals[s] for s in OUTCOMES if totals[s]})


def build_chart(items: Sequence[DeploymentSchema], *, today: date | None = None) -> Chart:
    """Count deployments per Singapore day and outcome over the DAYS days ending today."""
    per_day: dict[date, Counter[str]] = {}
    for item in items:
        day = timezone.localtime(item.created_at).date()
        per_day.setdefault(day, Counter())[str(item.status.value)] += 1
    counts = [DayCounts(day=day, counts=dict(c)) for day, c in per_day.items()]
    return chart_from_counts(counts, today=today)


def _scale_top(peak: int) -> int:
    """A round top for the y axis (at least 2, so the middle gridline is a whole number)."""
    for step in (2, 4, 6, 10, 20, 40, 50, 100, 200, 400, 500, 1000):
        if peak <= step:
            return step
    return -(-peak // 1000) * 1000


@dataclass(frozen=True)
class TableRow:
    """One day of the chart as a row of its table: the counts readable without a pointer."""

    day: date
    label: str
    total: int
    counts: list[int]  # in OUTCOMES order


def table_rows(chart: Chart) -> list[TableRow]:
    """The chart's days, newest first, each with its count per outcome (OUTCOMES order)."""
    return [
        TableRow(bar.day, _day_label(bar.day), bar.total, [bar.counts.get(s, 0) for s in OUTCOMES])
        for bar in reversed(chart.bars)
    ]


def _day_label(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _bar_title(bar: DayBar) -> str:
    label = _day_label(bar.day)
    if not bar.total:
        return f"{label}: no deployments"
    parts = ", ".join(f"{bar.counts[s]} {s}" for s in OUTCOMES if s in bar.counts)
    noun = "deployment" if bar.total == 1 else "deployments"
    return f"{label}: {bar.total} {noun} ({parts})"


def render_svg(chart: Chart) -> SafeString:
    """The chart as an inline, responsive SVG; colours come from the stylesheet (light and dark)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _scale_top(max((b.total for b in chart.bars), default=0))
    slot = plot_w / len(chart.bars)
    bar_w = slot * 0.7
    grid = format_html_join(
        "",
        '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
        (
            (LEFT, WIDTH - RIGHT, y, y, LEFT - 6, y + 4, value)
            for value in (0, top // 2, top)
            for y in [round(TOP + plot_h - plot_h * value / top, 1)]
        ),
    )
    bars = []
    for index, bar in enumerate(chart.bars):
        x = round(LEFT + index * slot + (slot - bar_w) / 2, 1)
        base = TOP + plot_h
        rects = []
        for status in OUTCOMES:
            count = bar.counts.get(status, 0)
            if not count:
                continue
            height = plot_h * count / top
            base -= height
            rects.append(
                format_html(
                    '<rect class="chart-{}" x="{}" y="{}" width="{}" height="{}"/>',
                    status,
                    x,
                    round(base, 1),
                    round(bar_w, 1),
                    round(height, 1),
                )
            )
        # A transparent full-height target so every day, even an empty one, has a tooltip.
        target = format_html(
            '<rect class="chart-hit" x="{}" y="{}" width="{}" height="{}"/>',
            round(LEFT + index * slot, 1),
            TOP,
            round(slot, 1),
            plot_h,
        )
        label = ""
        if index % 5 == 4 or index == 0:
            label = format_html(
                '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{} {}</text>',
                round(x + bar_w / 2, 1),
                HEIGHT - 6,
                bar.day.day,
                f"{bar.day:%b}",
            )
        bars.append(
            format_html(
                "<g><title>{}</title>{}{}{}</g>",
                _bar_title(bar),
                SafeString("".join(rects)),
                target,
                label,
            )
        )
    summary = f"{chart.total} deployments in the last {DAYS} days"
    return format_html(
        '<svg class="anchor-chart" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'preserveAspectRatio="xMidYMid meet">{}{}</svg>',
        WIDTH,
        HEIGHT,
        summary,
        grid,
        SafeString("".join(bars)),
    )
