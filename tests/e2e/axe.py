"""The accessibility gate of the browser tests: axe-core (WCAG 2.1 A and AA) on a page, in light
and dark mode.

Any browser test calls it on the page it has open, after the page has settled:

    from tests.e2e.axe import check_accessibility
    check_accessibility(page, "attention feed")

It runs axe-core, the npm package pinned in tests/e2e/package.json (`npm ci` in tests/e2e puts
it in node_modules; .ci/run does), once with `prefers-color-scheme: light` and once with
`dark`, then puts the page back in the scheme it was in. A violation of impact serious or
critical fails the test with the rule, the element and the colours involved; moderate and minor
ones are printed. Every call adds a row per scheme to the session's table, which
tests/e2e/conftest.py prints at the end and writes to test-artifacts/axe-report.txt.

axe's source is evaluated through Playwright (the DevTools protocol), not added as a <script>:
the console's Content-Security-Policy refuses inline scripts, and evaluation is not subject to
it, so the pages keep their production policy and the CSP-violation counter sees nothing of axe.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
REPORT_FILE = Path(__file__).resolve().parents[2] / "test-artifacts" / "axe-report.txt"
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
SCHEMES = ("light", "dark")
IMPACTS = ("critical", "serious", "moderate", "minor")
BLOCKING = frozenset({"critical", "serious"})


@dataclass
class Row:
    """One page in one colour scheme: how many violations of each impact axe found."""

    page: str
    scheme: str
    url: str
    counts: Counter[str] = field(default_factory=Counter)
    review: int = 0  # "incomplete": what axe could not decide and asks a person to check
    review_rules: list[str] = field(default_factory=list)
    review_items: list[dict[str, Any]] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)


# Every row of the session, in the order the pages were checked.
REPORT: list[Row] = []


@cache
def axe_source() -> str:
    """axe-core's script, or a skip (a fail under CI=true) when `npm ci` has not been run."""
    if not AXE_JS.exists():
        reason = f"{AXE_JS} is missing (run `npm ci` in tests/e2e)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"the accessibility check cannot run in CI: {reason}", pytrace=False)
        pytest.skip(f"accessibility check skipped: {reason}")
    return AXE_JS.read_text(encoding="utf-8")


def check_accessibility(page: Any, name: str, *, record: bool = True) -> list[Row]:
    """Run axe on `page` (a Playwright Page) in light and dark mode; record (unless `record` is
    false) and print the counts; fail on any serious or critical violation. Returns this page's
    rows (one per scheme)."""
    source = axe_source()
    was_dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    rows = []
    try:
        for scheme in SCHEMES:
            page.emulate_media(color_scheme=scheme)
            rows.append(_run(page, name, scheme, source))
    finally:
        page.emulate_media(color_scheme="dark" if was_dark else "light")
    if record:
        REPORT.extend(rows)
        write_report()
    for row in rows:
        for violation in row.violations:
            if violation["impact"] not in BLOCKING:
                print(f"axe {row.page} ({row.scheme}): " + describe(violation))
    blocking = [(row, v) for row in rows for v in row.violations if v["impact"] in BLOCKING]
    if blocking:
        lines = [f"axe-core: {len(blocking)} serious or critical violation(s) on {name!r}:"]
        lines += [f"[{row.scheme}] " + describe(v) for row, v in blocking]
        raise AssertionError("\n".join(lines))
    return rows


def _run(page: Any, name: str, scheme: str, source: str) -> Row:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(source)
    results = page.evaluate(
        """async (tags) => {
            // The colour scheme just changed: let the new styles apply, and the admin's colour
            // transitions (0.15 s on links) finish, before measuring any contrast.
            await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
            await Promise.all(document.getAnimations().map((a) => a.finished.catch(() => null)));
            return await axe.run(document, {
                runOnly: {type: "tag", values: tags},
                resultTypes: ["violations", "incomplete"],
                // No CSSOM preload: it copies the page's stylesheets into <style> elements,
                // which the console's CSP refuses (and the test counts every refusal). Only
                // css-orientation-lock needs it; it is then listed for review.
                preload: false,
            });
        }""",
        list(TAGS),
    )
    row = Row(
        page=name,
        scheme=scheme,
        url=page.url,
        review=len(results["incomplete"]),
        review_rules=sorted(item["id"] for item in results["incomplete"]),
        review_items=results["incomplete"],
    )
    for violation in results["violations"]:
        row.counts[violation["impact"] or "minor"] += 1
        row.violations.append(violation)
    return row


def describe(violation: dict[str, Any]) -> str:
    """A violation in a few readable lines: rule, impact, what it asks, each element and the
    colours axe measured."""
    lines = [
        f"{violation['id']} [{violation['impact']}] {violation['help']} ({violation['helpUrl']})"
    ]
    for node in violation["nodes"][:10]:
        target = " ".join(str(t) for t in node["target"])
        lines.append(f"    {target}{_colours(node)}")
    if len(violation["nodes"]) > 10:
        lines.append(f"    … and {len(violation['nodes']) - 10} more elements")
    return "\n".join(lines)


def _colours(node: dict[str, Any]) -> str:
    for check in node.get("any", []) + node.get("all", []) + node.get("none", []):
        data = check.get("data") or {}
        if not isinstance(data, dict):
            continue
        fg = data.get("fgColor") or data.get("nodeColor")
        bg = data.get("bgColor") or data.get("parentColor")
        if fg or bg:
            ratio = data.get("contrastRatio")
            wanted = data.get("expectedContrastRatio")
            text = f": {fg} on {bg}"
            if ratio:
                text += f", contrast {ratio}:1" + (f" (needs {wanted})" if wanted else "")
            return text
    return ""


def table(rows: list[Row] | None = None) -> str:
    """The per-page table: page, scheme, violations by impact, and axe's items for review."""
    rows = REPORT if rows is None else rows
    width = max([len("page"), *(len(r.page) for r in rows)])
    head = f"{'page':<{width}}  {'scheme':<6}  " + "  ".join(f"{i:>8}" for i in IMPACTS)
    lines = [head + f"  {'review':>6}", "-" * (len(head) + 8)]
    for row in rows:
        counts = "  ".join(f"{row.counts[i]:>8}" for i in IMPACTS)
        lines.append(f"{row.page:<{width}}  {row.scheme:<6}  {counts}  {row.review:>6}")
    total = Counter()
    for row in rows:
        total.update(row.counts)
    lines.append(
        f"{len(rows)} checks of {len({r.page for r in rows})} pages (axe-core "
        f"{_version()}, tags {', '.join(TAGS)}): " + ", ".join(f"{total[i]} {i}" for i in IMPACTS)
    )
    reviews = Counter(rule for row in rows for rule in row.review_rules)
    if reviews:
        lines.append(
            "for review (axe could not decide; checks of pages): "
            + ", ".join(f"{rule} {n}" for rule, n in sorted(reviews.items()))
        )
    return "\n".join(lines)


def _version() -> str:
    package = AXE_JS.parent / "package.json"
    if not package.exists():
        return "?"
    return str(json.loads(package.read_text())["version"])


def write_report() -> None:
    """The table, then each page's moderate and minor violations and items for review."""
    details = []
    for row in REPORT:
        notes = [describe(v) for v in row.violations]
        notes += ["for review: " + describe(item) for item in row.review_items]
        if notes:
            details.append(f"{row.page} ({row.scheme}) {row.url}")
            details += ["  " + line for note in notes for line in note.splitlines()]
    REPORT_FILE.parent.mkdir(parents=True, exist_ok=True)
    REPORT_FILE.write_text("\n".join([table(), "", *details]) + "\n", encoding="utf-8")
