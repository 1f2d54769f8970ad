"""A tenant's deployments read whole rather than by the page: the export stream, per-day counts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from deployments import derived
from deployments.items import SK_PREFIX, Keys, parse_status
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import format_timestamp, from_item, read_record, to_value
from infra.core.errors import Unreadable, aws_errors
from infra.core.ids import PROJECT_ID_PATTERN, valid_user_id
from infra.core.resources import DEPLOYMENTS, PROJECT_STATUS_INDEX, USER_DEPLOYMENTS_INDEX

__all__ = [
    "DayCounts",
    "iter_tenant_deployments",
    "list_project_day_counts",
]


EXPORT_PAGE = 1000  # items per Query page of an export: memory holds one page at a time


def iter_tenant_deployments(
    user_id: str,
    *,
    project_id: str | None = None,
    status: DeploymentStatus | str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[DeploymentSchema | Unreadable]:
    """Every deployment of the tenant, newest first, optionally of one project, one status and
    created in [since, until): for streamed exports. Tenant-scoped (a Query on the tenant's
    index, or on the project's partition filtered on `userId`, so another tenant's project
    yields nothing); never a Scan. Pages of EXPORT_PAGE items are read one at a time with
    boto3's paginator, so memory stays flat whatever the tenant's size; a stored item the
    schema rejects is yielded as Unreadable (with its attributes) rather than dropped.
    """
    if not valid_user_id(user_id):
        return
    wanted = parse_status(status) if status else None
    low = format_timestamp(since) if since else None
    high = format_timestamp(until - timedelta(milliseconds=1)) if until else None
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    kwargs: dict[str, Any] = {"TableName": DEPLOYMENTS.name(), "ScanIndexForward": False}
    if project_id is not None:
        if not PROJECT_ID_PATTERN.match(str(project_id)):
            return
        tenant, values = Keys.tenant(user_id)
        kwargs["FilterExpression"] = tenant
        if wanted:
            kwargs["IndexName"] = PROJECT_STATUS_INDEX
            key, partition = "projectStatus", derived.project_status(project_id, wanted.value)
        else:
            key, partition = "PK", project_id
        lo, hi = f"{SK_PREFIX}{low or ''}", f"{SK_PREFIX}{high or '~'}"
        kwargs["KeyConditionExpression"] = f"{key} = :pk AND SK BETWEEN :lo AND :hi"
        values = {**values, ":pk": to_value(partition), ":lo": to_value(lo), ":hi": to_value(hi)}
    else:
        kwargs["IndexName"] = USER_DEPLOYMENTS_INDEX
        condition = "userId = :userId"
        values = {":userId": to_value(user_id)}
        if low and high:
            condition += " AND createdAt BETWEEN :lo AND :hi"
            values |= {":lo": to_value(low), ":hi": to_value(high)}
        elif low:
            condition += " AND createdAt >= :lo"
            values[":lo"] = to_value(low)
        elif high:
            condition += " AND createdAt <= :hi"
            values[":hi"] = to_value(high)
        kwargs["KeyConditionExpression"] = condition
        if wanted:
            kwargs["FilterExpression"] = "#status = :status"
            names["#status"] = "status"
            values[":status"] = to_value(wanted.value)
    kwargs["ExpressionAttributeValues"] = values
    if names:
        kwargs["ExpressionAttributeNames"] = names
    pages = (
        aws.dynamodb()
        .get_paginator("query")
        .paginate(**kwargs, PaginationConfig={"PageSize": EXPORT_PAGE})
    )
    with aws_errors():
        for response in pages:
            for item in response.get("Items", []):
                try:
                    yield read_record(DeploymentSchema, from_item(item))
                except Unreadable as error:
                    yield error


@dataclass(frozen=True)
class DayCounts:
    """How many of the deployments created on one Singapore day are in each status."""

    day: date
    counts: dict[str, int]


def list_project_day_counts(
    user_id: str, project_id: str, *, first_day: date, last_day: date
) -> list[DayCounts]:
    """The tenant's project's per-day counts by status, `first_day` to `last_day` (Singapore
    days), oldest first; days with no deployment are left out.

    One Query of the project's counter items (at most one per day: 31 small items for a month),
    kept by every write that creates or moves a deployment, so the cost does not depend on how
    many deployments the project has. Filtered on `userId`: another tenant's project reads as
    no activity, like a project with no deployments in the window.
    """
    if not valid_user_id(user_id) or not PROJECT_ID_PATTERN.match(str(project_id)):
        return []
    tenant, values = Keys.tenant(user_id)
    found: list[DayCounts] = []
    kwargs = {
        "TableName": DEPLOYMENTS.name(),
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :from AND :to",
        "FilterExpression": tenant,
        "ExpressionAttributeValues": {
            ":pk": to_value(project_id),
            ":from": to_value(derived.counter_sort_key(first_day)),
            ":to": to_value(derived.counter_sort_key(last_day)),
            **values,
        },
    }
    with aws_errors():
        for response in aws.dynamodb().get_paginator("query").paginate(**kwargs):
            for item in response.get("Items", []):
                row = from_item(item)
                counts = dict(derived.counts_of(row))
                found.append(DayCounts(day=date.fromisoformat(row["day"]), counts=counts))
    return found
