"""The deployments repository: the tenant-scoped reads and writes of deployment items.

With its siblings it is the only code that reads or writes deployment items: deployments.items
(the one key builder), transitions (the status machine's writes), orchestrator (the unscoped
writes), history (exports and per-day counts) and bulk (imports). The orchestrator's calls and
the bulk import are imported here as well, where DESIGN.md names them.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from deployments import derived
from deployments.bulk import import_deployments
from deployments.items import SK_PREFIX, Keys, find_item, not_found, parse_status, read_consistent
from deployments.orchestrator import update_deployment, update_deployment_status
from deployments.schemas import CreateDeploymentSchema, DeploymentSchema, DeploymentStatus
from deployments.summary import advance_summary
from deployments.transitions import transition
from infra.core.dynamo import Page, decode_cursor, now, read_page, read_record, to_item, to_value
from infra.core.errors import Conflict, NotFound, RequestKeyReused, Unreadable, ValidationError
from infra.core.ids import MAX_PAGE, PROJECT_ID_PATTERN, new_id, new_write_token, valid_user_id
from infra.core.resources import DEPLOYMENTS, PROJECT_STATUS_INDEX, PROJECTS, USER_DEPLOYMENTS_INDEX
from infra.core.schemas import validate
from infra.core.transactions import transact
from projects import repository as projects_repository

__all__ = [
    "create_deployment",
    "get_deployment",
    "import_deployments",
    "list_project_deployments",
    "list_user_deployments",
    "request_guard",
    "resolve_deployment_tenant",
    "transition_deployment",
    "update_deployment",
    "update_deployment_status",
]

logger = logging.getLogger("anchor.repository")

REQUEST_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_deployment_id() -> str:
    return new_id("dpl_")


# --- reads -------------------------------------------------------------------------------------


def get_deployment(user_id: str, deployment_id: str) -> DeploymentSchema:
    """The tenant's deployment; another tenant's raises the same NotFound as a missing one.

    Reads DeploymentIdIndex, which is eventually consistent on AWS: a deployment created a moment
    ago may not be visible yet (callers that just wrote it already hold the returned record).
    """
    if not valid_user_id(user_id):
        raise not_found(deployment_id)
    return read_record(DeploymentSchema, find_item(deployment_id, user_id))


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
    wanted = parse_status(status) if status else None
    scope = _project_scope(user_id, project_id, wanted)
    if cursor:
        decode_cursor(cursor, scope)  # a bad cursor is a 400 whatever the ids
    if not valid_user_id(user_id) or not PROJECT_ID_PATTERN.match(str(project_id)):
        raise NotFound(f"project {project_id} not found")
    tenant, values = Keys.tenant(user_id)
    kwargs: dict[str, Any] = {"TableName": DEPLOYMENTS.name(), "FilterExpression": tenant}
    if wanted:
        kwargs["IndexName"] = PROJECT_STATUS_INDEX
        kwargs["KeyConditionExpression"] = "projectStatus = :pk AND begins_with(SK, :prefix)"
        partition = derived.project_status(project_id, wanted.value)
        prefix, key_of = SK_PREFIX, Keys.status_index_cursor
    else:
        kwargs["KeyConditionExpression"] = "PK = :pk AND begins_with(SK, :prefix)"
        partition, prefix, key_of = project_id, SK_PREFIX, Keys.table_cursor
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
    wanted = parse_status(status) if status else None
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
        key_of=Keys.user_index_cursor,
    )


def resolve_deployment_tenant(deployment_id: str) -> tuple[str, str]:
    """CROSS-TENANT: (userId, projectId) owning a deployment id. Only audited staff look-ups."""
    item = find_item(deployment_id, None)
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
    project_key, owned, owned_values = Keys.project(project_id, user_id)
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
            "SK": Keys.request(request_key),
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
        cancelled, 0, token, Keys.item(project_id, item["SK"])
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
    found = read_consistent({"PK": project_id, "SK": guard["requestSortKey"]}, "")
    return DeploymentSchema.model_validate(found)


def request_guard(project_id: str, request_key: str) -> dict[str, Any] | None:
    """The guard of a create request's key in the project's partition (consistent read), or
    None when no request with that key took effect. Staff's audit sweeper asks it whether a
    redeploy happened; the key is the form's random value, not a tenant-visible id."""
    if not PROJECT_ID_PATTERN.match(str(project_id)):
        return None
    guard = read_consistent(
        {"PK": project_id, "SK": Keys.request(request_key)}, "", missing_ok=True
    )
    return guard or None


def _own_write(cancelled: Any, position: int, token: str, item: dict[str, Any]) -> bool:
    """Whether a transaction cancelled on item `position` found that item written by this very
    call (its token), i.e. an earlier attempt took effect and only its answer was lost."""
    if not cancelled.failed(position):
        return False
    # DynamoDB returns the stored item with the reason; where it does not, read it.
    old = cancelled.old(position) or read_consistent(item, item["deploymentId"], missing_ok=True)
    return old.get("writeToken") == token


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
        raise not_found(deployment_id)
    return transition(
        user_id,
        deployment_id,
        status,
        error=error,
        started_before=started_before,
        known=known,
        write_token=write_token,
        receipt=receipt,
    )
