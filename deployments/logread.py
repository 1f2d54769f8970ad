"""Reading a build log in ranged chunks of whole lines, pinned to one ETag: the log viewer's pages.

Also the ranged GET and the pinned read that deployments.logsearch and deployments.livetail share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

from botocore.exceptions import ClientError

from deployments.logtext import LogLine, split_lines, utf8_cut
from deployments.s3access import check_owner
from deployments.schemas import DeploymentSchema
from infra.core import aws
from infra.core.errors import NotFound, Unavailable, aws_errors, error_code
from infra.core.resources import LOGS, log_key

__all__ = [
    "LogChunk",
    "LogPosition",
    "read_log_chunk",
]

# A log is read in ranges of at most LOG_CHUNK_BYTES, pinned to one ETag (If-Match), so a 200 MB
# log never reaches memory whole and a log replaced mid-read is noticed rather than spliced. Every
# chunk starts and ends on a line boundary (a line longer than a chunk is cut at a UTF-8 character
# boundary, never inside a character). Line numbers are only known counting from the start: a
# chunk read from a position whose line number the caller knows (the start of the log, or a
# position the viewer signed earlier for this ETag) is numbered; one read from anywhere else is
# not, and says so.

LOG_CHUNK_BYTES = 256 * 1024

LogReadState = Literal["available", "archived", "missing"]


@dataclass(frozen=True)
class LogPosition:
    """A byte offset of a log and the number of the line that byte belongs to."""

    offset: int
    line: int


@dataclass(frozen=True)
class LogChunk:
    """Bytes [start, end) of a log as whole lines (one ranged GET), or why there are none."""

    state: LogReadState
    key: str
    etag: str = ""
    size: int = 0
    start: int = 0
    end: int = 0
    first_line: int | None = None  # the number of lines[0]; None when not known
    next_line: int | None = None  # the number of the line byte `end` belongs to
    lines: tuple[LogLine, ...] = ()
    continues_line: bool = False  # lines[0] began before `start` (a line longer than a chunk)
    ends_mid_line: bool = False  # the last line goes on past `end`
    storage_class: str = "STANDARD"
    replaced: bool = False  # the caller's ETag was not the log's any more: read from the start

    @property
    def available(self) -> bool:
        return self.state == "available"

    @property
    def has_older(self) -> bool:
        return self.start > 0

    @property
    def has_newer(self) -> bool:
        return self.end < self.size


class Refused(Exception):
    """A ranged GET refused with one of the codes each reader interprets itself."""

    def __init__(self, code: str, storage_class: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.storage_class = storage_class


@dataclass
class Got:
    data: bytes
    start: int  # the offset of data[0]
    size: int
    etag: str
    storage_class: str


def ranged_get(key: str, first: int | None, last: int, etag: str | None) -> Got:
    """One GetObject of bytes first..last (inclusive) of the log, or of its last `last` bytes
    when `first` is None; If-Match `etag` when given. PreconditionFailed (the log changed),
    InvalidRange (nothing there) and InvalidObjectState (archived) raise Refused."""
    spec = f"bytes=-{last}" if first is None else f"bytes={first}-{last}"
    kwargs: dict[str, Any] = {"Bucket": LOGS.name(), "Key": key, "Range": spec}
    if etag:
        kwargs["IfMatch"] = etag
    with aws_errors():
        try:
            response = aws.s3().get_object(**kwargs)
            data = response["Body"].read()
        except ClientError as error:
            code = error_code(error)
            if code in {"PreconditionFailed", "InvalidRange", "InvalidObjectState"}:
                detail = error.response.get("Error", {})
                raise Refused(code, str(detail.get("StorageClass") or "")) from error
            raise
    content_range = str(response.get("ContentRange", ""))
    first_byte, _, total = content_range.removeprefix("bytes ").partition("/")
    start = int(first_byte.partition("-")[0]) if first_byte[:1].isdigit() else 0
    return Got(
        data=data,
        start=start,
        size=int(total) if total.isdigit() else start + len(data),
        etag=str(response.get("ETag", "")),
        storage_class=response.get("StorageClass") or "STANDARD",
    )


def _skip_continuation(data: bytes) -> int:
    """How many bytes at the start of `data` belong to a character begun before it."""
    skip = 0
    while skip < min(3, len(data)) and (data[skip] & 0xC0) == 0x80:
        skip += 1
    return skip


def read_log_chunk(
    user_id: str,
    deployment: DeploymentSchema,
    *,
    start: int | None = None,
    end: int | None = None,
    known: LogPosition | None = None,
    etag: str | None = None,
    chunk_bytes: int | None = None,
) -> LogChunk:
    """Whole lines of the tenant's deployment's build log from one ranged GET of at most
    `chunk_bytes` (LOG_CHUNK_BYTES) bytes: those from byte `start`, or those ending at byte
    `end` (the chunk before), or, with neither, the log's last chunk. Tenancy as get_build_log.

    `known` is a position whose line number the caller knows (at `start`, or at `end`), valid for
    the log whose ETag is `etag`: the read is pinned to that ETag, and a log replaced since comes
    back read from its start with `replaced` set. Without it, a `start` that is not a line's first
    byte moves on to the next line, and the chunk's lines are numbered only when it starts the log.
    An archived log reads as "archived", an absent one as "missing"; past the end is the last chunk.
    """
    check_owner(user_id, deployment)
    limit = max(2, chunk_bytes or LOG_CHUNK_BYTES)
    key = log_key(deployment.project_id, deployment.deployment_id)
    if known is not None and (etag is None or known.offset != (start if end is None else end)):
        known = None
    return pinned_read(
        key,
        LogChunk,
        lambda: _read_chunk(key, start, end, known, etag, limit),
        lambda: _read_chunk(key, 0, None, None, None, limit),
    )


_Read = TypeVar("_Read")  # a LogChunk or a deployments.logsearch.LogScan


def pinned_read(
    key: str, kind: type[_Read], read: Callable[[], _Read], from_start: Callable[[], _Read]
) -> _Read:
    """`read()`, pinned to an ETag: a log replaced since (PreconditionFailed) is read again by
    `from_start()` and marked `replaced`. An archived log is a `kind` in state "archived", an
    absent one "missing"; any other refusal is Unavailable."""
    try:
        try:
            return read()
        except Refused as refused:
            if refused.code != "PreconditionFailed":
                raise
            return replace(from_start(), replaced=True)
    except Refused as refused:
        if refused.code == "InvalidObjectState":
            return kind(state="archived", key=key, storage_class=refused.storage_class)
        raise Unavailable(f"the build log {key} could not be read ({refused.code})") from None
    except NotFound:
        return kind(state="missing", key=key)


def _read_chunk(
    key: str,
    start: int | None,
    end: int | None,
    known: LogPosition | None,
    etag: str | None,
    limit: int,
) -> LogChunk:
    try:
        if end is not None and end > 0:
            first = max(0, end - limit)
            return _chunk_ending_at(key, ranged_get(key, first, end - 1, etag), end, known)
        if start is None and end is None:
            got = ranged_get(key, None, limit, etag)  # the last chunk: also tells size and ETag
            return _chunk_from(key, got, None, after_byte=got.start > 0)
        begin = max(0, start or 0)
        # From the byte before `start`: it tells whether `start` begins a line.
        first = begin - 1 if begin > 0 else 0
        got = ranged_get(key, first, first + limit - 1, etag)
        return _chunk_from(key, got, known, after_byte=begin > 0)
    except Refused as refused:
        if refused.code != "InvalidRange":
            raise
        if start is None and end is None:
            return LogChunk(state="available", key=key, etag=etag or "", first_line=1, next_line=1)
        return _read_chunk(key, None, None, None, etag, limit)  # past the end: the last chunk


def _chunk_from(key: str, got: Got, known: LogPosition | None, *, after_byte: bool) -> LogChunk:
    """The chunk of `got` read from its first byte, or (`after_byte`) from its second: the first
    is the byte before the chunk, read to tell whether the chunk starts a line."""
    data, start = got.data, got.start
    continues = False
    line = None if after_byte else 1
    if after_byte:
        aligned = data[:1] == b"\n"
        data, start = data[1:], start + 1
        if known is not None:
            line, continues = known.line, not aligned
        elif not aligned:
            newline = data.find(b"\n")
            if newline >= 0 and (newline + 1 < len(data) or start + len(data) >= got.size):
                data, start = data[newline + 1 :], start + newline + 1
            else:  # all of it is inside one line longer than a chunk
                skip = _skip_continuation(data)
                data, start, continues = data[skip:], start + skip, True
    ends_mid_line = False
    if start + len(data) < got.size:
        newline = data.rfind(b"\n")
        if newline >= 0:
            data = data[: newline + 1]
        else:
            data = data[: utf8_cut(data)]
            ends_mid_line = True
    return _chunk(key, got, data, start, line, continues, ends_mid_line)


def _chunk_ending_at(key: str, got: Got, end: int, known: LogPosition | None) -> LogChunk:
    """The chunk of whole lines of `got` (bytes up to `end`, a line boundary or a chunk's cut)."""
    data, start = got.data[: end - got.start], got.start
    continues = False
    if start > 0:
        aligned = data[:1] == b"\n"
        data, start = data[1:], start + 1
        if not aligned:
            newline = data.find(b"\n")
            if 0 <= newline < len(data) - 1:
                data, start = data[newline + 1 :], start + newline + 1
            else:
                skip = _skip_continuation(data)
                data, start, continues = data[skip:], start + skip, True
    line = None
    if known is not None:
        line = known.line - data.count(b"\n")
    elif start == 0:
        line = 1
    if line is not None and line < 1:
        line = None
    ends_mid_line = not data.endswith(b"\n") and end < got.size
    return _chunk(key, got, data, start, line, continues, ends_mid_line)


def _chunk(
    key: str,
    got: Got,
    data: bytes,
    start: int,
    line: int | None,
    continues: bool,
    ends_mid_line: bool,
) -> LogChunk:
    return LogChunk(
        state="available",
        key=key,
        etag=got.etag,
        size=got.size,
        start=start,
        end=start + len(data),
        first_line=line,
        next_line=None if line is None else line + data.count(b"\n"),
        lines=split_lines(data, start, line),
        continues_line=continues,
        ends_mid_line=ends_mid_line,
        storage_class=got.storage_class,
    )
