"""Template filters of the log viewer: a log line's styled segments as escaped HTML.

Load with `{% load anchor_logs %}`. A segment's text is always escaped; its style names (from
deployments.logtext, e.g. "fg-1", "bold") become CSS classes `ansi-fg-1`, `ansi-bold` only when
they are among the names the logtext module makes, so nothing in a log can reach the markup.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_STYLE_NAME = re.compile(r"^(?:fg-(?:[0-9]|1[0-5])|bg-(?:[0-9]|1[0-5])|bold|dim|italic|underline)$")


def style_classes(style: Iterable[str]) -> str:
    """The CSS classes of a segment's style ("" for plain text); unknown names are dropped."""
    return _classes(tuple(style))


@functools.lru_cache(maxsize=512)
def _classes(style: tuple[str, ...]) -> str:
    return " ".join(f"ansi-{name}" for name in style if _STYLE_NAME.match(str(name)))


@register.filter
def log_segments(segments: Iterable[object]) -> SafeString:
    """`{{ line.segments|log_segments }}`: each segment's escaped text, in a span of its colour
    classes when it has any."""
    return mark_safe(_segments_html(segments))  # noqa: S308 - escaped text, fixed class names


def _segments_html(segments: Iterable[object]) -> str:
    out: list[str] = []
    for segment in segments:
        # The standard library's escape: Django's (the same five characters) is several times
        # slower per call, and a chunk has thousands of segments.
        text = html.escape(str(getattr(segment, "text", "")), quote=True)
        classes = _classes(tuple(getattr(segment, "style", ())))
        out.append(f'<span class="{classes}">{text}</span>' if classes else text)
    return "".join(out)


@register.filter
def log_rows(lines: Iterable[object], numbered: bool = True) -> SafeString:
    """`{{ chunk.lines|log_rows:numbered }}`: a chunk's lines, each a row of the viewer's <pre>;
    numbered rows carry the id `L123` and a link to it. Built in one pass (a chunk can hold
    thousands of lines: a template loop would take half a second)."""
    out: list[str] = []
    for line in lines:
        body = _segments_html(getattr(line, "segments", ()))
        number = getattr(line, "number", None)
        if numbered and number is not None:
            out.append(
                f'<span class="anchor-ll" id="L{number:d}"><a class="anchor-ln" '
                f'href="#L{number:d}">{number:d}</a>{body}\n</span>'
            )
        else:
            out.append(
                '<span class="anchor-ll"><span class="anchor-ln anchor-ln-unknown" '
                f'aria-hidden="true">·</span>{body}\n</span>'
            )
    return mark_safe("".join(out))  # noqa: S308 - text escaped, numbers formatted as integers


@register.filter
def log_segments_marked(segments: Iterable[object], query: str) -> SafeString:
    """`{{ line.segments|log_segments_marked:query }}`: as log_segments, each case-insensitive
    occurrence of `query` inside a segment wrapped in <mark>."""
    if not query:
        return log_segments(segments)
    pattern = re.compile(re.escape(query), re.IGNORECASE)
    out: list[str] = []
    for segment in segments:
        text = str(getattr(segment, "text", ""))
        pieces: list[str] = []
        position = 0
        for match in pattern.finditer(text):
            pieces.append(html.escape(text[position : match.start()], quote=True))
            pieces.append(f'<mark class="anchor-log-match">{html.escape(match.group(0))}</mark>')
            position = match.end()
        pieces.append(html.escape(text[position:], quote=True))
        classes = _classes(tuple(getattr(segment, "style", ())))
        body = "".join(pieces)
        out.append(f'<span class="{classes}">{body}</span>' if classes else body)
    return mark_safe("".join(out))  # noqa: S308 - text escaped, fixed tags and class names
