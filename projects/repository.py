"""The projects repository: the only code that reads or writes project items, always per tenant."""

from __future__ import annotations

from typing import Any

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
    Unreadable,
    ValidationError,
    aws_errors,
    condition_check,
)
from infra.core.ids import MAX_PAGE, PROJECT_ID_PATTERN, new_id, new_write_token, valid_user_id
from infra.core.receipts import receipt_put
from infra.core.resources import DERIVED_VERSION, PROJECTS, USER_ID_INDEX
from infra.core.schemas import validate
from infra.core.transactions import transact
from projects.schemas import CreateProjectSchema, ProjectSchema, UpdateProjectSchema

__all__ = [
    "create_project",
    "get_project",
    "import_project",
    "list_user_projects",
    "resolve_project_tenant",
    "update_project",
]

METADATA = "METADATA"
ID_PATTERN = PROJECT_ID_PATTERN


# --- the one key builder: every key and tenant condition of this table is made here -----------


class _Keys:
    @staticmethod
    def item(project_id: str) -> dict[str, Any]:
        return to_item({"PK": project_id, "SK": METADATA})

    @staticmethod
    def tenant(user_id: str) -> tuple[str, dict[str, Any]]:
        """Filter: the item belongs to `user_id`."""
        return "userId = :userId", {":userId": to_value(user_id)}

    @classmethod
    def owned(cls, user_id: str) -> tuple[str, dict[str, Any]]:
        """Condition: the item exists and belongs to `user_id`."""
        tenant, values = cls.tenant(user_id)
        return f"attribute_exists(PK) AND {tenant}", values

    @staticmethod
    def cursor_key(item: dict[str, Any]) -> dict[str, str]:
        return {k: item[k] for k in ("PK", "SK", "userId", "createdAt")}


def owned_project(project_id: str, user_id: str) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """For writes on the project item from other repositories (the deployments' summary): its
    key and the condition that it exists and belongs to the tenant, from this module's builder."""
    condition, values = _Keys.owned(user_id)
    return _Keys.item(project_id), condition, values


def new_project_id() -> str:
    return new_id("prj_")


def _is_addressable(user_id: str, project_id: str) -> bool:
    # A malformed id can never name a stored record: it is simply not found (no AWS call).
    return (
        valid_user_id(user_id)
        and isinstance(project_id, str)
        and bool(ID_PATTERN.match(project_id))
    )


def _not_found(project_id: str) -> NotFound:
    return NotFound(f"project {project_id} not found")


# --- reads -------------------------------------------------------------------------------------


def get_project(user_id: str, project_id: str) -> ProjectSchema:
    """The tenant's project. Another tenant's project raises the same NotFound as a missing one."""
    if not _is_addressable(user_id, project_id):
        raise _not_found(project_id)
    tenant, values = _Keys.tenant(user_id)
    # A strongly consistent Query on the item's key with the tenant as a filter: the tenant check
    # happens inside DynamoDB, and the read costs the same as a GetItem.
    with aws_errors():
        response = aws.dynamodb().query(
            TableName=PROJECTS.name(),
            KeyConditionExpression="PK = :pk AND SK = :sk",
            FilterExpression=tenant,
            ExpressionAttributeValues={
                ":pk": to_value(project_id),
                ":sk": to_value(METADATA),
                **values,
            },
            ConsistentRead=True,
        )
    if not response.get("Items"):
        raise _not_found(project_id)
    return read_record(ProjectSchema, from_item(response["Items"][0]))


def list_user_projects(
    user_id: str, *, limit: int = 25, cursor: str | None = None
) -> Page[ProjectSchema]:
    """The tenant's projects, newest first, through UserIdIndex (never a Scan): one Query."""
    limit = max(1, min(limit, MAX_PAGE))
    scope = ("user_projects", user_id)
    if cursor:
        decode_cursor(cursor, scope)  # a bad cursor is a 400 even for a malformed tenant id
    if not valid_user_id(user_id):
        return Page(items=[])
    kwargs: dict[str, Any] = {
        "TableName": PROJECTS.name(),
        "IndexName": USER_ID_INDEX,
        "KeyConditionExpression": "userId = :userId",
        "ExpressionAttributeValues": {":userId": to_value(user_id)},
    }
    return read_page(
        ProjectSchema, kwargs, limit=limit, scope=scope, cursor=cursor, key_of=_Keys.cursor_key
    )


def resolve_project_tenant(project_id: str) -> str:
    """CROSS-TENANT: the userId owning a project id. Only staff look-ups (audited) may call this."""
    if not isinstance(project_id, str) or not ID_PATTERN.match(project_id):
        raise _not_found(project_id)
    with aws_errors():
        item = (
            aws.dynamodb()
            .get_item(
                TableName=PROJECTS.name(),
                Key=_Keys.item(project_id),
                ProjectionExpression="userId",
            )
            .get("Item")
        )
    if not item:
        raise _not_found(project_id)
    user_id = from_item(item).get("userId")
    if not isinstance(user_id, str):
        # Stored without a tenant: staff see the item as it is, not a 500.
        raise Unreadable(
            f"the stored project {project_id} names no tenant",
            key={"PK": project_id, "SK": "METADATA"},
            attributes=from_item(item),
        )
    return user_id


# --- writes ------------------------------------------------------------------------------------


def create_project(user_id: str, data: CreateProjectSchema | dict[str, Any]) -> ProjectSchema:
    """Create a project owned by `user_id`; the write is conditional on the id being new."""
    if not valid_user_id(user_id):
        raise invalid_user(user_id)
    payload = validate(CreateProjectSchema, data)
    moment = now()
    project = ProjectSchema(
        project_id=new_project_id(),
        user_id=user_id,
        created_at=moment,
        updated_at=moment,
        version=1,
        derived_version=DERIVED_VERSION,  # no deployments yet: nothing to fill in
        **payload.model_dump(),
    )
    token = new_write_token()
    item = {"PK": project.project_id, "SK": METADATA, **project.to_stored(), "writeToken": token}
    # Conditional on the id being new: a (vanishingly unlikely) id collision raises Conflict
    # instead of overwriting another project. A retry that finds its own write (its token) stored
    # is the success whose answer was lost, not a conflict.
    with condition_check() as check:
        aws.dynamodb().put_item(
            TableName=PROJECTS.name(),
            Item=to_item(item),
            ConditionExpression="attribute_not_exists(PK)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    if check.failed and from_item(check.old).get("writeToken") != token:
        raise Conflict(f"project {project.project_id} already exists", cause=check.error)
    return project


def update_project(
    user_id: str,
    project_id: str,
    data: UpdateProjectSchema | dict[str, Any],
    *,
    write_token: str | None = None,
    receipt: str | None = None,
) -> ProjectSchema:
    """Change the tenant's project; with `expected_version` a stale edit raises Conflict.

    `write_token` is the token the write stores (a staff action passes its audit entry's); with
    `receipt` (the action's name) the update and an action receipt keyed by that token
    (infra.core.receipts) are one transaction, so the audit sweeper can tell later whether the
    edit took effect, and the project is read back (consistent) for the answer.
    """
    payload = validate(UpdateProjectSchema, data)
    if not _is_addressable(user_id, project_id):
        raise _not_found(project_id)
    changes = payload.changes()
    condition, values = _Keys.owned(user_id)
    names = {f"#{k}": k for k in changes}
    values = {**values, **{f":{k}": to_value(v) for k, v in changes.items()}}
    values[":updatedAt"] = to_value(format_timestamp(now()))
    values[":one"] = to_value(1)
    if payload.expected_version is not None:
        condition += " AND version = :expectedVersion"
        values[":expectedVersion"] = to_value(payload.expected_version)
    token = write_token or new_write_token()
    values[":token"] = to_value(token)
    sets = [f"#{k} = :{k}" for k in changes] + ["updatedAt = :updatedAt", "writeToken = :token"]
    update: dict[str, Any] = {
        "TableName": PROJECTS.name(),
        "Key": _Keys.item(project_id),
        "UpdateExpression": "SET " + ", ".join(sets) + " ADD version :one",
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if not names:
        del update["ExpressionAttributeNames"]
    if receipt is not None:
        action = receipt_put(
            project_id, token, action=receipt, record_id=project_id, user_id=user_id
        )
        cancelled = transact([{"Update": update}, action])
        if cancelled is not None:
            _refused(user_id, project_id, token, cancelled.old(0), cancelled.error)
        return get_project(user_id, project_id)
    with condition_check() as check:
        response = aws.dynamodb().update_item(**update, ReturnValues="ALL_NEW")
    if check.failed:
        old = from_item(check.old)
        _refused(user_id, project_id, token, old, check.error)
        return read_record(ProjectSchema, old)  # our own write, retried after its answer was lost
    return ProjectSchema.model_validate(from_item(response["Attributes"]))


def _refused(
    user_id: str, project_id: str, token: str, old: dict[str, Any], error: BaseException | None
) -> None:
    """Why a conditional update of the project failed: NotFound (missing or another tenant's),
    Conflict (changed since it was read); returns when the stored item is this very write
    (its token), retried after its answer was lost."""
    if old.get("userId") != user_id:
        raise _not_found(project_id) from error
    if old.get("writeToken") == token:
        return
    raise Conflict(
        f"project {project_id} was changed by someone else (now version {old.get('version')}); "
        "reload and try again",
        cause=error,
    )


def mark_derived_complete(project_id: str) -> None:
    """Maintenance (not tenant-scoped): record that the project's deployments carry every
    derived key and counter of DERIVED_VERSION (called by the recount once it has filled them)."""
    with condition_check() as check:
        aws.dynamodb().update_item(
            TableName=PROJECTS.name(),
            Key=_Keys.item(project_id),
            UpdateExpression="SET derivedVersion = :version",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":version": to_value(DERIVED_VERSION)},
        )
    if check.failed:
        raise _not_found(project_id) from check.error


def invalid_user(user_id: object) -> ValidationError:
    return ValidationError({"user_id": [f"{user_id!r} is not a valid tenant id"]})


# --- bulk import (demo data, migrations) -------------------------------------------------------
#
# Added for `manage.py seed_demo`: create_project() always makes a new id and createdAt=now, but
# imported history needs its own ids and dates, and re-running an import must change nothing.


def import_project(project: ProjectSchema) -> bool:
    """Store a project record as given (its own id, dates and version), unless the id exists.

    Tenant rule: the project carries its owner (`project.user_id`). A conditional put on the id
    being new: importing the same project again changes nothing and returns False; an id held by
    another tenant raises Conflict (never overwritten). Returns True when the project was written.
    """
    if not valid_user_id(project.user_id):
        raise invalid_user(project.user_id)
    if not ID_PATTERN.match(project.project_id):
        raise ValidationError({"project_id": [f"{project.project_id!r} is not a project id"]})
    validate(
        CreateProjectSchema,
        {"name": project.name, "repo_url": project.repo_url, "branch": project.branch},
    )
    # A new project has no deployments yet, so its derived data is complete from the start (its
    # deployments come through import_deployments / create_deployment, which keep it so).
    token = new_write_token()
    stored = {**project.to_stored(), "derivedVersion": DERIVED_VERSION, "writeToken": token}
    item = {"PK": project.project_id, "SK": METADATA, **stored}
    with condition_check() as check:
        aws.dynamodb().put_item(
            TableName=PROJECTS.name(),
            Item=to_item(item),
            ConditionExpression="attribute_not_exists(PK)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    if check.failed:
        old = from_item(check.old)
        if old.get("writeToken") == token:  # our own write, retried after its answer was lost
            return True
        owner = old.get("userId")
        if owner is not None and owner != project.user_id:
            raise Conflict(
                f"project {project.project_id} already exists for another tenant",
                cause=check.error,
            )
        return False
    return True
