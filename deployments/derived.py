"""What the deployments table derives from each deployment, kept by the same writes as the rows.

- `projectStatus` (`{projectId}#{status}`): the partition key of ProjectStatusIndex (its sort
  key is the table's own SK), so a project's deployments of one status are one Query of their
  own partition, newest first, whatever their density. A status-qualified partition rather than
  a `begins_with` on one partition per project: measured on DynamoDB Local at 100,000
  deployments, the begins_with Query took 27 ms, the exact partition 2-3 ms (as fast as at 1,000);
- per-project, per-day counter items (PK = projectId, SK = `COUNTS#{yyyy-mm-dd}`, a Singapore
  day) holding how many of the day's deployments are in each status, and `rev`, a number every
  change adds one to (the recount's optimistic lock). A chart of 30 days is one Query of at most
  31 small items.

- the attention keys, only on deployments that may need staff's attention: `attention`, the
  partition of AttentionIndex (the "needs attention" feed across tenants), and `attentionAt`,
  its sort key (`{since}#{deploymentId}`, `since` being when the deployment entered its state:
  createdAt when queued, startedAt when building, endedAt when failed). The index is sparse: a
  ready or canceled deployment has neither key (the transition that ends it removes them in the
  same conditional write), so the index holds only in-flight and failed deployments, never the
  platform's history. In-flight partitions are `queued#{shard}` and `building#{shard}`, with
  ATTENTION_SHARDS shards picked by a hash of the deployment id: every push writes these
  partitions two or three times (queued, building, gone), and one partition for the whole
  platform would cap the platform's pushes at what one index partition takes (about 1,000
  writes a second, shared by all tenants) and throttle the table's own writes behind it; four
  shards raise that fourfold for a fixed four Queries per state. Failed deployments go to
  `error#{yyyy-mm-dd}`, the UTC day of their endedAt: the feed reads only today's and
  yesterday's partitions (for "the last 24 hours"), so an error ages out of the feed when its
  day is no longer read — it keeps its keys (error is final; nothing rewrites it), the old day
  partitions stay in the index as storage only, never read. Errors are not sharded: a day
  partition is written once per failed build, far below a partition's limit;

Counter items carry `userId` (the tenant filter of the chart's Query) but neither `createdAt`,
`deploymentId` nor `projectStatus`, so no index of the table ever holds them, and every list of
deployments reads `begins_with(SK, "DEPLOYMENT#")`.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from deployments.rules import IN_FLIGHT, DeploymentStatus
from infra.core.dynamo import to_item, to_value
from infra.core.resources import DEPLOYMENTS

SK_PREFIX = "DEPLOYMENT#"
COUNTS_PREFIX = "COUNTS#"
# Counters are stored data: their day boundary is Singapore's, whatever a display setting says.
COUNTER_ZONE = ZoneInfo("Asia/Singapore")
STATUSES = tuple(s.value for s in DeploymentStatus)
ATTENTION_SHARDS = 4
ATTENTION_KEYS = ("attention", "attentionAt")


def sort_key(created_at: str, deployment_id: str) -> str:
    return f"{SK_PREFIX}{created_at}#{deployment_id}"


def project_status(project_id: str, status: str) -> str:
    """The ProjectStatusIndex partition key of a project's deployments in one status."""
    return f"{project_id}#{status}"


def project_status_of(item: dict[str, Any]) -> str:
    return project_status(item["projectId"], item["status"])


def counter_day(created_at: datetime | str) -> date:
    """The Singapore day a deployment is counted on (that of its createdAt)."""
    if isinstance(created_at, str):
        created_at = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    return created_at.astimezone(COUNTER_ZONE).date()


def counter_sort_key(day: date) -> str:
    return f"{COUNTS_PREFIX}{day.isoformat()}"


def counter_update(
    project_id: str,
    user_id: str,
    day: date,
    changes: dict[str, int],
    *,
    token: str | None = None,
) -> dict[str, Any]:
    """An UpdateItem (for TransactWriteItems or on its own) adding `changes` ({status: delta})
    to the day's counter item, creating it when missing.

    With `token` (a write made on its own, outside a transaction), the update records it and is
    conditional on it not being recorded yet, so a retry after a lost answer adds nothing twice
    (a failed condition then means "already applied")."""
    names = {"#day": "day"}
    values: dict[str, Any] = {
        ":one": to_value(1),
        ":userId": to_value(user_id),
        ":day": to_value(day.isoformat()),
    }
    adds = ["rev :one"]
    for position, (status, delta) in enumerate(sorted(changes.items())):
        if delta:
            names[f"#s{position}"] = status
            values[f":d{position}"] = to_value(delta)
            adds.append(f"#s{position} :d{position}")
    sets = ["userId = :userId", "#day = :day"]
    request: dict[str, Any] = {
        "TableName": DEPLOYMENTS.name(),
        "Key": to_item({"PK": project_id, "SK": counter_sort_key(day)}),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if token is not None:
        sets.append("lastWrite = :token")
        values[":token"] = to_value(token)
        request["ConditionExpression"] = "attribute_not_exists(lastWrite) OR lastWrite <> :token"
    request["UpdateExpression"] = "ADD " + ", ".join(adds) + " SET " + ", ".join(sets)
    return request


def day_counts(rows: Iterable[dict[str, Any]]) -> dict[date, Counter[str]]:
    """{day: Counter(status → n)} of stored deployment items (createdAt and status read)."""
    found: dict[date, Counter[str]] = {}
    for row in rows:
        found.setdefault(counter_day(row["createdAt"]), Counter())[row["status"]] += 1
    return found


def counts_of(item: dict[str, Any]) -> Counter[str]:
    """The status counts a stored counter item holds (zeros, and values that are not whole
    numbers, left out: a damaged counter shows as no deployments, never as an error)."""
    found: Counter[str] = Counter()
    for status in STATUSES:
        value = item.get(status, 0)
        if isinstance(value, int) and not isinstance(value, bool) and value:
            found[status] = value
    return found


def attention_shard(deployment_id: str) -> int:
    """The in-flight shard of a deployment (stable: a hash of its id)."""
    return zlib.crc32(deployment_id.encode()) % ATTENTION_SHARDS


def in_flight_partition(status: str, shard: int) -> str:
    return f"{status}#{shard}"


def error_partition(day: date) -> str:
    """The AttentionIndex partition of the deployments that failed on `day` (UTC)."""
    return f"error#{day.isoformat()}"


def attention_sort_key(since: str, deployment_id: str) -> str:
    return f"{since}#{deployment_id}"


def attention_keys(item: dict[str, Any]) -> dict[str, str]:
    """The AttentionIndex keys of a stored deployment item: `attention` and `attentionAt` for a
    queued, building or failed one; nothing for a ready or canceled one (not in the index)."""
    status, deployment_id = item["status"], item["deploymentId"]
    if status == "queued":
        since = item["createdAt"]
    elif status == "building":
        since = item.get("startedAt") or item.get("updatedAt") or item["createdAt"]
    elif status == "error":
        since = item.get("endedAt") or item.get("updatedAt") or item["createdAt"]
    else:
        return {}
    if status in IN_FLIGHT:
        partition = in_flight_partition(status, attention_shard(deployment_id))
    else:  # stored timestamps are UTC ISO-8601: the first ten characters are the UTC day
        partition = error_partition(date.fromisoformat(since[:10]))
    return {"attention": partition, "attentionAt": attention_sort_key(since, deployment_id)}


def with_derived_keys(item: dict[str, Any]) -> dict[str, Any]:
    """A stored deployment item (camelCase) completed with its table key, projectStatus and,
    when it belongs in the feed, its attention keys."""
    full = {
        "PK": item["projectId"],
        "SK": sort_key(item["createdAt"], item["deploymentId"]),
        **{k: v for k, v in item.items() if k not in ATTENTION_KEYS},
        "projectStatus": project_status_of(item),
    }
    return {**full, **attention_keys(full)}
