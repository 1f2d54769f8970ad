"""Template filters of the log viewer: a log line's styled segments as escaped HTML.

Load with `{% load anchor_logs %}`. A segment's text is always escaped; its style names (from
deployments.storage, e.g. "fg-1", "bold") become CSS classes `ansi-fg-1`, `ansi-bold` only when
they are among the names the storage module makes, so nothing in a log can reach the markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_STYLE_NAME = re.compile(r"^(?:fg-(?:[0-9]|1[0-5])|bg-(?:[0-9]|1[0-5])|bold|dim|italic|underline)$")


def style_classes(style: Iterable[str]) -> str:
    """The CSS classes of a segment's style ("" for plain text); unknown names are dropped."""
    return " ".join(f"ansi-{name}" for name in style if _STYLE_NAME.match(name))


@register.filter
def log_segments(segments: Iterable[object]) -> SafeString:
    """`{{ line.segments|log_segments }}`: each segment's escaped text, in a span of its colour
    classes when it has any."""
    out: list[str] = []
    for segment in segments:
        text = escape(getattr(segment, "text", ""))
        classes = style_classes(getattr(segment, "style", ()))
        out.append(f'<span class="{classes}">{text}</span>' if classes else str(text))
    return mark_safe("".join(out))  # noqa: S308 - every piece above is escaped or a fixed name
