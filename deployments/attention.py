"""The "needs attention" feed across tenants: stuck builds, long-queued deployments and recent
errors, read from the sparse AttentionIndex with a fixed number of Queries.

CROSS-TENANT by nature (every read here is wrapped in infra.core.scope.cross_tenant; the view
audits the visit). The index holds only queued, building and failed deployments (derived.py),
so what a page costs does not depend on how many deployments the platform has ever made:

- one Query per in-flight shard of each state asked for (ATTENTION_SHARDS building partitions
  for stuck builds, as many queued ones), and one per UTC day of the last 24 hours for errors
  (today's and yesterday's partitions: always two): 10 Queries for the whole feed, each of at most
  `limit + 1` items (`limit + 2` when the page's cursor bounds a range on both sides), run side
  by side. The first page always makes all 10; a later page skips a partition whose window lies
  wholly on the other side of its cursor (it could return nothing), so never more than 10;
- one BatchGetItem for the names of the page's distinct projects (at most `limit` keys, a
  projection of two attributes) — none when the page is empty.

The list is one merged stream, newest first by when each deployment entered its state (queued
at, started at, failed at), each row tagged with its kind. A cursor is the signed sort key of the
row it continues from (`{since}#{deploymentId}`), which every partition's Query can start from:
the same size on every page, whatever the number of shards.
"""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from deployments import derived
from deployments.schemas import DeploymentSchema
from infra.core import aws
from infra.core.dynamo import (
    decode_cursor,
    encode_cursor,
    format_timestamp,
    from_item,
    now,
    read_rows,
    to_item,
    to_value,
)
from infra.core.errors import Unavailable, ValidationError, aws_errors
from infra.core.ids import MAX_PAGE
from infra.core.resources import ATTENTION_INDEX, DEPLOYMENTS, PROJECTS
from infra.core.scope import cross_tenant

KINDS = ("stuck", "queued", "error")
KIND_LABELS = {"stuck": "Stuck build", "queued": "Long queued", "error": "Failed"}
ERROR_WINDOW = timedelta(hours=24)
_READS = ThreadPoolExecutor(max_workers=10, thread_name_prefix="attention-read")


@dataclass(frozen=True)
class AttentionRow:
    """One deployment of the feed: what kind of trouble, since when, and its project's name."""

    kind: str  # one of KINDS
    since: datetime
    deployment: DeploymentSchema
    project_name: str | None


@dataclass(frozen=True)
class AttentionPage:
    rows: list[AttentionRow]
    next_cursor: str | None = None  # older rows
    previous_cursor: str | None = None  # newer rows
    unreadable: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Stream:
    """One partition of AttentionIndex and the window of sort keys the feed wants from it:
    [low, high) as text (either may be open)."""

    kind: str
    partition: str
    low: str | None = None
    high: str | None = None


def _streams(
    kinds: tuple[str, ...], moment: datetime, stuck_after: timedelta, queued_after: timedelta
) -> list[_Stream]:
    streams: list[_Stream] = []
    for kind, status, age in (
        ("stuck", "building", stuck_after),
        ("queued", "queued", queued_after),
    ):
        if kind in kinds:
            cutoff = format_timestamp(moment - age)  # `{since}#{id}` < cutoff: since < cutoff
            streams += [
                _Stream(kind, derived.in_flight_partition(status, shard), high=cutoff)
                for shard in range(derived.ATTENTION_SHARDS)
            ]
    if "error" in kinds:
        start = moment - ERROR_WINDOW
        days = sorted({start.date(), moment.date()})  # the UTC days the last 24 h touch: two
        streams += [
            _Stream("error", derived.error_partition(day), low=format_timestamp(start))
            for day in days
        ]
    return streams


def _scope(kinds: tuple[str, ...]) -> tuple[str, ...]:
    return ("attention", *kinds)


def parse_kind(kind: str | None) -> tuple[str, ...]:
    """The kinds a `kind` filter asks for (all when empty); ValidationError for another word."""
    if not kind:
        return KINDS
    if kind not in KINDS:
        raise ValidationError({"kind": [f"{kind!r} is not one of {', '.join(KINDS)}"]})
    return (kind,)


def attention_feed(
    *,
    stuck_after: timedelta,
    queued_after: timedelta,
    limit: int = 25,
    cursor: str | None = None,
    kind: str | None = None,
    moment: datetime | None = None,
) -> AttentionPage:
    """CROSS-TENANT: one page of the feed, newest first — builds started over `stuck_after`
    ago and still building, deployments queued over `queued_after` ago, deployments that failed
    in the last 24 hours — optionally of one kind. A fixed number of Queries whatever the size of
    the platform (see the module's docstring); InvalidCursor for a cursor of another list."""
    kinds = parse_kind(kind)
    limit = max(1, min(limit, MAX_PAGE))
    scope = _scope(kinds)
    start = decode_cursor(cursor, scope) if cursor else None
    position = start.key.get("at") if start else None
    backward = bool(start and start.backward)
    moment = moment or now()
    streams = _streams(kinds, moment, stuck_after, queued_after)
    with cross_tenant("the needs-attention feed"):
        reads = [  # each in a copy of this context: the cross-tenant mark and the request's
            _READS.submit(  # call count see the reads made on its behalf
                contextvars.copy_context().run, _read_stream, stream, limit, position, backward
            )
            for stream in streams
        ]
        found: list[dict[str, Any]] = []
        for read in reads:
            found += read.result()
        found.sort(key=lambda row: row["attentionAt"], reverse=not backward)
        more = len(found) > limit
        shown = found[:limit]
        if backward:
            if not shown:  # nothing newer than where we came from: the newest page
                return attention_feed(
                    stuck_after=stuck_after,
                    queued_after=queued_after,
                    limit=limit,
                    kind=kind,
                    moment=moment,
                )
            shown.reverse()
            newer, older = more, True
        else:
            newer, older = start is not None, more
        names = _project_names({str(row["projectId"]) for row in shown if row.get("projectId")})
    items, unreadable = read_rows(DeploymentSchema, shown)
    by_id = {row.get("deploymentId"): row for row in shown}  # a row without one is unreadable
    rows = [
        AttentionRow(
            kind=_kind_of(by_id[d.deployment_id]["attention"]),
            since=_since(by_id[d.deployment_id]["attentionAt"], d),
            deployment=d,
            project_name=names.get(d.project_id),
        )
        for d in items
    ]
    next_cursor = (
        encode_cursor(scope, {"at": shown[-1]["attentionAt"]}) if older and shown else None
    )
    previous_cursor = (
        encode_cursor(scope, {"at": shown[0]["attentionAt"]}, backward=True)
        if newer and shown
        else None
    )
    return AttentionPage(rows, next_cursor, previous_cursor, unreadable)


def _read_stream(
    stream: _Stream, limit: int, position: str | None, backward: bool
) -> list[dict[str, Any]]:
    """One Query of one partition: the rows of its window beyond `position` (older when going
    forward, newer when going back), in the order the page reads them, at most limit + 1."""
    low, high = stream.low, stream.high  # low inclusive, high exclusive
    drop: str | None = None  # a bound BETWEEN includes that the page must not show again
    if position is not None:
        if backward:  # rows newer than `position`
            if low is None or position >= low:
                low, drop = position, position
        elif high is None or position < high:  # rows older than `position`
            high = position
    if low is not None and high is not None and low > high:
        return []  # the page's position is outside this partition's window: nothing to read
    values: dict[str, Any] = {":p": to_value(stream.partition)}
    if low is not None and high is not None:
        condition = "attentionAt BETWEEN :low AND :high"
        values[":low"], values[":high"] = to_value(low), to_value(high)
        drop = drop or high
    elif high is not None:
        condition = "attentionAt < :high"
        values[":high"] = to_value(high)
    elif low is not None:
        condition = "attentionAt > :low" if drop else "attentionAt >= :low"
        values[":low"] = to_value(low)
        drop = None
    else:
        condition = ""
    request = {
        "TableName": DEPLOYMENTS.name(),
        "IndexName": ATTENTION_INDEX,
        "KeyConditionExpression": "attention = :p" + (f" AND {condition}" if condition else ""),
        "ExpressionAttributeValues": values,
        "ScanIndexForward": backward,
        "Limit": limit + 1 + (drop is not None),
    }
    with aws_errors():
        items = aws.dynamodb().query(**request).get("Items", [])
    rows = [from_item(item) for item in items]
    if drop is not None or high is not None:
        rows = [
            r
            for r in rows
            if r.get("attentionAt") != drop and (high is None or r["attentionAt"] < high)
        ]
    return rows[: limit + 1]


def _kind_of(partition: str) -> str:
    status = partition.split("#", 1)[0]
    return {"building": "stuck", "queued": "queued"}.get(status, "error")


def _since(sort_key: str, deployment: DeploymentSchema) -> datetime:
    text = sort_key.rsplit("#", 1)[0]
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return deployment.updated_at


def _project_names(project_ids: set[str]) -> dict[str, str]:
    """CROSS-TENANT: {projectId: name} of these projects, in one BatchGetItem (a page has at
    most MAX_PAGE distinct projects, within BatchGetItem's 100 keys); a project that no longer
    exists is simply absent (the row then shows its id)."""
    if not project_ids:
        return {}
    table = PROJECTS.name()
    pending: dict[str, Any] = {
        table: {
            "Keys": [to_item({"PK": p, "SK": "METADATA"}) for p in sorted(project_ids)],
            "ProjectionExpression": "PK, #name",
            "ExpressionAttributeNames": {"#name": "name"},
        }
    }
    names: dict[str, str] = {}
    with aws_errors():
        for _attempt in range(8):
            response = aws.dynamodb().batch_get_item(RequestItems=pending)
            for item in response.get("Responses", {}).get(table, []):
                row = from_item(item)
                if isinstance(row.get("name"), str):
                    names[row["PK"]] = row["name"]
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return names
    raise Unavailable("DynamoDB kept leaving the project names unread (throttled)")
