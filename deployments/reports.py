"""The last reconciliation report of a project, as `manage.py reconcile` stored it, for the
project page: one S3 GET of a small JSON object under `reconcile/` in the logs bucket, no
DynamoDB call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infra.core import aws
from infra.core.errors import NotFound, aws_errors
from infra.core.resources import LOGS, reconcile_report_key

MISSING_LOG = "missing_log"
ORPHAN_LOG = "orphan_log"
ORPHAN_ARTIFACTS = "orphan_artifacts"
FOREIGN_OBJECT = "foreign_object"
KINDS = (MISSING_LOG, ORPHAN_LOG, ORPHAN_ARTIFACTS, FOREIGN_OBJECT)
MAX_REPORT_BYTES = 64 * 1024


@dataclass(frozen=True)
class StoredReport:
    """The last reconciliation of one project, as the command stored it."""

    checked_at: datetime
    deployments: int
    counts: dict[str, int]
    findings: list[dict[str, str]]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def consistent(self) -> bool:
        return self.total == 0


def read_report(user_id: str, project_id: str) -> StoredReport | None:
    """The tenant's project's last stored reconciliation, or None when there is none (or it is
    another tenant's). One S3 GET of a small object; no DynamoDB call. The caller has read the
    project with get_project(user_id, project_id), which is the proof of tenancy."""
    try:
        with aws_errors():
            body = (
                aws.s3()
                .get_object(Bucket=LOGS.name(), Key=reconcile_report_key(project_id))["Body"]
                .read(MAX_REPORT_BYTES)
            )
    except NotFound:
        return None
    try:
        data: dict[str, Any] = json.loads(body)
        if data.get("userId") != user_id or data.get("projectId") != project_id:
            return None
        return StoredReport(
            checked_at=datetime.fromisoformat(data["checkedAt"]),
            deployments=int(data["deployments"]),
            counts={k: int(data["counts"].get(k, 0)) for k in KINDS},
            findings=[f for f in data["findings"] if isinstance(f, dict)],
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # a report this version cannot read is no report
