"""Bounded scans of a build log: a search, the first error, the position of a line."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.conf import settings

from deployments import logread
from deployments.logread import Got, LogPosition, LogReadState, Refused, pinned_read, ranged_get
from deployments.logtext import LogLine, Style, plain, plain_window, segments
from deployments.s3access import check_owner
from deployments.schemas import DeploymentSchema
from infra.core.resources import log_key

__all__ = [
    "LineMatcher",
    "LogMatcher",
    "LogScan",
    "PatternMatcher",
    "TextMatcher",
    "scan_log",
]


@dataclass(frozen=True)
class LogScan:
    """What one bounded scan of a log found, and where to go on from."""

    state: LogReadState
    key: str
    etag: str = ""
    size: int = 0
    matches: tuple[LogLine, ...] = ()
    scanned_from: int = 0
    scanned_to: int = 0  # bytes [scanned_from, scanned_to) were read
    resume: LogPosition | None = None  # where to continue; None when the scan reached its end
    replaced: bool = False  # the caller's ETag was not the log's any more: scanned from the start
    storage_class: str = "STANDARD"

    @property
    def scanned(self) -> int:
        return self.scanned_to - self.scanned_from


class LogMatcher(ABC):
    """What a scan looks for. `window` is a run of whole lines (decoded, colours included);
    returning False skips its lines unread, so a scan costs little more than the bytes read."""

    def window(self, text: str, first_line: int, last_line: int, start: int, end: int) -> bool:
        return True

    @abstractmethod
    def line(self, number: int, offset: int, end: int, plain: str) -> bool:
        """Whether the line `number`, bytes [offset, end) of the log, matches."""


class TextMatcher(LogMatcher):
    """A literal string, case-insensitively, in a line's text without its colour codes."""

    def __init__(self, needle: str) -> None:
        self.needle = needle.casefold()

    def window(self, text: str, first_line: int, last_line: int, start: int, end: int) -> bool:
        return self.needle in plain_window(text).casefold()

    def line(self, number: int, offset: int, end: int, plain: str) -> bool:
        return self.needle in plain.casefold()


class PatternMatcher(LogMatcher):
    """Any of some regular expressions (settings.ANCHOR_LOG_ERROR_PATTERNS by default)."""

    def __init__(self, patterns: list[str] | None = None) -> None:
        chosen = settings.ANCHOR_LOG_ERROR_PATTERNS if patterns is None else patterns
        # One by one rather than as one alternation: each keeps re's fast literal search.
        self.patterns = [re.compile(p, re.MULTILINE) for p in chosen]

    def window(self, text: str, first_line: int, last_line: int, start: int, end: int) -> bool:
        plain = plain_window(text)
        return any(pattern.search(plain) for pattern in self.patterns)

    def line(self, number: int, offset: int, end: int, plain: str) -> bool:
        return any(pattern.search(plain) for pattern in self.patterns)


class LineMatcher(LogMatcher):
    """The line of a given number, or the line holding a given byte offset."""

    def __init__(self, *, number: int | None = None, offset: int | None = None) -> None:
        self.number, self.offset = number, offset

    def window(self, text: str, first_line: int, last_line: int, start: int, end: int) -> bool:
        if self.number is not None:
            return first_line <= self.number <= last_line
        return self.offset is not None and self.offset < end

    def line(self, number: int, offset: int, end: int, plain: str) -> bool:
        if self.number is not None:
            return number == self.number
        return self.offset is not None and end >= self.offset


def scan_log(
    user_id: str,
    deployment: DeploymentSchema,
    matcher: LogMatcher,
    *,
    start: LogPosition | None = None,
    etag: str | None = None,
    budget: int | None = None,
    max_matches: int = 100,
    chunk_bytes: int | None = None,
) -> LogScan:
    """Read the tenant's deployment's log forward from `start` (a line's first byte and its
    number; the log's start by default) in ranged GETs of at most `chunk_bytes` each, pinned to
    one ETag, until `max_matches` lines matched, `budget` bytes were read
    (settings.ANCHOR_LOG_SCAN_BYTES) or the log ended. A line split across two reads is joined
    before it is matched. `resume` is where the next scan goes on (a line boundary, its number
    known). A log replaced since `etag` is scanned from its start, `replaced` set. A line longer
    than a chunk is matched on its first chunk's worth. Tenancy as get_build_log.
    """
    check_owner(user_id, deployment)
    key = log_key(deployment.project_id, deployment.deployment_id)
    limit = max(2, chunk_bytes or logread.LOG_CHUNK_BYTES)
    allowance = max(limit, budget or settings.ANCHOR_LOG_SCAN_BYTES)
    begin = start or LogPosition(0, 1)
    return pinned_read(
        key,
        LogScan,
        lambda: _scan(key, matcher, begin, etag, allowance, max_matches, limit),
        lambda: _scan(key, matcher, LogPosition(0, 1), None, allowance, max_matches, limit),
    )


def _scan(
    key: str,
    matcher: LogMatcher,
    begin: LogPosition,
    etag: str | None,
    allowance: int,
    max_matches: int,
    limit: int,
) -> LogScan:
    matches: list[LogLine] = []
    carry = b""  # the start of a line whose end is not read yet
    carry_at, number = begin.offset, begin.line  # where `carry` starts, and its line's number
    overlong = False  # `carry` is the start of a line longer than a chunk; the rest is skipped
    position = begin.offset
    size = position
    storage_class = "STANDARD"

    def done(resume: LogPosition | None) -> LogScan:
        return LogScan(
            state="available",
            key=key,
            etag=etag or "",
            size=size,
            matches=tuple(matches),
            scanned_from=begin.offset,
            scanned_to=position,
            resume=resume,
            storage_class=storage_class,
        )

    while True:
        if position > begin.offset and position - begin.offset + limit > allowance:
            # The budget is spent: go on from the line being read (or, inside a line longer
            # than a chunk, from here, in that line).
            return done(
                LogPosition(position, number) if overlong else LogPosition(carry_at, number)
            )
        read_at = position
        try:
            got = ranged_get(key, position, position + limit - 1, etag)
        except Refused as refused:
            if refused.code != "InvalidRange":
                raise
            got = Got(b"", position, position, etag or "", storage_class)
        etag, size, storage_class = got.etag, got.size, got.storage_class
        data = got.data
        position += len(data)
        at_end = position >= size or not data
        if overlong:
            newline = data.find(b"\n")
            if newline < 0 and not at_end:
                continue
            # The long line ends here: match the part of it that was kept.
            found, _ = _match_lines(carry, carry_at, number, matcher, max_matches - len(matches))
            matches += found
            skip = newline + 1 if newline >= 0 else len(data)
            carry, carry_at, number, overlong = b"", read_at + skip, number + 1, False
            data = data[skip:]
            if len(matches) >= max_matches:
                return done(None if carry_at >= size else LogPosition(carry_at, number))
        window = carry + data
        cut = window.rfind(b"\n")
        whole, carry = window[: cut + 1], window[cut + 1 :]
        if at_end and carry:
            whole, carry = window, b""
        if whole:
            found, next_line = _match_lines(
                whole, carry_at, number, matcher, max_matches - len(matches)
            )
            matches += found
            if found and len(matches) >= max_matches:
                last = matches[-1]
                after = last.offset + len(_line_bytes(whole, last.offset - carry_at)) + 1
                assert last.number is not None
                return done(LogPosition(after, last.number + 1) if after < size else None)
            carry_at, number = carry_at + len(whole), next_line
        if len(carry) > limit:
            carry, overlong = carry[:limit], True
        if at_end:
            return done(None)


def _line_bytes(window: bytes, at: int) -> bytes:
    stop = window.find(b"\n", at)
    return window[at : len(window) if stop < 0 else stop]


def _match_lines(
    whole: bytes, offset: int, number: int, matcher: LogMatcher, room: int
) -> tuple[list[LogLine], int]:
    """The matching lines of `whole` (lines of the log from byte `offset`, the first numbered
    `number`), at most `room` of them, and the number of the line after the window."""
    count = whole.count(b"\n") + (0 if whole.endswith(b"\n") else 1)
    text = whole.decode("utf-8", errors="replace")
    if not matcher.window(text, number, number + count - 1, offset, offset + len(whole)):
        return [], number + count
    found: list[LogLine] = []
    position = 0
    current = number
    while position < len(whole) and len(found) < room:
        stop = whole.find(b"\n", position)
        stop = len(whole) if stop < 0 else stop
        raw = whole[position:stop].decode("utf-8", errors="replace")
        line_offset = offset + position
        if matcher.line(current, line_offset, offset + stop, plain(raw)):
            found.append(LogLine(current, line_offset, segments(raw, Style())))
        current += 1
        position = stop + 1
    return found, number + count
