"""Deployments' S3 storage: build logs and artifacts, and short-lived links to them.

Beside deployments.repository (DynamoDB), the only other code that touches deployment data. The
readers take the tenant and the DeploymentSchema that a tenant-scoped read
(get_deployment(user_id, ...)) returned: the record must carry that tenant, and the S3 keys are
built from its own projectId and deploymentId, so no DynamoDB call is made. The put_ functions
are the orchestrator's side (and the demo seed's).
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Literal, TypeVar

from botocore.exceptions import ClientError
from django.conf import settings
from django.utils.http import content_disposition_header

from deployments import archive
from deployments.logtext import (
    LogLine,
    Segment,
    Style,
    plain,
    plain_window,
    segments,
    split_lines,
    utf8_cut,
)
from deployments.schemas import DeploymentSchema
from infra.core import aws
from infra.core.errors import NotFound, Unavailable, ValidationError, aws_errors, error_code
from infra.core.ids import valid_user_id
from infra.core.resources import ARTIFACTS, LOGS, artifacts_prefix, log_key

__all__ = [
    "Artifact",
    "BuildLog",
    "LineMatcher",
    "LogChunk",
    "LogLine",
    "LogMatcher",
    "LogPosition",
    "LogScan",
    "LogTail",
    "PatternMatcher",
    "Segment",
    "TextMatcher",
    "build_log_url",
    "get_build_log",
    "list_artifacts",
    "put_artifact",
    "put_build_log",
    "read_log_chunk",
    "read_log_tail",
    "scan_log",
]


def _check_owner(user_id: str, deployment: DeploymentSchema) -> None:
    if not valid_user_id(user_id) or deployment.user_id != user_id:
        raise NotFound(f"deployment {deployment.deployment_id} not found")


LOG_TAIL_BYTES = 64 * 1024  # the most a page reads of a log: its last 64 KiB
ARCHIVED_STORAGE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
MAX_ARTIFACTS = 1000  # the most artifacts one page lists

LogState = Literal["available", "archived", "missing"]


@dataclass(frozen=True)
class BuildLog:
    """What the logs bucket holds for a deployment: the tail of its log, or why there is none."""

    state: LogState
    key: str
    lines: tuple[str, ...] = ()
    size: int = 0  # bytes of the whole log
    truncated: bool = False  # True when `lines` is not the whole log
    storage_class: str = "STANDARD"
    last_modified: datetime | None = None
    etag: str = ""
    # Where the last whole line ends (the live tail reads on from here), and the shown lines
    # with their colours (`lines` is their plain text).
    end: int = 0
    styled: tuple[tuple[Segment, ...], ...] = ()
    partial_last_line: bool = False  # the last of `lines` has no newline yet
    mark: str = ""  # log_mark of the bytes before `end`, for the live tail
    restore: archive.RestoreState | None = None  # HEAD's Restore header (deployments.archive)

    @property
    def available(self) -> bool:
        return self.state == "available"

    @property
    def archived(self) -> bool:
        return self.state == "archived"

    @property
    def missing(self) -> bool:
        return self.state == "missing"

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Artifact:
    """One object under a deployment's artifacts prefix, with a short-lived download link."""

    key: str
    name: str  # the key below the deployment's prefix
    size: int
    last_modified: datetime
    url: str


def _presign(bucket: str, key: str, filename: str, expires_in: int | None) -> str:
    if expires_in is None:
        expires_in = settings.ANCHOR_PRESIGN_SECONDS
    with aws_errors():
        return aws.s3().generate_presigned_url(
            "get_object",
            Params={
                "Bucket": bucket,
                "Key": key,
                "ResponseContentDisposition": content_disposition_header(True, filename),
            },
            ExpiresIn=expires_in,
        )


def _log_lines(
    data: bytes, *, partial_start: bool, tail_lines: int
) -> tuple[list[str], list[tuple[Segment, ...]], bool]:
    """The last `tail_lines` lines of a chunk (plain, and as coloured segments), and whether
    any were cut."""
    raw = data.decode("utf-8", errors="replace").split("\n")
    if partial_start and raw:
        raw = raw[1:]  # the chunk began mid-line (maybe mid-character): drop that fragment
    if raw and raw[-1] == "":
        raw = raw[:-1]
    style = Style()
    styled = [segments(line, style) for line in raw]
    cut = len(raw) > tail_lines
    styled = styled[-tail_lines:] if tail_lines else []
    lines = ["".join(segment.text for segment in line) for line in styled]
    return lines, styled, cut


def get_build_log(
    user_id: str,
    deployment: DeploymentSchema,
    *,
    tail_lines: int = 200,
    tail_bytes: int = LOG_TAIL_BYTES,
) -> BuildLog:
    """The tail of the tenant's deployment's build log (`deployment` as get_deployment returned
    it; one of another tenant raises NotFound).

    A HEAD tells size and storage class; a log in GLACIER or DEEP_ARCHIVE is reported as archived
    without reading it, and a missing one as missing. Otherwise one ranged GET reads at most the
    last `tail_bytes` (never the whole of a big log), pinned to the HEAD's ETag. `tail_lines=0`
    reads the metadata only.
    """
    _check_owner(user_id, deployment)
    key = log_key(deployment.project_id, deployment.deployment_id)
    bucket = LOGS.name()
    for _attempt in range(3):
        try:
            with aws_errors():
                head = aws.s3().head_object(Bucket=bucket, Key=key)
        except NotFound:
            return BuildLog(state="missing", key=key)
        size = int(head.get("ContentLength", 0))
        storage_class = head.get("StorageClass") or "STANDARD"
        meta = {"key": key, "size": size, "storage_class": storage_class}
        meta["last_modified"] = head.get("LastModified")
        meta["etag"] = head.get("ETag", "")
        meta["restore"] = restore = archive.parse_restore(head.get("Restore"))
        # A restored copy of an archived log reads like any other until its expiry.
        if storage_class in ARCHIVED_STORAGE_CLASSES and not (restore and restore.restored):
            return BuildLog(state="archived", **meta)
        if size == 0 or tail_lines <= 0:
            return BuildLog(
                state="available",
                truncated=size > 0,
                end=size,
                mark=log_mark(b"") if size == 0 else "",
                **meta,
            )
        start = max(0, size - tail_bytes)
        try:
            with aws_errors():
                try:
                    response = aws.s3().get_object(
                        Bucket=bucket,
                        Key=key,
                        Range=f"bytes={start}-{size - 1}",
                        IfMatch=head["ETag"],
                    )
                except ClientError as error:
                    if error_code(error) == "PreconditionFailed":
                        continue  # the log was replaced between HEAD and GET: read the new one
                    raise
                data = response["Body"].read()
        except NotFound:
            return BuildLog(state="missing", key=key)
        lines, styled, cut = _log_lines(data, partial_start=start > 0, tail_lines=tail_lines)
        last_newline = data.rfind(b"\n")
        end = start + last_newline + 1 if last_newline >= 0 else start
        return BuildLog(
            state="available",
            lines=tuple(lines),
            styled=tuple(styled),
            truncated=start > 0 or cut,
            end=end,
            mark=log_mark(data[: end - start])
            if end - start >= TAIL_MARK_BYTES or not start
            else "",
            partial_last_line=end < size and bool(lines),
            **meta,
        )
    raise Unavailable(f"the build log {key} kept changing while it was read")


def build_log_url(
    user_id: str, deployment: DeploymentSchema, *, expires_in: int | None = None
) -> str:
    """A short-lived link that downloads the tenant's deployment's whole build log.

    Valid for `expires_in` seconds, by default settings.ANCHOR_PRESIGN_SECONDS. Tenancy as
    get_build_log.
    """
    _check_owner(user_id, deployment)
    key = log_key(deployment.project_id, deployment.deployment_id)
    return _presign(LOGS.name(), key, f"{deployment.deployment_id}-build.log", expires_in)


def list_artifacts(
    user_id: str,
    deployment: DeploymentSchema,
    *,
    expires_in: int | None = None,
    limit: int = MAX_ARTIFACTS,
) -> list[Artifact]:
    """The deployment's artifacts (at most `limit`), by key, each with a presigned download link
    valid for `expires_in` seconds (by default settings.ANCHOR_PRESIGN_SECONDS).

    Tenancy as get_build_log; only the deployment's own prefix is listed.
    """
    _check_owner(user_id, deployment)
    bucket = ARTIFACTS.name()
    prefix = artifacts_prefix(deployment.project_id, deployment.deployment_id)
    artifacts: list[Artifact] = []
    paginator = aws.s3().get_paginator("list_objects_v2")
    with aws_errors():
        pages = paginator.paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"MaxItems": limit}
        )
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"].removeprefix(prefix)
                url = _presign(bucket, item["Key"], PurePosixPath(name).name, expires_in)
                artifacts.append(
                    Artifact(
                        key=item["Key"],
                        name=name,
                        size=int(item["Size"]),
                        last_modified=item["LastModified"],
                        url=url,
                    )
                )
    return artifacts


def put_build_log(deployment: DeploymentSchema, text: str) -> None:
    """Orchestrator side: store (replace) a deployment's build log as UTF-8 text."""
    with aws_errors():
        aws.s3().put_object(
            Bucket=LOGS.name(),
            Key=log_key(deployment.project_id, deployment.deployment_id),
            Body=text.encode("utf-8"),
            ContentType="text/plain; charset=utf-8",
        )


def _artifact_name(name: str) -> str:
    problems = []
    if not isinstance(name, str) or not name or len(name) > 512:
        problems.append("must be 1-512 characters")
    elif name.startswith("/") or "\\" in name or "\x00" in name:
        problems.append("must be a relative path with '/' separators")
    elif any(part in {"", ".", ".."} for part in name.split("/")):
        problems.append("must not contain empty, '.' or '..' segments")
    if problems:
        raise ValidationError({"name": problems})
    return name


def put_artifact(
    deployment: DeploymentSchema,
    name: str,
    body: bytes,
    *,
    content_type: str = "application/octet-stream",
) -> None:
    """Orchestrator side: store one artifact under the deployment's prefix (`name` relative)."""
    key = artifacts_prefix(deployment.project_id, deployment.deployment_id) + _artifact_name(name)
    with aws_errors():
        aws.s3().put_object(Bucket=ARTIFACTS.name(), Key=key, Body=body, ContentType=content_type)


# --- the log viewer: ranged chunks, bounded scans and the live tail ---------------------------
#
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


class _Refused(Exception):
    """A ranged GET refused with one of the codes each reader interprets itself."""

    def __init__(self, code: str, storage_class: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.storage_class = storage_class


@dataclass
class _Got:
    data: bytes
    start: int  # the offset of data[0]
    size: int
    etag: str
    storage_class: str


def _ranged_get(key: str, first: int | None, last: int, etag: str | None) -> _Got:
    """One GetObject of bytes first..last (inclusive) of the log, or of its last `last` bytes
    when `first` is None; If-Match `etag` when given. PreconditionFailed (the log changed),
    InvalidRange (nothing there) and InvalidObjectState (archived) raise _Refused."""
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
                raise _Refused(code, str(detail.get("StorageClass") or "")) from error
            raise
    content_range = str(response.get("ContentRange", ""))
    first_byte, _, total = content_range.removeprefix("bytes ").partition("/")
    start = int(first_byte.partition("-")[0]) if first_byte[:1].isdigit() else 0
    return _Got(
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
    _check_owner(user_id, deployment)
    limit = max(2, chunk_bytes or LOG_CHUNK_BYTES)
    key = log_key(deployment.project_id, deployment.deployment_id)
    if known is not None and (etag is None or known.offset != (start if end is None else end)):
        known = None
    return _pinned_read(
        key,
        LogChunk,
        lambda: _read_chunk(key, start, end, known, etag, limit),
        lambda: _read_chunk(key, 0, None, None, None, limit),
    )


_Read = TypeVar("_Read", "LogChunk", "LogScan")


def _pinned_read(
    key: str, kind: type[_Read], read: Callable[[], _Read], from_start: Callable[[], _Read]
) -> _Read:
    """`read()`, pinned to an ETag: a log replaced since (PreconditionFailed) is read again by
    `from_start()` and marked `replaced`. An archived log is a `kind` in state "archived", an
    absent one "missing"; any other refusal is Unavailable."""
    try:
        try:
            return read()
        except _Refused as refused:
            if refused.code != "PreconditionFailed":
                raise
            return replace(from_start(), replaced=True)
    except _Refused as refused:
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
            return _chunk_ending_at(key, _ranged_get(key, first, end - 1, etag), end, known)
        if start is None and end is None:
            got = _ranged_get(key, None, limit, etag)  # the last chunk: also tells size and ETag
            return _chunk_from(key, got, None, after_byte=got.start > 0)
        begin = max(0, start or 0)
        # From the byte before `start`: it tells whether `start` begins a line.
        first = begin - 1 if begin > 0 else 0
        got = _ranged_get(key, first, first + limit - 1, etag)
        return _chunk_from(key, got, known, after_byte=begin > 0)
    except _Refused as refused:
        if refused.code != "InvalidRange":
            raise
        if start is None and end is None:
            return LogChunk(state="available", key=key, etag=etag or "", first_line=1, next_line=1)
        return _read_chunk(key, None, None, None, etag, limit)  # past the end: the last chunk


def _chunk_from(key: str, got: _Got, known: LogPosition | None, *, after_byte: bool) -> LogChunk:
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


def _chunk_ending_at(key: str, got: _Got, end: int, known: LogPosition | None) -> LogChunk:
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
    got: _Got,
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


# --- bounded scans: search, the first error, a line's position --------------------------------


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
    _check_owner(user_id, deployment)
    key = log_key(deployment.project_id, deployment.deployment_id)
    limit = max(2, chunk_bytes or LOG_CHUNK_BYTES)
    allowance = max(limit, budget or settings.ANCHOR_LOG_SCAN_BYTES)
    begin = start or LogPosition(0, 1)
    return _pinned_read(
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
            got = _ranged_get(key, position, position + limit - 1, etag)
        except _Refused as refused:
            if refused.code != "InvalidRange":
                raise
            got = _Got(b"", position, position, etag or "", storage_class)
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


# --- the live tail ------------------------------------------------------------------------------

TailState = Literal["lines", "missing", "replaced", "archived"]
TAIL_MARK_BYTES = 64  # the bytes before the offset whose digest tells a grown log from another


def log_mark(data: bytes) -> str:
    """The digest of the last TAIL_MARK_BYTES of `data` (the log up to a tail's offset)."""
    return hashlib.blake2b(data[-TAIL_MARK_BYTES:], digest_size=8).hexdigest()


@dataclass(frozen=True)
class LogTail:
    """What a log holds past a byte offset: whole lines, and the offset after them."""

    state: TailState
    etag: str = ""
    offset: int = 0  # where the next read starts
    mark: str = ""  # log_mark of the bytes before `offset`
    size: int = 0
    lines: tuple[LogLine, ...] = ()

    @property
    def more(self) -> bool:
        """More whole lines were there than one read brings."""
        return self.offset < self.size


def read_log_tail(
    user_id: str,
    deployment: DeploymentSchema,
    *,
    offset: int,
    etag: str | None,
    mark: str = "",
    final: bool = False,
    chunk_bytes: int | None = None,
) -> LogTail:
    """The whole lines of the tenant's deployment's log past byte `offset` (a line boundary an
    earlier read returned, with its `etag` and `mark`), from one ranged GET of at most
    `chunk_bytes` that starts TAIL_MARK_BYTES before the offset. S3 cannot append: a growing log
    is rewritten, so its ETag changes. Same ETag: the same object, read on. Another ETag whose
    bytes before the offset still have the caller's `mark`: the log grew, read on. Otherwise
    (or with no mark) it was replaced: "replaced", and the reader starts again from 0. A line
    still being written waits for its newline, unless `final` (the build has ended). Tenancy as
    get_build_log.
    """
    _check_owner(user_id, deployment)
    key = log_key(deployment.project_id, deployment.deployment_id)
    limit = max(TAIL_MARK_BYTES + 2, chunk_bytes or LOG_CHUNK_BYTES)
    offset = max(0, offset)
    back = min(offset, TAIL_MARK_BYTES)
    try:
        got = _ranged_get(key, offset - back, offset - back + limit - 1, None)
    except _Refused as refused:
        if refused.code == "InvalidObjectState":
            return LogTail(state="archived")
        # Nothing from offset - back on: the log is shorter than before (or empty).
        if offset == 0:
            return LogTail(state="lines", etag=etag or "", mark=log_mark(b""))
        return LogTail(state="replaced")
    except NotFound:
        return LogTail(state="replaced" if offset else "missing")
    before, data = got.data[:back], got.data[back:]
    same = bool(etag) and got.etag.strip('"') == etag.strip('"')
    if offset > 0 and not same and (len(before) < back or log_mark(before) != mark):
        return LogTail(state="replaced")
    if not (final and offset + len(data) >= got.size):
        newline = data.rfind(b"\n")
        data = data[: newline + 1] if newline >= 0 else b""
    return LogTail(
        state="lines",
        etag=got.etag,
        offset=offset + len(data),
        mark=log_mark(before + data),
        size=got.size,
        lines=split_lines(data, offset, None),
    )
