"""A deployment's artifacts in S3: listed with short-lived links, stored by the orchestrator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from deployments.s3access import check_owner, presign
from deployments.schemas import DeploymentSchema
from infra.core import aws
from infra.core.errors import ValidationError, aws_errors
from infra.core.resources import ARTIFACTS, artifacts_prefix

__all__ = [
    "Artifact",
    "list_artifacts",
    "put_artifact",
]

MAX_ARTIFACTS = 1000  # the most artifacts one page lists


@dataclass(frozen=True)
class Artifact:
    """One object under a deployment's artifacts prefix, with a short-lived download link."""

    key: str
    name: str  # the key below the deployment's prefix
    size: int
    last_modified: datetime
    url: str


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
    check_owner(user_id, deployment)
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
                url = presign(bucket, item["Key"], PurePosixPath(name).name, expires_in)
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
