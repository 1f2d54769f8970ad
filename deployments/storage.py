"""Deployments' S3 storage: build logs and artifacts, and short-lived links to them.

Beside deployments.repository (DynamoDB), the only other code that touches deployment data. The
readers take the tenant and the DeploymentSchema that a tenant-scoped read
(get_deployment(user_id, ...)) returned: the record must carry that tenant, and the S3 keys are
built from its own projectId and deploymentId, so no DynamoDB call is made. The put_ functions
are the orchestrator's side (and the demo seed's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Literal

from botocore.exceptions import ClientError
from django.conf import settings
from django.utils.http import content_disposition_header

from deployments import archive
from deployments.schemas import DeploymentSchema
from infra.core import aws
from infra.core.errors import NotFound, Unavailable, ValidationError, aws_errors, error_code
from infra.core.ids import valid_user_id
from infra.core.resources import ARTIFACTS, LOGS, artifacts_prefix, log_key

__all__ = [
    "Artifact",
    "BuildLog",
    "build_log_url",
    "get_build_log",
    "list_artifacts",
    "put_artifact",
    "put_build_log",
]


def _check_owner(user_id: str, deployment: DeploymentSchema) -> None:
    if not valid_user_id(user_id) or deployment.user_id != user_id:
        raise NotFound(f"deployment {deployment.deployment_id} not found")


LOG_TAIL_BYTES = 64 * 1024  # the most a page reads of a log: its last 64 KiB
ARCHIVED_STORAGE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
MAX_ARTIFACTS = 1000  # the most artifacts one page lists
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

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


def _log_lines(data: bytes, *, partial_start: bool, tail_lines: int) -> tuple[list[str], bool]:
    """The last `tail_lines` lines of a chunk (ANSI colours removed), and whether any were cut."""
    lines = data.decode("utf-8", errors="replace").split("\n")
    if partial_start and lines:
        lines = lines[1:]  # the chunk began mid-line (maybe mid-character): drop that fragment
    if lines and lines[-1] == "":
        lines = lines[:-1]
    lines = [_ANSI_ESCAPE.sub("", line).rstrip("\r") for line in lines]
    cut = len(lines) > tail_lines
    return (lines[-tail_lines:] if tail_lines else []), cut


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
        meta["restore"] = restore = archive.parse_restore(head.get("Restore"))
        # A restored copy of an archived log reads like any other until its expiry.
        if storage_class in ARCHIVED_STORAGE_CLASSES and not (restore and restore.restored):
            return BuildLog(state="archived", **meta)
        if size == 0 or tail_lines <= 0:
            return BuildLog(state="available", truncated=size > 0, **meta)
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
        lines, cut = _log_lines(data, partial_start=start > 0, tail_lines=tail_lines)
        return BuildLog(state="available", lines=tuple(lines), truncated=start > 0 or cut, **meta)
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
