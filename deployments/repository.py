"""The deployments repository: the only code that reads or writes deployment items."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from deployments.schemas import (
    CreateDeploymentSchema,
    DeploymentSchema,
    DeploymentStatus,
    UpdateDeploymentSchema,
)
from infra.core import aws
from infra.core.dynamo import (
    Page,
    decode_cursor,
    encode_cursor,
    format_timestamp,
    from_item,
    now,
    to_item,
    to_value,
)
from infra.core.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    RepositoryError,
    Unavailable,
    ValidationError,
    aws_errors,
    condition_check,
    error_code,
    translate,
)
from infra.core.ids import (
    DEPLOYMENT_ID_PATTERN,
    MAX_PAGE,
    PROJECT_ID_PATTERN,
    new_id,
    valid_user_id,
)
from infra.core.resources import (
    DEPLOYMENT_ID_INDEX,
    DEPLOYMENTS,
    PROJECTS,
    USER_DEPLOYMENTS_INDEX,
)
from infra.core.schemas import validate
from projects import repository as projects_repository

__all__ = [
    "create_deployment",
    "get_deployment",
    "import_deployments",
    "list_project_activity",
    "list_project_deployments",
    "list_user_deployments",
    "resolve_deployment_tenant",
    "transition_deployment",
    "update_deployment",
    "update_deployment_status",
]

logger = logging.getLogger("anchor.repository")

ID_PATTERN = DEPLOYMENT_ID_PATTERN
SK_PREFIX = "DEPLOYMENT#"
FILTERED_READ_SIZE = 250  # items read per call while filling a status-filtered page
BATCH_SIZE = 25  # BatchWriteItem's limit
BATCH_GET_SIZE = 100  # BatchGetItem's limit


# --- the one key builder: every key and tenant condition of this table is made here -----------


class _Keys:
    @staticmethod
    def sort_key(created_at: str, deployment_id: str) -> str:
        return f"{SK_PREFIX}{created_at}#{deployment_id}"

    @staticmethod
    def item(project_id: str, sort_key: str) -> dict[str, Any]:
        return to_item({"PK": project_id, "SK": sort_key})

    @staticmethod
    def tenant(user_id: str | None) -> tuple[str, dict[str, Any]]:
        """The tenant filter/condition (`userId = :userId`), or nothing for orchestrator calls."""
        if user_id is None:
            return "", {}
        return "userId = :userId", {":userId": to_value(user_id)}

    project = staticmethod(projects_repository.owned_project)

    @staticmethod
    def cursor_key(item: dict[str, Any], *, index: bool) -> dict[str, str]:
        names = ("PK", "SK", "userId", "createdAt") if index else ("PK", "SK")
        return {k: item[k] for k in names}


def new_deployment_id() -> str:
    return new_id("dpl_")


def _not_found(deployment_id: str) -> NotFound:
    return NotFound(f"deployment {deployment_id} not found")


def _summary(deployment: DeploymentSchema) -> dict[str, Any]:
    return {
        "deploymentId": deployment.deployment_id,
        "status": deployment.status.value,
        "commitSha": deployment.commit_sha,
        "createdAt": format_timestamp(deployment.created_at),
    }


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
    return DeploymentSchema.model_validate(_find_item(deployment_id, user_id))


def list_project_deployments(
    user_id: str,
    project_id: str,
    *,
    limit: int = 25,
    cursor: str | None = None,
    status: DeploymentStatus | str | None = None,
) -> Page[DeploymentSchema]:
    """The tenant's project's deployments, newest first, optionally of one status.

    A project of another tenant raises NotFound. Rows are filtered on `userId` inside DynamoDB; when
    a first page comes back empty the project itself is read to tell "no deployments" from "not
    yours", so a page with rows costs one Query. A status filter keeps reading until the page is
    full or the project is exhausted.
    """
    limit = max(1, min(limit, MAX_PAGE))
    wanted = _parse_status(status) if status else None
    scope = ("project_deployments", user_id, project_id, wanted.value if wanted else "")
    start = decode_cursor(cursor, scope) if cursor else None
    if not valid_user_id(user_id) or not PROJECT_ID_PATTERN.match(str(project_id)):
        raise NotFound(f"project {project_id} not found")
    tenant, values = _Keys.tenant(user_id)
    names: dict[str, str] = {}
    if wanted:
        tenant += " AND #status = :status"
        values[":status"] = to_value(wanted.value)
        names["#status"] = "status"
    kwargs: dict[str, Any] = {
        "TableName": DEPLOYMENTS.name(),
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
        "FilterExpression": tenant,
        "ExpressionAttributeValues": {
            ":pk": to_value(project_id),
            ":prefix": to_value(SK_PREFIX),
            **values,
        },
        "ScanIndexForward": False,
    }
    if names:
        kwargs["ExpressionAttributeNames"] = names
    rows = _collect(
        kwargs, limit + 1, page_size=FILTERED_READ_SIZE if wanted else limit + 1, start=start
    )
    if not rows and start is None:
        projects_repository.get_project(user_id, project_id)  # NotFound unless the tenant owns it
    return _page(rows, limit, scope, index=False)


def list_user_deployments(
    user_id: str, *, limit: int = 25, cursor: str | None = None
) -> Page[DeploymentSchema]:
    """The tenant's most recent deployments across all projects (UserDeploymentsIndex)."""
    limit = max(1, min(limit, MAX_PAGE))
    scope = ("user_deployments", user_id)
    start = decode_cursor(cursor, scope) if cursor else None
    if not valid_user_id(user_id):
        return Page(items=[])
    kwargs = {
        "TableName": DEPLOYMENTS.name(),
        "IndexName": USER_DEPLOYMENTS_INDEX,
        "KeyConditionExpression": "userId = :userId",
        "ExpressionAttributeValues": {":userId": to_value(user_id)},
        "ScanIndexForward": False,
    }
    rows = _collect(kwargs, limit + 1, page_size=limit + 1, start=start)
    return _page(rows, limit, scope, index=True)


def _collect(
    kwargs: dict[str, Any], wanted: int, *, page_size: int, start: dict[str, str] | None
) -> list[dict[str, Any]]:
    """Read pages (boto3's paginator) until `wanted` rows are collected or none are left."""
    if start:
        kwargs = {**kwargs, "ExclusiveStartKey": to_item(start)}
    rows: list[dict[str, Any]] = []
    paginator = aws.dynamodb().get_paginator("query")
    with aws_errors():
        for response in paginator.paginate(**kwargs, PaginationConfig={"PageSize": page_size}):
            rows.extend(from_item(i) for i in response.get("Items", []))
            if len(rows) >= wanted:
                break
    return rows[:wanted]


def _page(rows: list[dict[str, Any]], limit: int, scope: tuple[str, ...], *, index: bool) -> Page:
    # `rows` holds up to limit+1 items: the extra one only proves that a next page exists, and the
    # cursor points after the last row shown, so a "next" link never leads to an empty page.
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(scope, _Keys.cursor_key(rows[limit - 1], index=index))
    return Page(
        items=[DeploymentSchema.model_validate(r) for r in rows[:limit]], next_cursor=next_cursor
    )


@dataclass(frozen=True)
class Activity:
    """When a deployment was created and its status: what a chart of activity needs."""

    created_at: datetime
    status: DeploymentStatus


def list_project_activity(user_id: str, project_id: str, *, since: datetime) -> list[Activity]:
    """(createdAt, status) of the tenant's project's deployments created at or after `since`.

    One Query on the sort-key range (`DEPLOYMENT#{since}` onwards) projecting two attributes, so
    a month of a busy project is typically one call, read in full whatever its size; more pages
    only past DynamoDB's 1 MB per call. Rows are filtered on `userId`: another tenant's project
    gives an empty list, exactly like a project with no recent deployments.
    """
    if not valid_user_id(user_id) or not PROJECT_ID_PATTERN.match(str(project_id)):
        return []
    tenant, values = _Keys.tenant(user_id)
    kwargs: dict[str, Any] = {
        "TableName": DEPLOYMENTS.name(),
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :from AND :to",
        "FilterExpression": tenant,
        "ProjectionExpression": "createdAt, #status",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":pk": to_value(project_id),
            ":from": to_value(SK_PREFIX + format_timestamp(since)),
            ":to": to_value(SK_PREFIX + "~"),  # "~" sorts after every timestamp
            **values,
        },
    }
    found: list[Activity] = []
    with aws_errors():
        for response in aws.dynamodb().get_paginator("query").paginate(**kwargs):
            for item in response.get("Items", []):
                row = from_item(item)
                found.append(
                    Activity(
                        created_at=datetime.fromisoformat(row["createdAt"]),
                        status=DeploymentStatus(row["status"]),
                    )
                )
    return found


def resolve_deployment_tenant(deployment_id: str) -> tuple[str, str]:
    """CROSS-TENANT: (userId, projectId) owning a deployment id. Only audited staff look-ups."""
    item = _find_item(deployment_id, None)
    return item["userId"], item["projectId"]


# --- writes ------------------------------------------------------------------------------------


def create_deployment(
    user_id: str, project_id: str, data: CreateDeploymentSchema | dict[str, Any]
) -> DeploymentSchema:
    """Queue a deployment of the tenant's project.

    One transaction writes the deployment (conditional on its key being new) and the project's
    latestDeployment summary (conditional on the project existing and belonging to the tenant), so
    a deployment is never created for a project the tenant does not own, and the summary never
    lags behind a created deployment.
    """
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
    stored = deployment.to_stored()
    item = {
        "PK": project_id,
        "SK": _Keys.sort_key(stored["createdAt"], deployment.deployment_id),
        **stored,
    }
    project_key, owned, owned_values = _Keys.project(project_id, user_id)
    try:
        aws.dynamodb().transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": DEPLOYMENTS.name(),
                        "Item": to_item(item),
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "TableName": PROJECTS.name(),
                        "Key": project_key,
                        "UpdateExpression": "SET latestDeployment = :latest",
                        "ConditionExpression": owned,
                        "ExpressionAttributeValues": {
                            ":latest": to_value(_summary(deployment)),
                            **owned_values,
                        },
                    }
                },
            ]
        )
    except ClientError as error:
        if error_code(error) != "TransactionCanceledException":
            raise translate(error) from error
        reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
        if len(reasons) == 2 and reasons[1] == "ConditionalCheckFailed":
            raise NotFound(f"project {project_id} not found") from error
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise Conflict(
                f"deployment {deployment.deployment_id} already exists", cause=error
            ) from error
        raise translate(error) from error
    except BotoCoreError as error:
        raise translate(error) from error
    return deployment


def import_deployments(
    user_id: str, project_id: str, deployments: Iterable[DeploymentSchema]
) -> int:
    """Bulk-load historical deployments of the tenant's project (demo data, migrations); returns
    how many were new.

    Deployments already stored are left exactly as they are (a re-run never undoes a status
    change made since): each chunk of 100 keys is looked up with BatchGetItem, and only the
    missing items are put with BatchWriteItem (25 per call, unprocessed items retried). Batch
    writes cannot be conditional, so a live push never comes this way (use create_deployment).
    The project's latestDeployment summary then moves to the newest new deployment, if newer.
    """
    projects_repository.get_project(user_id, project_id)
    newest: DeploymentSchema | None = None
    written = 0
    for chunk in _chunks(deployments, BATCH_GET_SIZE):
        rows: dict[tuple[str, str], tuple[DeploymentSchema, dict[str, Any]]] = {}
        for deployment in chunk:
            if deployment.user_id != user_id or deployment.project_id != project_id:
                raise ValidationError(
                    {"deployments": [f"{deployment.deployment_id} belongs elsewhere"]}
                )
            stored = deployment.to_stored()
            sort_key = _Keys.sort_key(stored["createdAt"], deployment.deployment_id)
            rows[(project_id, sort_key)] = (
                deployment,
                {"PK": project_id, "SK": sort_key, **stored},
            )
        existing = _existing_keys(list(rows))
        new = [row for key, row in rows.items() if key not in existing]
        for requests in _chunks(new, BATCH_SIZE):
            _batch_write([{"PutRequest": {"Item": to_item(item)}} for _, item in requests])
        written += len(new)
        for deployment, _ in new:
            if newest is None or deployment.created_at > newest.created_at:
                newest = deployment
    if newest is not None:
        _set_latest(user_id, project_id, newest, only_if_newer=True)
    return written


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _existing_keys(keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (PK, SK) keys the deployments table holds (BatchGetItem, at most 100)."""
    pending: dict[str, Any] = {
        DEPLOYMENTS.name(): {
            "Keys": [_Keys.item(pk, sk) for pk, sk in keys],
            "ProjectionExpression": "PK, SK",
        }
    }
    found: set[tuple[str, str]] = set()
    with aws_errors():
        for _attempt in range(8):
            response = aws.dynamodb().batch_get_item(RequestItems=pending)
            for item in response.get("Responses", {}).get(DEPLOYMENTS.name(), []):
                row = from_item(item)
                found.add((row["PK"], row["SK"]))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return found
    raise Unavailable("DynamoDB kept leaving batch reads unprocessed (throttled)")


def _batch_write(requests: list[dict[str, Any]]) -> None:
    pending = {DEPLOYMENTS.name(): requests}
    with aws_errors():
        for _attempt in range(8):
            pending = (
                aws.dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            )
            if not pending:
                return
    raise Unavailable("DynamoDB kept leaving batch writes unprocessed (throttled)")


def _set_latest(
    user_id: str, project_id: str, deployment: DeploymentSchema, *, only_if_newer: bool
) -> None:
    key, owned, values = _Keys.project(project_id, user_id)
    values = {**values, ":latest": to_value(_summary(deployment))}
    if only_if_newer:
        owned += (
            " AND (attribute_not_exists(latestDeployment)"
            " OR latestDeployment.createdAt <= :createdAt)"
        )
        values[":createdAt"] = to_value(format_timestamp(deployment.created_at))
    with condition_check():  # a newer summary already there is not an error
        aws.dynamodb().update_item(
            TableName=PROJECTS.name(),
            Key=key,
            UpdateExpression="SET latestDeployment = :latest",
            ConditionExpression=owned,
            ExpressionAttributeValues=values,
        )


def _refresh_latest_status(deployment: DeploymentSchema) -> None:
    """Second write after a status change: the project's summary, only if it still shows this
    deployment in a status the new one may follow.

    So a newer deployment's summary is never overwritten by an older one's late change, and a
    delayed write never moves the summary backwards (building after ready). Losing that condition
    is not an error. The write is best-effort: the status change itself is already stored, so if
    AWS fails here the summary lags until the deployment's next change, and a warning is logged
    rather than the caller told that its (successful) transition failed.
    """
    key, owned, values = _Keys.project(deployment.project_id, deployment.user_id)
    sources = sorted(s.value for s in deployment.status.allowed_sources())
    placeholders = [f":from{i}" for i in range(len(sources))]
    values.update({p: to_value(v) for p, v in zip(placeholders, sources, strict=True)})
    values[":status"] = to_value(deployment.status.value)
    values[":deploymentId"] = to_value(deployment.deployment_id)
    try:
        with condition_check():
            aws.dynamodb().update_item(
                TableName=PROJECTS.name(),
                Key=key,
                UpdateExpression="SET latestDeployment.#status = :status",
                ConditionExpression=(
                    f"{owned} AND latestDeployment.deploymentId = :deploymentId"
                    f" AND latestDeployment.#status IN ({', '.join(placeholders)})"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
    except RepositoryError as error:
        logger.warning(
            "project %s: latestDeployment summary not updated for %s: %s",
            deployment.project_id,
            deployment.deployment_id,
            error,
        )


def transition_deployment(
    user_id: str,
    deployment_id: str,
    status: DeploymentStatus | str,
    *,
    error: str | None = None,
    started_before: datetime | None = None,
    known: DeploymentSchema | None = None,
) -> DeploymentSchema:
    """Move the tenant's deployment along the status machine (staff actions).

    The deployment must belong to `user_id` (NotFound otherwise, as for a missing one). With
    `started_before`, the write also requires the build to have started before that moment
    (marking a stuck build as failed). A transition the machine does not allow from the stored
    status — including one that lost a race — raises InvalidTransition (with the status that
    refused it) and leaves the item untouched. `known`, the record a caller already read with
    get_deployment, saves the look-up of its key; the write stays conditional on the tenant.
    """
    if not valid_user_id(user_id):
        raise _not_found(deployment_id)
    return _transition(
        user_id, deployment_id, status, error=error, started_before=started_before, known=known
    )


def _transition(
    user_id: str | None,
    deployment_id: str,
    status: DeploymentStatus | str,
    *,
    error: str | None = None,
    started_before: datetime | None = None,
    known: DeploymentSchema | None = None,
) -> DeploymentSchema:
    """One conditional write on the current status; sets startedAt on building, endedAt on a
    final status. `user_id=None` is the orchestrator's unscoped path."""
    target = _parse_status(status)
    if error is not None and len(error) > 4000:
        raise ValidationError({"error": ["at most 4000 characters"]})
    if known is not None and known.deployment_id == deployment_id:
        sort_key = _Keys.sort_key(format_timestamp(known.created_at), deployment_id)
        current = {"PK": known.project_id, "SK": sort_key}
    else:
        current = _find_item(deployment_id, user_id)
    sources = sorted(s.value for s in target.allowed_sources())
    if not sources:
        raise InvalidTransition(f"no deployment can move to {target.value}")
    moment = format_timestamp(now())
    sets = ["#status = :to", "updatedAt = :now"]
    values: dict[str, Any] = {":to": to_value(target.value), ":now": to_value(moment)}
    if target is DeploymentStatus.BUILDING:
        sets.append("startedAt = :now")
    if target.is_final:
        sets.append("endedAt = :now")
    if error is not None:
        sets.append("#error = :error")
        values[":error"] = to_value(error)
    placeholders = [f":from{i}" for i in range(len(sources))]
    values.update({p: to_value(s) for p, s in zip(placeholders, sources, strict=True)})
    condition = f"attribute_exists(PK) AND #status IN ({', '.join(placeholders)})"
    tenant, tenant_values = _Keys.tenant(user_id)
    if tenant:
        condition += " AND " + tenant
        values.update(tenant_values)
    if started_before is not None:
        condition += " AND startedAt < :startedBefore"
        values[":startedBefore"] = to_value(format_timestamp(started_before))
    names = {"#status": "status"}
    if error is not None:
        names["#error"] = "error"
    with condition_check() as check:
        response = aws.dynamodb().update_item(
            TableName=DEPLOYMENTS.name(),
            Key=_Keys.item(current["PK"], current["SK"]),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    if check.failed:
        old = from_item(check.old)
        if not old or (user_id is not None and old.get("userId") != user_id):
            raise _not_found(deployment_id) from check.error
        reason = f"is {old.get('status')}"
        if started_before is not None and old.get("status") in sources:
            reason = f"started at {old.get('startedAt', 'an unknown time')}, not long enough ago"
        raise InvalidTransition(
            f"deployment {deployment_id} {reason}; it cannot move to {target.value}",
            cause=check.error,
            current_status=old.get("status"),
        )
    deployment = DeploymentSchema.model_validate(from_item(response["Attributes"]))
    _refresh_latest_status(deployment)
    return deployment


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
