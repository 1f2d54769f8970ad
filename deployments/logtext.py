"""A build log's text as the console shows it: terminal colours (ANSI SGR) turned into styled
runs, the escape and control characters a page must not show removed, a progress bar's carriage
returns resolved as a terminal would, lines numbered from a known position, and bytes cut only
between UTF-8 characters. Pure functions on text and bytes: no AWS, no Django (the log readers,
deployments.logstore, logread, logsearch and livetail, read the bytes; the pages escape the text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CSI = re.compile(r"\x1b\[([0-9;?]*)([ -/]*)([@-~])")
_OTHER_ESCAPE = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x1b")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SGR_COLOURS = {**{30 + n: n for n in range(8)}, **{90 + n: 8 + n for n in range(8)}}
_SGR_BACKGROUNDS = {**{40 + n: n for n in range(8)}, **{100 + n: 8 + n for n in range(8)}}
_SGR_FLAGS = {1: "bold", 2: "dim", 3: "italic", 4: "underline"}
_SGR_CLEARS = {22: ("bold", "dim"), 23: ("italic",), 24: ("underline",)}


@dataclass(frozen=True)
class Segment:
    """A run of a log line's text in one style: names such as "fg-1" (ANSI colour 1), "bg-4",
    "bold" that the page maps to CSS classes. The text is plain: escaping is the page's job."""

    text: str
    style: tuple[str, ...] = ()


@dataclass(frozen=True)
class LogLine:
    """One line of a log as the viewer shows it."""

    number: int | None  # 1-based; None where the chunk's line numbers are not known
    offset: int  # byte offset of the line's first byte in the log
    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        return "".join(segment.text for segment in self.segments)


class Style:
    """The SGR state of a terminal, carried from line to line of one read."""

    def __init__(self) -> None:
        self.fg: int | None = None
        self.bg: int | None = None
        self.flags: set[str] = set()

    def names(self) -> tuple[str, ...]:
        names = sorted(self.flags)
        if self.fg is not None:
            names.append(f"fg-{self.fg}")
        if self.bg is not None:
            names.append(f"bg-{self.bg}")
        return tuple(names)

    def apply(self, params: str) -> None:
        codes = (
            [int(part) if part.isdigit() else 0 for part in params.split(";")] if params else [0]
        )
        index = 0
        while index < len(codes):
            code = codes[index]
            if code == 0:
                self.fg, self.bg, self.flags = None, None, set()
            elif code in _SGR_FLAGS:
                self.flags.add(_SGR_FLAGS[code])
            elif code in _SGR_CLEARS:
                self.flags.difference_update(_SGR_CLEARS[code])
            elif code in _SGR_COLOURS:
                self.fg = _SGR_COLOURS[code]
            elif code in _SGR_BACKGROUNDS:
                self.bg = _SGR_BACKGROUNDS[code]
            elif code == 39:
                self.fg = None
            elif code == 49:
                self.bg = None
            elif code in (38, 48):
                # 256-colour (5;n) keeps the 16 basic colours; true colour (2;r;g;b) is dropped.
                mode = codes[index + 1] if index + 1 < len(codes) else None
                if mode == 5 and index + 2 < len(codes):
                    colour = codes[index + 2] if codes[index + 2] < 16 else None
                    if code == 38:
                        self.fg = colour
                    else:
                        self.bg = colour
                    index += 2
                elif mode == 2:
                    index += 4
            index += 1


def plain(text: str) -> str:
    """A line's text without escape sequences or control characters (what search matches)."""
    text = _CSI.sub("", text)
    text = _OTHER_ESCAPE.sub("", text)
    return _CONTROL.sub("", _last_rewrite(text))


def plain_window(text: str) -> str:
    """Many lines without escapes and control characters (newlines kept): where a line can
    match at all (`plain` of each line only removes more, before a carriage return)."""
    if "\x1b" in text:
        text = _OTHER_ESCAPE.sub("", _CSI.sub("", text))
    return _CONTROL.sub("", text)


def _last_rewrite(text: str) -> str:
    # A carriage return (progress bars) rewrites the line: keep what the terminal would show.
    text = text.rstrip("\r")
    return text.rsplit("\r", 1)[-1] if "\r" in text else text


def segments(text: str, style: Style) -> tuple[Segment, ...]:
    """A line split into styled runs; `style` carries on to the next line, as in a terminal."""
    text = _last_rewrite(text)
    out: list[Segment] = []
    position = 0
    for match in _CSI.finditer(text):
        if match.start() > position:
            _add(out, text[position : match.start()], style)
        if match.group(3) == "m" and not match.group(2):
            style.apply(match.group(1))
        position = match.end()
    _add(out, text[position:], style)
    return tuple(out)


def _add(out: list[Segment], raw: str, style: Style) -> None:
    text = _CONTROL.sub("", _OTHER_ESCAPE.sub("", raw))
    if text:
        out.append(Segment(text, style.names()))


def utf8_cut(data: bytes) -> int:
    """Where to cut `data` (bytes read from a longer text) so no character is split: before
    its last character when that one is incomplete."""
    index, back = len(data) - 1, 0
    while index >= 0 and back < 3 and (data[index] & 0xC0) == 0x80:
        index, back = index - 1, back + 1
    if index < 0:
        return len(data)
    lead = data[index]
    need = 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return index if len(data) - index < need else len(data)


def split_lines(data: bytes, offset: int, first: int | None) -> tuple[LogLine, ...]:
    """The lines of `data` (bytes of the log from `offset`; a final newline ends the last line,
    it does not start another), numbered from `first`, colours carried from line to line."""
    style = Style()
    lines: list[LogLine] = []
    position = 0
    number = first
    body = data[:-1] if data.endswith(b"\n") else data
    if not data:
        return ()
    while True:
        stop = body.find(b"\n", position)
        stop = len(body) if stop < 0 else stop
        text = body[position:stop].decode("utf-8", errors="replace")
        lines.append(LogLine(number, offset + position, segments(text, style)))
        if number is not None:
            number += 1
        if stop >= len(body):
            return tuple(lines)
        position = stop + 1
