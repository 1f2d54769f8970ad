"""Offline maintenance of the deployments table: recounting a project's derived data from its rows.

The one place (with the command that calls it) allowed to read a whole partition: it fills in
what items written before the status index, the attention index and the day counters lack —
each item's projectStatus and attention keys and the per-day counter items — and then marks the
project complete (`derivedVersion`), so its filtered pages, chart and place in the attention feed
turn on. Idempotent (a second run changes nothing) and safe beside live
writes: each counter item is replaced only if its `rev` is still the one read before the rows
(every live change adds one to it); otherwise the project is counted again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from deployments import derived
from infra.core import aws
from infra.core.dynamo import from_item, to_item, to_value
from infra.core.errors import Unavailable, aws_errors, condition_check
from infra.core.resources import ATTENTION_INDEX, PROJECT_STATUS_INDEX, PROJECTS
from infra.core.resources import DEPLOYMENTS as TABLE
from infra.core.scope import cross_tenant
from projects import repository as projects_repository

ATTEMPTS = 5  # a project whose counters kept changing under the recount is given up after this


@dataclass
class Recount:
    """What recounting one project found and changed."""

    project_id: str
    deployments: int = 0
    status_keys_set: int = 0
    days_corrected: list[str] = field(default_factory=list)
    attempts: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.status_keys_set or self.days_corrected)

    def as_dict(self) -> dict[str, Any]:
        return {
            "projectId": self.project_id,
            "deployments": self.deployments,
            "statusKeysSet": self.status_keys_set,
            "daysCorrected": self.days_corrected,
            "attempts": self.attempts,
        }


@dataclass(frozen=True)
class ProjectRef:
    project_id: str
    user_id: str
    derived_version: int


def stage_projects() -> Iterator[ProjectRef]:
    """MAINTENANCE, CROSS-TENANT: every project of the stage (a Scan of the projects table,
    three attributes projected), for the recount command only."""
    paginator = aws.dynamodb().get_paginator("scan")
    with aws_errors():
        for page in paginator.paginate(
            TableName=PROJECTS.name(),
            ProjectionExpression="PK, userId, derivedVersion",
        ):
            for item in page.get("Items", []):
                row = from_item(item)
                yield ProjectRef(row["PK"], row["userId"], int(row.get("derivedVersion", 0)))


def project_ref(project_id: str) -> ProjectRef:
    """MAINTENANCE: the project's owner and derived version (NotFound if there is none)."""
    with cross_tenant("recount of one project"):
        user_id = projects_repository.resolve_project_tenant(project_id)
    project = projects_repository.get_project(user_id, project_id)
    return ProjectRef(project_id, user_id, project.derived_version)


def recount_project(project: ProjectRef) -> Recount:
    """Fill in the project's status-index keys and counters from its rows, then mark it complete."""
    result = Recount(project.project_id)
    for attempt in range(1, ATTEMPTS + 1):
        result.attempts = attempt
        revs = _counter_revs(project.project_id)
        rows = list(_rows(project.project_id))
        result.deployments = len(rows)
        result.status_keys_set += _set_status_keys(rows)
        counted = derived.day_counts(rows)
        days = set(counted) | set(revs)
        clean = True
        for day in sorted(days):
            stored_rev, stored_counts = revs.get(day, (None, Counter()))
            want = counted.get(day, Counter())
            if _nonzero(want) == _nonzero(stored_counts):
                continue
            if _replace_counter(project, day, want, stored_rev):
                result.days_corrected.append(day.isoformat())
            else:
                clean = False  # a live write moved this day meanwhile: count again
                break
        if clean:
            projects_repository.mark_derived_complete(project.project_id)
            return result
    raise Unavailable(
        f"project {project.project_id}: its counters kept changing during the recount; "
        "run it again when writes are quieter"
    )


def _partition(project_id: str, prefix: str, **extra: Any) -> Iterator[dict[str, Any]]:
    """MAINTENANCE: every item of the project's partition whose sort key starts with `prefix`,
    read strongly consistent (the only place a whole partition is read)."""
    paginator = aws.dynamodb().get_paginator("query")
    with aws_errors():
        for page in paginator.paginate(
            TableName=TABLE.name(),
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": to_value(project_id), ":prefix": to_value(prefix)},
            ConsistentRead=True,
            **extra,
        ):
            for item in page.get("Items", []):
                yield from_item(item)


def _rows(project_id: str) -> Iterator[dict[str, Any]]:
    return _partition(
        project_id,
        derived.SK_PREFIX,
        ProjectionExpression=(
            "PK, SK, projectId, deploymentId, createdAt, updatedAt, startedAt, endedAt, "
            "#status, projectStatus, attention, attentionAt"
        ),
        ExpressionAttributeNames={"#status": "status"},
    )


def _counter_revs(project_id: str) -> dict[date, tuple[int, Counter[str]]]:
    found: dict[date, tuple[int, Counter[str]]] = {}
    for row in _partition(project_id, derived.COUNTS_PREFIX):
        day = date.fromisoformat(row["SK"].removeprefix(derived.COUNTS_PREFIX))
        found[day] = (int(row.get("rev", 0)), derived.counts_of(row))
    return found


def _set_status_keys(rows: list[dict[str, Any]]) -> int:
    """Give every row its projectStatus and attention keys, or remove attention keys it should
    not have (conditional on the status they were computed from)."""
    changed = 0
    for row in rows:
        want = derived.project_status_of(row)
        attention = derived.attention_keys(row)
        stale = [k for k in derived.ATTENTION_KEYS if k in row and k not in attention]
        if (
            row.get("projectStatus") == want
            and all(row.get(k) == v for k, v in attention.items())
            and not stale
        ):
            continue
        values = {":key": to_value(want), ":status": to_value(row["status"])}
        expression = "SET projectStatus = :key"
        for key, value in attention.items():
            expression += f", {key} = :{key}"
            values[f":{key}"] = to_value(value)
        if stale:
            expression += " REMOVE " + ", ".join(stale)
        with condition_check() as check:
            aws.dynamodb().update_item(
                TableName=TABLE.name(),
                Key=to_item({"PK": row["PK"], "SK": row["SK"]}),
                UpdateExpression=expression,
                ConditionExpression="#status = :status",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        # A failed condition means a live transition moved the row, and it wrote the keys itself.
        changed += not check.failed
        row["projectStatus"] = want
    return changed


def _replace_counter(
    project: ProjectRef, day: date, counts: Counter[str], stored_rev: int | None
) -> bool:
    """Put the day's counter as `counts`, only if nothing changed it since `stored_rev` was read."""
    item: dict[str, Any] = {
        "PK": project.project_id,
        "SK": derived.counter_sort_key(day),
        "userId": project.user_id,
        "day": day.isoformat(),
        "rev": (stored_rev or 0) + 1,
        **{status: counts.get(status, 0) for status in derived.STATUSES},
    }
    if stored_rev is None:
        condition, values = "attribute_not_exists(PK)", {}
    else:
        condition, values = "rev = :rev", {":rev": to_value(stored_rev)}
    with condition_check() as check:
        kwargs: dict[str, Any] = {
            "TableName": TABLE.name(),
            "Item": to_item(item),
            "ConditionExpression": condition,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        aws.dynamodb().put_item(**kwargs)
    return not check.failed


def status_index_ready() -> bool:
    """Whether the stage's ProjectStatusIndex and AttentionIndex exist and are ACTIVE (one
    DescribeTable): the recount fills in the keys of both."""
    with aws_errors():
        table = aws.dynamodb().describe_table(TableName=TABLE.name())["Table"]
    active = {
        index["IndexName"]
        for index in table.get("GlobalSecondaryIndexes", [])
        if index.get("IndexStatus") == "ACTIVE"
    }
    return {PROJECT_STATUS_INDEX, ATTENTION_INDEX} <= active


def _nonzero(counts: Counter[str]) -> dict[str, int]:
    return {status: n for status, n in counts.items() if n}
