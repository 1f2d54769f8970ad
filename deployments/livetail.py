"""The live tail of a build log: the whole lines past an offset, or word that it was replaced."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from deployments import logread
from deployments.logread import Refused, ranged_get
from deployments.logtext import LogLine, split_lines
from deployments.s3access import check_owner
from deployments.schemas import DeploymentSchema
from infra.core.errors import NotFound
from infra.core.resources import log_key

__all__ = [
    "LogTail",
    "read_log_tail",
]

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
    check_owner(user_id, deployment)
    key = log_key(deployment.project_id, deployment.deployment_id)
    limit = max(TAIL_MARK_BYTES + 2, chunk_bytes or logread.LOG_CHUNK_BYTES)
    offset = max(0, offset)
    back = min(offset, TAIL_MARK_BYTES)
    try:
        got = ranged_get(key, offset - back, offset - back + limit - 1, None)
    except Refused as refused:
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
