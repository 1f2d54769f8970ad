"""The deployments repository: the only code that reads or writes deployment items."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from deployments import derived
from deployments.errors import InvalidTransition
from deployments.schemas import (
    CreateDeploymentSchema,
    DeploymentSchema,
    DeploymentStatus,
    UpdateDeploymentSchema,
)
from deployments.summary import advance_summary
from infra.core import aws
from infra.core.dynamo import (
    Page,
    decode_cursor,
    format_timestamp,
    from_item,
    now,
    read_page,
    read_record,
    to_item,
    to_value,
)
from infra.core.errors import (
    Conflict,
    NotFound,
    RequestKeyReused,
    Unavailable,
    Unreadable,
    ValidationError,
    aws_errors,
    condition_check,
)
from infra.core.ids import (
    DEPLOYMENT_ID_PATTERN,
    MAX_PAGE,
    PROJECT_ID_PATTERN,
    new_id,
    new_write_token,
    valid_user_id,
)
from infra.core.receipts import receipt_put
from infra.core.resources import (
    DEPLOYMENT_ID_INDEX,
    DEPLOYMENTS,
    PROJECT_STATUS_INDEX,
    PROJECTS,
    USER_DEPLOYMENTS_INDEX,
)
from infra.core.schemas import validate
from infra.core.transactions import (
    ATTEMPTS,
    BATCH_SIZE,
    batch_write,
    chunks,
    existing_sort_keys,
    transact,
)
from projects import repository as projects_repository

__all__ = [
    "DayCounts",
    "create_deployment",
    "get_deployment",
    "import_deployments",
    "list_project_day_counts",
    "list_project_deployments",
    "list_user_deployments",
    "request_guard",
    "resolve_deployment_tenant",
    "transition_deployment",
    "update_deployment",
    "update_deployment_status",
]

logger = logging.getLogger("anchor.repository")

ID_PATTERN = DEPLOYMENT_ID_PATTERN
SK_PREFIX = derived.SK_PREFIX
REQUEST_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
IMPORT_CHUNK = 1000  # deployments whose existence one keys-only range Query checks


# --- the one key builder: every key and tenant condition of this table is made here -----------


class _Keys:
    sort_key = staticmethod(derived.sort_key)

    @staticmethod
    def item(project_id: str, sort_key: str) -> dict[str, Any]:
        return to_item({"PK": project_id, "SK": sort_key})

    @staticmethod
    def request(request_key: str) -> str:
        """The sort key of a create request's idempotency guard (create_deployment_once)."""
        return f"REQUEST#{request_key}"

    @staticmethod
    def tenant(user_id: str | None) -> tuple[str, dict[str, Any]]:
        """The tenant filter/condition (`userId = :userId`), or nothing for orchestrator calls."""
        if user_id is None:
            return "", {}
        return "userId = :userId", {":userId": to_value(user_id)}

    project = staticmethod(projects_repository.owned_project)

    @staticmethod
    def table_cursor(item: dict[str, Any]) -> dict[str, str]:
        return {k: item[k] for k in ("PK", "SK")}

    @staticmethod
    def user_index_cursor(item: dict[str, Any]) -> dict[str, str]:
        return {k: item[k] for k in ("PK", "SK", "userId", "createdAt")}

    @staticmethod
    def status_index_cursor(item: dict[str, Any]) -> dict[str, str]:
        return {k: item[k] for k in ("PK", "SK", "projectStatus")}


def new_deployment_id() -> str:
    return new_id("dpl_")


def _not_found(deployment_id: str) -> NotFound:
    return NotFound(f"deployment {deployment_id} not found")


def _parse_status(status: DeploymentStatus | str) -> DeploymentStatus:
    try:
        return DeploymentStatus(status)
    except ValueError as error:
        allowed = ", ".join(s.value for s in DeploymentStatus)
        raise ValidationError(
            {"status": [f"{status!r} is not one of {allowed}"]}, cause=error
        ) from error


# --- reads -------------------------------------------------------------------------------------


def _find_item(deployment_id: str, user_id: str | None) -> dict[str, Any]:
    """The stored item of a deployment id (DeploymentIdIndex), filtered on the tenant.

    `user_id=None` reads unscoped: only the orchestrator paths and the audited resolver pass it;
    every public tenant-scoped function checks its `user_id` before calling this.
    """
    if not isinstance(deployment_id, str) or not ID_PATTERN.match(deployment_id):
        raise _not_found(deployment_id)
    tenant, values = _Keys.tenant(user_id)
    kwargs: dict[str, Any] = {
        "TableName": DEPLOYMENTS.name(),
        "IndexName": DEPLOYMENT_ID_INDEX,
        "KeyConditionExpression": "deploymentId = :deploymentId",
        "ExpressionAttributeValues": {":deploymentId": to_value(deployment_id), **values},
    }
    if tenant:
        kwargs["FilterExpression"] = tenant
    with aws_errors():
        items = aws.dynamodb().query(**kwargs).get("Items", [])
    if not items:
        raise _not_found(deployment_id)
    return from_item(items[0])


def get_deployment(user_id: str, deployment_id: str) -> DeploymentSchema:
    """The tenant's deployment; another tenant's raises the same NotFound as a missing one.

    Reads DeploymentIdIndex, which is eventually consistent on AWS: a deployment created a moment
    ago may not be visible yet (callers that just wrote it already hold the returned record).
    """
    if not valid_user_id(user_id):
        raise _not_found(deployment_id)
    return read_record(DeploymentSchema, _find_item(deployment_id, user_id))


def list_project_deployments(
    user_id: str,
    project_id: str,
    *,
    limit: int = 25,
    cursor: str | None = None,
    status: DeploymentStatus | str | None = None,
    owner_checked: bool = False,
) -> Page[DeploymentSchema]:
    """The tenant's project's deployments, newest first, optionally of one status: one Query.

    Without a status the Query reads the project's partition; with one, ProjectStatusIndex
    (the partition `{projectId}#{status}`), so a page costs one call of `limit + 1` items however
    rare the status is. Rows are filtered on `userId` inside DynamoDB. A project of another
    tenant raises NotFound: when a first page comes back empty the project is read to tell "no
    deployments" from "not yours" — unless `owner_checked`, for a caller that reads the project
    with get_project itself (and so gets that NotFound) in the same request.
    """
    limit = max(1, min(limit, MAX_PAGE))
    wanted = _parse_status(status) if status else None
    scope = _project_scope(user_id, project_id, wanted)
    if cursor:
        decode_cursor(cursor, scope)  # a bad cursor is a 400 whatever the ids
    if not valid_user_id(user_id) or not PROJECT_ID_PATTERN.match(str(project_id)):
        raise NotFound(f"project {project_id} not found")
    tenant, values = _Keys.tenant(user_id)
    kwargs: dict[str, Any] = {"TableName": DEPLOYMENTS.name(), "FilterExpression": tenant}
    if wanted:
        kwargs["IndexName"] = PROJECT_STATUS_INDEX
        kwargs["KeyConditionExpression"] = "projectStatus = :pk AND begins_with(SK, :prefix)"
        partition = derived.project_status(project_id, wanted.value)
        prefix, key_of = SK_PREFIX, _Keys.status_index_cursor
    else:
        kwargs["KeyConditionExpression"] = "PK = :pk AND begins_with(SK, :prefix)"
        partition, prefix, key_of = project_id, SK_PREFIX, _Keys.table_cursor
    kwargs["ExpressionAttributeValues"] = {
        ":pk": to_value(partition),
        ":prefix": to_value(prefix),
        **values,
    }
    page = read_page(
        DeploymentSchema, kwargs, limit=limit, scope=scope, cursor=cursor, key_of=key_of
    )
    if not (page.items or page.unreadable) and cursor is None and not owner_checked:
        projects_repository.get_project(user_id, project_id)  # NotFound unless the tenant owns it
    return page


def check_cursor(
    user_id: str, project_id: str, cursor: str, *, status: DeploymentStatus | str | None = None
) -> None:
    """Raise InvalidCursor unless `cursor` was made for this list (no AWS call)."""
    decode_cursor(cursor, _project_scope(user_id, project_id, status))


def _project_scope(
    user_id: str, project_id: str, status: DeploymentStatus | str | None
) -> tuple[str, ...]:
    wanted = _parse_status(status) if status else None
    return ("project_deployments", user_id, project_id, wanted.value if wanted else "")


def list_user_deployments(
    user_id: str, *, limit: int = 25, cursor: str | None = None
) -> Page[DeploymentSchema]:
    """The tenant's most recent deployments across all projects (UserDeploymentsIndex)."""
    limit = max(1, min(limit, MAX_PAGE))
    scope = ("user_deployments", user_id)
    if cursor:
        decode_cursor(cursor, scope)
    if not valid_user_id(user_id):
        return Page(items=[])
    kwargs = {
        "TableName": DEPLOYMENTS.name(),
        "IndexName": USER_DEPLOYMENTS_INDEX,
        "KeyConditionExpression": "userId = :userId",
        "ExpressionAttributeValues": {":userId": to_value(user_id)},
    }
    return read_page(
        DeploymentSchema,
        kwargs,
        limit=limit,
        scope=scope,
        cursor=cursor,
        key_of=_Keys.user_index_cursor,
    )


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
    wanted = _parse_status(status) if status else None
    low = format_timestamp(since) if since else None
    high = format_timestamp(until - timedelta(milliseconds=1)) if until else None
    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    kwargs: dict[str, Any] = {"TableName": DEPLOYMENTS.name(), "ScanIndexForward": False}
    if project_id is not None:
        if not PROJECT_ID_PATTERN.match(str(project_id)):
            return
        tenant, values = _Keys.tenant(user_id)
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
    tenant, values = _Keys.tenant(user_id)
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


def resolve_deployment_tenant(deployment_id: str) -> tuple[str, str]:
    """CROSS-TENANT: (userId, projectId) owning a deployment id. Only audited staff look-ups."""
    item = _find_item(deployment_id, None)
    user_id, project_id = item.get("userId"), item.get("projectId")
    if not isinstance(user_id, str) or not isinstance(project_id, str):
        # Stored without a usable owner: staff see the item as it is, not a 500.
        raise Unreadable(
            f"the stored deployment {deployment_id} names no tenant or project",
            key={k: str(item[k]) for k in ("PK", "SK") if k in item},
            attributes=item,
        )
    return user_id, project_id


# --- writes ------------------------------------------------------------------------------------


def create_deployment(
    user_id: str, project_id: str, data: CreateDeploymentSchema | dict[str, Any]
) -> DeploymentSchema:
    """Queue a deployment of the tenant's project.

    One transaction writes the deployment with its projectStatus (conditional on its key being new),
    checks that the project exists and belongs to the tenant, and adds one queued deployment to
    the day's counter, so a deployment is never created for a project the tenant does not own
    and the counters never disagree with the rows. A transaction cancelled by a conflict with
    another write (or by throttling) is tried again. The project's latestDeployment summary then
    moves forward to it (deployments.summary.advance_summary), never backwards.
    """
    return _create(user_id, project_id, data, request_key=None)[0]


def create_deployment_once(
    user_id: str,
    project_id: str,
    data: CreateDeploymentSchema | dict[str, Any],
    *,
    request_key: str,
    purpose: str = "",
) -> tuple[DeploymentSchema, bool]:
    """create_deployment, at most once per `request_key` (a staff form's idempotency key):
    returns (deployment, True) when this call queued it, or (the deployment an earlier request
    with the same key queued, False). Tenant-scoped like create_deployment.

    The key is guarded by a small item `REQUEST#{key}` in the project's partition, put in the
    same transaction as the deployment (conditional on being new), so two requests racing with
    one key create one deployment whatever the timing. The guard keeps what the key was for
    (`purpose`, e.g. "redeploy dpl_…", and the commit): the same key presented for anything
    else raises RequestKeyReused and writes nothing. ValidationError for a malformed key.
    """
    if not isinstance(request_key, str) or not REQUEST_KEY_PATTERN.match(request_key):
        raise ValidationError({"request_key": ["The form has expired; open it again."]})
    return _create(user_id, project_id, data, request_key=request_key, purpose=purpose)


def _create(
    user_id: str,
    project_id: str,
    data: CreateDeploymentSchema | dict[str, Any],
    *,
    request_key: str | None,
    purpose: str = "",
) -> tuple[DeploymentSchema, bool]:
    payload = validate(CreateDeploymentSchema, data)
    if not valid_user_id(user_id) or not PROJECT_ID_PATTERN.match(str(project_id)):
        raise NotFound(f"project {project_id} not found")
    moment = now()
    deployment = DeploymentSchema(
        deployment_id=new_deployment_id(),
        project_id=project_id,
        user_id=user_id,
        status=DeploymentStatus.QUEUED,
        created_at=moment,
        updated_at=moment,
        **payload.model_dump(),
    )
    token = new_write_token()
    item = {**derived.with_derived_keys(deployment.to_stored()), "writeToken": token}
    project_key, owned, owned_values = _Keys.project(project_id, user_id)
    day = derived.counter_day(deployment.created_at)
    writes: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": DEPLOYMENTS.name(),
                "Item": to_item(item),
                "ConditionExpression": "attribute_not_exists(PK)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        {
            "ConditionCheck": {
                "TableName": PROJECTS.name(),
                "Key": project_key,
                "ConditionExpression": owned,
                "ExpressionAttributeValues": owned_values,
            }
        },
        {"Update": derived.counter_update(project_id, user_id, day, {"queued": 1})},
    ]
    if request_key is not None:
        # Attribute names of its own: the guard must not appear in any index of deployments.
        guard = {
            "PK": project_id,
            "SK": _Keys.request(request_key),
            "requestUserId": user_id,
            "requestSortKey": item["SK"],
            "requestedAt": item["createdAt"],
            "requestPurpose": _purpose(purpose, payload.commit_sha),
        }
        writes.append(
            {
                "Put": {
                    "TableName": DEPLOYMENTS.name(),
                    "Item": to_item(guard),
                    "ConditionExpression": "attribute_not_exists(PK)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
    cancelled = transact(writes)
    if cancelled is not None and not _own_write(
        cancelled, 0, token, _Keys.item(project_id, item["SK"])
    ):
        if cancelled.failed(1):
            raise NotFound(f"project {project_id} not found") from cancelled.error
        if request_key is not None and cancelled.failed(3):
            found = _requested(
                user_id,
                project_id,
                request_key,
                cancelled.old(3),
                purpose=_purpose(purpose, payload.commit_sha),
            )
            return found, False
        raise Conflict(
            f"deployment {deployment.deployment_id} already exists", cause=cancelled.error
        ) from cancelled.error
    advance_summary(deployment)
    return deployment, True


def _purpose(purpose: str, commit_sha: str) -> str:
    """What a request key is bound to: the caller's purpose and the commit it queues."""
    return f"{purpose} commit {commit_sha}".strip()


def _requested(
    user_id: str,
    project_id: str,
    request_key: str,
    guard: dict[str, Any],
    *,
    purpose: str,
) -> DeploymentSchema:
    """The deployment an earlier request with this key created (read on the table, consistent),
    when that request was this one; RequestKeyReused when the key was made for another."""
    if not guard:
        guard = request_guard(project_id, request_key) or {}
    if guard.get("requestUserId") != user_id:  # another tenant's key: not ours to reveal
        raise RequestKeyReused("this request was already made for another record")
    # Guards written before purposes were stored carry none: compared on the commit only then.
    stored = guard.get("requestPurpose")
    if stored is not None and stored != purpose:
        raise RequestKeyReused(
            f"this form's key was already used to {stored.split(' commit ')[0] or 'deploy'}; "
            "nothing was queued for this request (open the form again)"
        )
    found = _read_consistent({"PK": project_id, "SK": guard["requestSortKey"]}, "")
    return DeploymentSchema.model_validate(found)


def request_guard(project_id: str, request_key: str) -> dict[str, Any] | None:
    """The guard of a create request's key in the project's partition (consistent read), or
    None when no request with that key took effect. Staff's audit sweeper asks it whether a
    redeploy happened; the key is the form's random value, not a tenant-visible id."""
    if not PROJECT_ID_PATTERN.match(str(project_id)):
        return None
    guard = _read_consistent(
        {"PK": project_id, "SK": _Keys.request(request_key)}, "", missing_ok=True
    )
    return guard or None


def _own_write(cancelled: Any, position: int, token: str, item: dict[str, Any]) -> bool:
    """Whether a transaction cancelled on item `position` found that item written by this very
    call (its token), i.e. an earlier attempt took effect and only its answer was lost."""
    if not cancelled.failed(position):
        return False
    # DynamoDB returns the stored item with the reason; where it does not, read it.
    old = cancelled.old(position) or _read_consistent(item, item["deploymentId"], missing_ok=True)
    return old.get("writeToken") == token


def import_deployments(
    user_id: str, project_id: str, deployments: Iterable[DeploymentSchema]
) -> int:
    """Bulk-load historical deployments of the tenant's project (demo data, migrations); returns
    how many were new.

    Deployments already stored are left exactly as they are (a re-run never undoes a status
    change made since): each chunk's keys are looked up with one keys-only range Query (falling
    back to BatchGetItem when the range holds many other items), and only the missing items are
    put with BatchWriteItem (25 per call, unprocessed items retried). Every item carries its
    projectStatus and, when queued, building or failed, its attention keys (derived.py), and the
    day counters are added for exactly the items written, so imported data
    looks as if created one by one. Batch writes cannot be conditional or transactional, so a
    live push never comes this way (use create_deployment); should the process die between a
    batch and its counters, `manage.py recount_deployments --project` puts them right.
    The project's latestDeployment summary then moves to the newest new deployment, if newer.
    """
    projects_repository.get_project(user_id, project_id)
    newest: DeploymentSchema | None = None
    written = 0
    for chunk in chunks(deployments, IMPORT_CHUNK):
        rows: dict[str, tuple[DeploymentSchema, dict[str, Any]]] = {}
        for deployment in chunk:
            if deployment.user_id != user_id or deployment.project_id != project_id:
                raise ValidationError(
                    {"deployments": [f"{deployment.deployment_id} belongs elsewhere"]}
                )
            item = derived.with_derived_keys(deployment.to_stored())
            rows[item["SK"]] = (deployment, item)
        existing = existing_sort_keys(DEPLOYMENTS.name(), project_id, sorted(rows))
        new = [row for key, row in rows.items() if key not in existing]
        for requests in chunks(new, BATCH_SIZE):
            batch_write(
                DEPLOYMENTS.name(),
                [{"PutRequest": {"Item": to_item(item)}} for _, item in requests],
            )
        _add_counts(user_id, project_id, [item for _, item in new])
        written += len(new)
        for deployment, _ in new:
            if newest is None or deployment.created_at > newest.created_at:
                newest = deployment
    if newest is not None:
        advance_summary(newest)
    return written


def _add_counts(user_id: str, project_id: str, items: list[dict[str, Any]]) -> None:
    """Add stored deployment items to their days' counters (one UpdateItem per day, each
    idempotent under retries: a failed condition is this same update, already applied)."""
    for day, counts in sorted(derived.day_counts(items).items()):
        update = derived.counter_update(
            project_id, user_id, day, dict(counts), token=new_write_token()
        )
        with condition_check():
            aws.dynamodb().update_item(**update)


def transition_deployment(
    user_id: str,
    deployment_id: str,
    status: DeploymentStatus | str,
    *,
    error: str | None = None,
    started_before: datetime | None = None,
    known: DeploymentSchema | None = None,
    write_token: str | None = None,
    receipt: str | None = None,
) -> DeploymentSchema:
    """Move the tenant's deployment along the status machine (staff actions).

    The deployment must belong to `user_id` (NotFound otherwise, as for a missing one). With
    `started_before`, the write also requires the build to have started before that moment
    (marking a stuck build as failed). A transition the machine does not allow from the stored
    status — including one that lost a race — raises InvalidTransition (with the status that
    refused it) and leaves the item untouched. `known`, the record a caller already read with
    get_deployment, saves the look-up of its key; the write stays conditional on the tenant.

    `write_token` (a staff action's token, from its pending audit entry) is the token the write
    stores; with `receipt` (the action's name) an action receipt keyed by that token is put in
    the same transaction (infra.core.receipts), so the audit sweeper can tell later whether the
    write took effect.
    """
    if not valid_user_id(user_id):
        raise _not_found(deployment_id)
    return _transition(
        user_id,
        deployment_id,
        status,
        error=error,
        started_before=started_before,
        known=known,
        write_token=write_token,
        receipt=receipt,
    )


def _transition(
    user_id: str | None,
    deployment_id: str,
    status: DeploymentStatus | str,
    *,
    error: str | None = None,
    started_before: datetime | None = None,
    known: DeploymentSchema | None = None,
    write_token: str | None = None,
    receipt: str | None = None,
) -> DeploymentSchema:
    """One transaction: the deployment's status (conditional on the status it moves from, the
    tenant and, for a stuck build, startedAt) with its projectStatus and attention keys (set on
    building and error, removed on ready and canceled), and the day counter (one less
    of the old status, one more of the new), so counters never disagree with rows. Sets startedAt
    on building, endedAt on a final status. `user_id=None` is the orchestrator's unscoped path.

    The status it moves from is the one last read; when the stored one has moved on meanwhile,
    the transition is tried again from the new one if the machine still allows it.
    """
    target = _parse_status(status)
    if error is not None and len(error) > 4000:
        raise ValidationError({"error": ["at most 4000 characters"]})
    sources = {s.value for s in target.allowed_sources()}
    if not sources:
        raise InvalidTransition(f"no deployment can move to {target.value}")
    if known is not None and known.deployment_id == deployment_id:
        current = derived.with_derived_keys(known.to_stored())
    else:
        current = _find_item(deployment_id, user_id)
    fresh = False  # True once `current` comes from a strongly consistent read
    for _attempt in range(ATTEMPTS):
        if user_id is not None and current.get("userId") != user_id:
            raise _not_found(deployment_id)
        if current.get("status") not in sources:
            if not fresh:  # an index read may lag: make sure before refusing
                current, fresh = _read_consistent(current, deployment_id), True
                continue
            raise InvalidTransition(
                f"deployment {deployment_id} is {current.get('status')}; it cannot move to "
                f"{target.value}",
                current_status=current.get("status"),
            )
        token = write_token or new_write_token()
        changes = {**_transition_changes(current, target, error), "writeToken": token}
        writes = [
            {"Update": _transition_update(current, changes, user_id, started_before)},
            {
                "Update": derived.counter_update(
                    current["projectId"],
                    current["userId"],
                    derived.counter_day(current["createdAt"]),
                    {current["status"]: -1, target.value: 1},
                )
            },
        ]
        if receipt is not None:
            writes.append(
                receipt_put(
                    current["projectId"],
                    token,
                    action=receipt,
                    record_id=deployment_id,
                    user_id=current["userId"],
                )
            )
        cancelled = transact(writes)
        if cancelled is None:
            deployment = DeploymentSchema.model_validate({**current, **changes})
            advance_summary(deployment)
            return deployment
        old = cancelled.old(0) or _read_consistent(current, deployment_id, missing_ok=True)
        if old and old.get("writeToken") == changes["writeToken"]:
            # Our own transition, retried after its answer was lost: it happened.
            deployment = read_record(DeploymentSchema, old)
            advance_summary(deployment)
            return deployment
        if not old or (user_id is not None and old.get("userId") != user_id):
            raise _not_found(deployment_id) from cancelled.error
        if old.get("status") == current["status"] and started_before is not None:
            raise InvalidTransition(
                f"deployment {deployment_id} started at {old.get('startedAt', 'an unknown time')}"
                f", not long enough ago; it cannot move to {target.value}",
                cause=cancelled.error,
                current_status=old.get("status"),
            )
        current, fresh = {**current, **old}, True
    raise Unavailable(f"deployment {deployment_id} kept changing while it was being moved")


def _transition_changes(
    current: dict[str, Any], target: DeploymentStatus, error: str | None
) -> dict[str, Any]:
    moment = format_timestamp(now())
    changes: dict[str, Any] = {
        "status": target.value,
        "updatedAt": moment,
        "projectStatus": derived.project_status(current["projectId"], target.value),
    }
    if target is DeploymentStatus.BUILDING:
        changes["startedAt"] = moment
    if target.is_final:
        changes["endedAt"] = moment
    if error is not None:
        changes["error"] = error
    # Into the feed (building, error) or out of it (ready, canceled: _transition_update removes
    # the keys), in this same conditional write.
    changes.update(derived.attention_keys({**current, **changes}))
    return changes


def _transition_update(
    current: dict[str, Any],
    changes: dict[str, Any],
    user_id: str | None,
    started_before: datetime | None,
) -> dict[str, Any]:
    names = {f"#{k}": k for k in changes}
    values = {f":{k}": to_value(v) for k, v in changes.items()}
    values[":from"] = to_value(current["status"])
    condition = "attribute_exists(PK) AND #status = :from"
    tenant, tenant_values = _Keys.tenant(user_id)
    if tenant:
        condition += " AND " + tenant
        values.update(tenant_values)
    if started_before is not None:
        condition += " AND startedAt < :startedBefore"
        values[":startedBefore"] = to_value(format_timestamp(started_before))
    expression = "SET " + ", ".join(f"#{k} = :{k}" for k in changes)
    leaving = [key for key in derived.ATTENTION_KEYS if key not in changes]
    if leaving:  # a final state other than error: the deployment leaves the attention feed
        names.update({f"#{k}": k for k in leaving})
        expression += " REMOVE " + ", ".join(f"#{k}" for k in leaving)
    return {
        "TableName": DEPLOYMENTS.name(),
        "Key": _Keys.item(current["PK"], current["SK"]),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def _read_consistent(
    current: dict[str, Any], deployment_id: str, *, missing_ok: bool = False
) -> dict[str, Any]:
    """The deployment's stored item, read with a strongly consistent GetItem on its key."""
    with aws_errors():
        item = (
            aws.dynamodb()
            .get_item(
                TableName=DEPLOYMENTS.name(),
                Key=_Keys.item(current["PK"], current["SK"]),
                ConsistentRead=True,
            )
            .get("Item")
        )
    if not item:
        if missing_ok:
            return {}
        raise _not_found(deployment_id)
    return from_item(item)


def update_deployment_status(
    deployment_id: str, status: DeploymentStatus | str, *, error: str | None = None
) -> DeploymentSchema:
    """Orchestrator side (not tenant-scoped): move a deployment along the status machine."""
    return _transition(None, deployment_id, status, error=error)


def update_deployment(deployment_id: str, **fields: Any) -> DeploymentSchema:
    """Orchestrator side (not tenant-scoped): set buildId, error, startedAt, endedAt or message.

    Conditional on the deployment existing; status changes go through update_deployment_status.
    """
    payload = validate(UpdateDeploymentSchema, fields)
    changes = payload.to_stored()
    if not changes:
        raise ValidationError({"fields": ["nothing to change"]})
    current = _find_item(deployment_id, None)
    # A new startedAt (building) or endedAt (error) moves the deployment within the feed: only
    # the attention keys that change are set (a building one's partition never changes, so a
    # race with the transition that ends it cannot put it back into the index).
    if current.get("status") in ("building", "error"):
        was = derived.attention_keys(current)
        changes.update(
            {
                key: value
                for key, value in derived.attention_keys({**current, **changes}).items()
                if was.get(key) != value
            }
        )
    names = {f"#{k}": k for k in changes}
    values = {f":{k}": to_value(v) for k, v in changes.items()}
    values[":now"] = to_value(format_timestamp(now()))
    expression = "SET " + ", ".join([f"#{k} = :{k}" for k in changes] + ["updatedAt = :now"])
    with condition_check() as check:
        response = aws.dynamodb().update_item(
            TableName=DEPLOYMENTS.name(),
            Key=_Keys.item(current["PK"], current["SK"]),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    if check.failed:
        raise _not_found(deployment_id) from check.error
    return DeploymentSchema.model_validate(from_item(response["Attributes"]))
