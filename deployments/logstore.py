"""A deployment's build log as a page shows it: its tail, a link to it, the orchestrator's write.

Reading the whole log in chunks is deployments.logread's, searching it deployments.logsearch's,
following a growing one deployments.livetail's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from botocore.exceptions import ClientError

from deployments import archive
from deployments.livetail import TAIL_MARK_BYTES, log_mark
from deployments.logtext import Segment, Style, segments
from deployments.s3access import check_owner, presign
from deployments.schemas import DeploymentSchema
from infra.core import aws
from infra.core.errors import NotFound, Unavailable, aws_errors, error_code
from infra.core.resources import LOGS, log_key

__all__ = [
    "BuildLog",
    "build_log_url",
    "get_build_log",
    "put_build_log",
]

LOG_TAIL_BYTES = 64 * 1024  # the most a page reads of a log: its last 64 KiB
ARCHIVED_STORAGE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})

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
    check_owner(user_id, deployment)
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
    check_owner(user_id, deployment)
    key = log_key(deployment.project_id, deployment.deployment_id)
    return presign(LOGS.name(), key, f"{deployment.deployment_id}-build.log", expires_in)


def put_build_log(deployment: DeploymentSchema, text: str) -> None:
    """Orchestrator side: store (replace) a deployment's build log as UTF-8 text."""
    with aws_errors():
        aws.s3().put_object(
            Bucket=LOGS.name(),
            Key=log_key(deployment.project_id, deployment.deployment_id),
            Body=text.encode("utf-8"),
            ContentType="text/plain; charset=utf-8",
        )
