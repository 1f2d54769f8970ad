"""Reconciliation of DynamoDB against S3: deployments without their build log, logs and artifact
prefixes without a deployment, and objects under a deployment of another project.

An offline job (`manage.py reconcile`), run with the provisioning role. Reads only: the list of
projects is a Scan of the projects table (three attributes), each project's deployments a
paginated Query of its own partition, and S3 is listed with paginators under each project's
prefixes. Memory is bounded by one project at a time (its deployment ids and statuses) plus the
set of project ids, which the pass over S3's top-level prefixes needs to find projects that are
gone. The one thing it writes is its own report, one small JSON object per project under
`reconcile/` in the logs bucket (outside the lifecycle rule's `logs/` prefix), which the
project page reads (deployments.reports) with a single S3 GET — no DynamoDB call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from deployments import derived, rules
from deployments.reports import (
    FOREIGN_OBJECT,
    KINDS,
    MISSING_LOG,
    ORPHAN_ARTIFACTS,
    ORPHAN_LOG,
)
from deployments.schemas import DeploymentStatus
from infra.core import aws
from infra.core.dynamo import format_timestamp, from_item, now, to_value
from infra.core.errors import NotFound, aws_errors
from infra.core.resources import (
    ARTIFACTS,
    DEPLOYMENT_ID_INDEX,
    DEPLOYMENTS,
    LOGS,
    PROJECTS,
    reconcile_report_key,
)

REPORT_FINDINGS = 10  # the most findings of each kind a stored report keeps (counts are whole)
LOG_NAME = "build.log"

__all__ = [
    "KINDS",
    "Finding",
    "ProjectRef",
    "ProjectResult",
    "check_gone_projects",
    "check_project",
    "find_project",
    "stage_projects",
    "write_report",
]


@dataclass(frozen=True)
class ProjectRef:
    project_id: str
    user_id: str


@dataclass(frozen=True)
class Finding:
    """One inconsistency: its kind, the project whose data (or prefix) it is in, the deployment,
    the bucket role ("logs", "artifacts") and key or prefix, and a sentence."""

    kind: str
    project_id: str
    deployment_id: str
    where: str
    key: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "projectId": self.project_id,
            "deploymentId": self.deployment_id,
            "bucket": self.where,
            "key": self.key,
            "detail": self.detail,
        }


@dataclass
class ProjectResult:
    """What checking one project found."""

    project: ProjectRef
    deployments: int = 0
    findings: list[Finding] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {kind: sum(f.kind == kind for f in self.findings) for kind in KINDS}


# --- DynamoDB (the provisioning role: Scan of projects, Query of one partition and the index) ---


def stage_projects(stage: str) -> Iterator[ProjectRef]:
    """MAINTENANCE, CROSS-TENANT: every project of the stage, by a Scan projecting two
    attributes (the only Scan; an offline job, never a page)."""
    paginator = aws.dynamodb().get_paginator("scan")
    with aws_errors():
        for page in paginator.paginate(
            TableName=PROJECTS.name(stage),
            ProjectionExpression="PK, userId",
            FilterExpression="SK = :metadata",
            ExpressionAttributeValues={":metadata": to_value("METADATA")},
        ):
            for item in page.get("Items", []):
                row = from_item(item)
                yield ProjectRef(row["PK"], row["userId"])


def find_project(stage: str, project_id: str) -> ProjectRef:
    """MAINTENANCE: the project with this id (NotFound if there is none)."""
    with aws_errors():
        item = (
            aws.dynamodb()
            .get_item(
                TableName=PROJECTS.name(stage),
                Key={"PK": to_value(project_id), "SK": to_value("METADATA")},
                ProjectionExpression="PK, userId",
                ConsistentRead=True,
            )
            .get("Item")
        )
    if not item:
        raise NotFound(f"project {project_id} not found in stage {stage}")
    row = from_item(item)
    return ProjectRef(row["PK"], row["userId"])


def _project_deployments(stage: str, project_id: str) -> dict[str, tuple[str, bool]]:
    """deploymentId -> (status, started) of every deployment of the project, page by page."""
    found: dict[str, tuple[str, bool]] = {}
    paginator = aws.dynamodb().get_paginator("query")
    with aws_errors():
        for page in paginator.paginate(
            TableName=DEPLOYMENTS.name(stage),
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={
                ":pk": to_value(project_id),
                ":prefix": to_value(derived.SK_PREFIX),
            },
            ProjectionExpression="deploymentId, #status, startedAt",
            ExpressionAttributeNames={"#status": "status"},
        ):
            for item in page.get("Items", []):
                row = from_item(item)
                found[row["deploymentId"]] = (row.get("status", ""), bool(row.get("startedAt")))
    return found


def _owner_project(stage: str, deployment_id: str) -> str | None:
    """MAINTENANCE, CROSS-TENANT: the project a deployment id belongs to, if it exists."""
    with aws_errors():
        items = (
            aws.dynamodb()
            .query(
                TableName=DEPLOYMENTS.name(stage),
                IndexName=DEPLOYMENT_ID_INDEX,
                KeyConditionExpression="deploymentId = :id",
                ExpressionAttributeValues={":id": to_value(deployment_id)},
                ProjectionExpression="projectId",
                Limit=1,
            )
            .get("Items", [])
        )
    return from_item(items[0])["projectId"] if items else None


# --- S3 listings ----------------------------------------------------------------------------


def _keys(bucket: str, prefix: str) -> Iterator[str]:
    paginator = aws.s3().get_paginator("list_objects_v2")
    with aws_errors():
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]


def _subprefixes(bucket: str, prefix: str) -> Iterator[str]:
    """The next path segment of every key under `prefix` (S3's CommonPrefixes, page by page)."""
    paginator = aws.s3().get_paginator("list_objects_v2")
    with aws_errors():
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                yield common["Prefix"].removeprefix(prefix).rstrip("/")


def _log_keys_by_deployment(stage: str, project_id: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    prefix = f"{LOGS.prefix}{project_id}/"
    for key in _keys(LOGS.name(stage), prefix):
        deployment_id, _, rest = key.removeprefix(prefix).partition("/")
        found.setdefault(deployment_id, []).append(rest)
    return found


# --- the comparison -----------------------------------------------------------------------


def _needs_log(status: str, started: bool) -> bool:
    """A final deployment must have a log, except one canceled before it ever started building
    (the orchestrator writes a log only once a build runs)."""
    if not rules.is_final(status):
        return False
    return started or status != DeploymentStatus.CANCELED.value


def check_project(stage: str, project: ProjectRef) -> ProjectResult:
    """Compare one project's deployments with its log keys and artifact prefixes."""
    result = ProjectResult(project)
    known = _project_deployments(stage, project.project_id)
    result.deployments = len(known)
    logs = _log_keys_by_deployment(stage, project.project_id)
    logs_bucket, artifacts_bucket = LOGS.name(stage), ARTIFACTS.name(stage)
    for deployment_id, (status, started) in sorted(known.items()):
        if _needs_log(status, started) and LOG_NAME not in logs.get(deployment_id, []):
            key = f"{LOGS.prefix}{project.project_id}/{deployment_id}/{LOG_NAME}"
            result.findings.append(
                Finding(
                    MISSING_LOG,
                    project.project_id,
                    deployment_id,
                    "logs",
                    f"s3://{logs_bucket}/{key}",
                    f"deployment is {status} but has no build log",
                )
            )
    for deployment_id in sorted(set(logs) - set(known)):
        prefix = f"{LOGS.prefix}{project.project_id}/{deployment_id}/"
        result.findings.extend(_stranger(stage, project.project_id, deployment_id, "logs", prefix))
    artifacts_prefix = f"{ARTIFACTS.prefix}{project.project_id}/"
    for deployment_id in _subprefixes(artifacts_bucket, artifacts_prefix):
        if deployment_id not in known:
            prefix = f"{artifacts_prefix}{deployment_id}/"
            result.findings.extend(
                _stranger(stage, project.project_id, deployment_id, "artifacts", prefix)
            )
    return result


def _stranger(
    stage: str, project_id: str, deployment_id: str, where: str, prefix: str
) -> list[Finding]:
    """Objects under a deployment id the project does not have: another project's, or nobody's."""
    bucket = LOGS.name(stage) if where == "logs" else ARTIFACTS.name(stage)
    owner = _owner_project(stage, deployment_id) if deployment_id.startswith("dpl_") else None
    location = f"s3://{bucket}/{prefix}"
    if owner is not None and owner != project_id:
        return [
            Finding(
                FOREIGN_OBJECT,
                project_id,
                deployment_id,
                where,
                location,
                f"{where} under project {project_id} belong to a deployment of project {owner}",
            )
        ]
    kind = ORPHAN_LOG if where == "logs" else ORPHAN_ARTIFACTS
    what = "a build log" if where == "logs" else "artifacts"
    return [Finding(kind, project_id, deployment_id, where, location, f"{what} with no deployment")]


def check_gone_projects(stage: str, known: set[str]) -> list[Finding]:
    """Findings under top-level project prefixes of either bucket that no project has."""
    findings: list[Finding] = []
    for bucket, where in ((LOGS, "logs"), (ARTIFACTS, "artifacts")):
        name = bucket.name(stage)
        for project_id in _subprefixes(name, bucket.prefix):
            if project_id in known:
                continue
            for deployment_id in _subprefixes(name, f"{bucket.prefix}{project_id}/"):
                prefix = f"{bucket.prefix}{project_id}/{deployment_id}/"
                findings.extend(_stranger(stage, project_id, deployment_id, where, prefix))
    return findings


# --- the stored report (deployments.reports reads it for the project page) -----------------


def write_report(stage: str, result: ProjectResult, *, moment: datetime | None = None) -> None:
    """Store the project's findings (the first REPORT_FINDINGS of each kind, every count) for
    its page."""
    kept = [
        finding
        for kind in KINDS
        for finding in [f for f in result.findings if f.kind == kind][:REPORT_FINDINGS]
    ]
    body = {
        "projectId": result.project.project_id,
        "userId": result.project.user_id,
        "checkedAt": format_timestamp(moment or now()),
        "deployments": result.deployments,
        "counts": result.counts(),
        "findings": [f.as_dict() for f in kept],
    }
    with aws_errors():
        aws.s3().put_object(
            Bucket=LOGS.name(stage),
            Key=reconcile_report_key(result.project.project_id),
            Body=json.dumps(body).encode(),
            ContentType="application/json",
        )
