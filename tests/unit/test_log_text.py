"""Build-log text without AWS: ANSI colours as CSS classes, escaping, the error patterns."""

from __future__ import annotations

import pytest

from deployments import logsearch, logtext
from web.templatetags.anchor_logs import log_segments, style_classes


@pytest.mark.parametrize(
    ("line", "matches"),
    [
        ("npm ERR! code ELIFECYCLE", True),
        ('Error: Command "npm run build" exited with 1', True),
        ("src/cart.ts(4,2): error TS2322: Type 'string' is not assignable", True),
        ("3 passed, 1 FAILED", True),
        ("Process finished with exit code 137", True),
        ("Process finished with exit code 0", False),
        ("Compiled with 0 errors", False),
    ],
)
def test_the_error_patterns_of_common_build_tools(line, matches):
    assert logsearch.PatternMatcher().line(1, 0, len(line), line) is matches


def test_colours_become_css_classes():
    line = logtext.segments(
        "\x1b[1;32m✓ ok\x1b[0m plain \x1b[38;5;9mbright\x1b[39m", logtext.Style()
    )

    html = str(log_segments(line))

    assert html == (
        '<span class="ansi-bold ansi-fg-2">✓ ok</span> plain <span class="ansi-fg-9">bright</span>'
    )


def test_text_is_escaped_and_only_known_style_names_become_classes():
    segments = [
        logtext.Segment('<script>alert("x")</script>', ("fg-1",)),
        logtext.Segment("&", ('x" onmouseover="alert(1)', "bold")),
    ]

    assert str(log_segments(segments)) == (
        '<span class="ansi-fg-1">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</span>'
        '<span class="ansi-bold">&amp;</span>'
    )
    assert style_classes(["fg-16", "bg-99", "blink"]) == ""


def test_colour_state_carries_to_the_next_line_as_in_a_terminal():
    style = logtext.Style()

    first = logtext.segments("\x1b[33mwarn: starts", style)
    second = logtext.segments("and goes on\x1b[0m, then plain", style)

    assert first == (logtext.Segment("warn: starts", ("fg-3",)),)
    assert second == (
        logtext.Segment("and goes on", ("fg-3",)),
        logtext.Segment(", then plain", ()),
    )


def test_progress_bars_rewritten_with_carriage_returns_show_their_last_state():
    segments = logtext.segments("[#   ] 10%\r[##  ] 50%\r[####] 100%\r", logtext.Style())

    assert "".join(s.text for s in segments) == "[####] 100%"


def test_search_matches_are_marked_case_insensitively_and_escaped():
    from web.templatetags.anchor_logs import log_segments_marked

    segments = [logtext.Segment("<b>Module</b> not found; module", ("fg-1",))]

    assert str(log_segments_marked(segments, "MODULE")) == (
        '<span class="ansi-fg-1">&lt;b&gt;<mark class="anchor-log-match">Module</mark>&lt;/b&gt;'
        ' not found; <mark class="anchor-log-match">module</mark></span>'
    )
