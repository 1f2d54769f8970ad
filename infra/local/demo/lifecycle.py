"""Demo cases of the buckets' lifecycle and of what `manage.py reconcile` finds, planted in S3
after the demo data is written: a log in GLACIER, one in DEEP_ARCHIVE, one restored from
GLACIER, an orphan log, an orphan artifact prefix, and a log stored under another project's
deployment. (The final deployment without a log is the story's own `missing_log` case.)

Idempotent: each run puts the same keys again. The local S3 (moto) keeps an object's storage
class as it was put and answers RestoreObject at once, so the "restored" log is readable
straight away; the dates the page shows count from the moment of planting.
"""

from __future__ import annotations

from collections.abc import Iterator

from deployments.schemas import DeploymentStatus
from infra.core import aws
from infra.core.resources import ARTIFACTS, LOGS, artifacts_prefix, log_key
from infra.local.demo.cast import DemoDeployment, DemoTenant

ORPHAN_LOG_ID = "dpl_demoorphanlog000"
ORPHAN_ARTIFACTS_ID = "dpl_demoorphanart000"
RESTORE_DAYS = 7


def _finished_with_log(tenant: DemoTenant) -> Iterator[DemoDeployment]:
    """The tenant's finished deployments that have a log, oldest first."""
    for project in tenant.projects:
        for deployment in project.deployments:
            if deployment.log is not None and deployment.record.status is DeploymentStatus.READY:
                yield deployment


def _put_log(deployment: DemoDeployment, *, project_id: str | None = None, **extra: str) -> str:
    record = deployment.record
    key = log_key(project_id or record.project_id, record.deployment_id)
    aws.s3().put_object(
        Bucket=LOGS.name(),
        Key=key,
        Body=(deployment.log or "").encode(),
        ContentType="text/plain; charset=utf-8",
        **extra,
    )
    return key


def plant(
    tenants: list[DemoTenant], *, write: bool = True
) -> tuple[list[tuple[str, str, str]], int]:
    """Plant each case (only when `write`: a seed that found S3 in place leaves it be); rows
    (label, id to paste into Find, note) for the seed's summary, and the objects put."""
    first = tenants[0]
    old = list(_finished_with_log(first))
    if len(old) < 3 or not first.projects:
        return [], 0
    glacier, deep, restored = old[0], old[1], old[2]
    project_id = first.projects[0].record.project_id
    other = next(_finished_with_log(tenants[1]), None) if len(tenants) > 1 else None
    rows = [
        ("a log archived in GLACIER", glacier.record.deployment_id, "restore it"),
        ("a log archived in DEEP_ARCHIVE", deep.record.deployment_id, "Standard/Bulk only"),
        ("a log restored from GLACIER", restored.record.deployment_id, "readable again"),
        ("an orphan log (no deployment)", project_id, f"reconcile: {ORPHAN_LOG_ID}"),
    ]
    if other is not None:
        rows.append(
            ("a log under another project", project_id, f"reconcile: {other.record.deployment_id}")
        )
    if not write:
        return rows, 0
    _put_log(glacier, StorageClass="GLACIER")
    _put_log(deep, StorageClass="DEEP_ARCHIVE")
    key = _put_log(restored, StorageClass="GLACIER")
    s3 = aws.s3()
    s3.restore_object(
        Bucket=LOGS.name(),
        Key=key,
        RestoreRequest={"Days": RESTORE_DAYS, "GlacierJobParameters": {"Tier": "Standard"}},
    )
    s3.put_object(
        Bucket=LOGS.name(),
        Key=log_key(project_id, ORPHAN_LOG_ID),
        Body=b"Cloning repository\nBuild succeeded\n",
    )
    s3.put_object(
        Bucket=ARTIFACTS.name(),
        Key=artifacts_prefix(project_id, ORPHAN_ARTIFACTS_ID) + "index.html",
        Body=b"<!doctype html><title>orphan</title>",
    )
    if other is not None:
        _put_log(other, project_id=project_id)
    return rows, 5 + (other is not None)
