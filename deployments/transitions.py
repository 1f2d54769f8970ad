"""The status machine's writes: one conditional transaction per move, with its counter and keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from deployments import derived
from deployments.errors import InvalidTransition
from deployments.items import Keys, find_item, not_found, parse_status, read_consistent
from deployments.schemas import DeploymentSchema, DeploymentStatus
from deployments.summary import advance_summary
from infra.core.dynamo import format_timestamp, now, read_record, to_value
from infra.core.errors import Unavailable, ValidationError
from infra.core.ids import new_write_token
from infra.core.receipts import receipt_put
from infra.core.resources import DEPLOYMENTS
from infra.core.transactions import ATTEMPTS, transact


def transition(
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
    target = parse_status(status)
    if error is not None and len(error) > 4000:
        raise ValidationError({"error": ["at most 4000 characters"]})
    sources = {s.value for s in target.allowed_sources()}
    if not sources:
        raise InvalidTransition(f"no deployment can move to {target.value}")
    if known is not None and known.deployment_id == deployment_id:
        current = derived.with_derived_keys(known.to_stored())
    else:
        current = find_item(deployment_id, user_id)
    fresh = False  # True once `current` comes from a strongly consistent read
    for _attempt in range(ATTEMPTS):
        if user_id is not None and current.get("userId") != user_id:
            raise not_found(deployment_id)
        if current.get("status") not in sources:
            if not fresh:  # an index read may lag: make sure before refusing
                current, fresh = read_consistent(current, deployment_id), True
                continue
            raise InvalidTransition(
                f"deployment {deployment_id} is {current.get('status')}; it cannot move to "
                f"{target.value}",
                current_status=current.get("status"),
                current_started_at=_moment(current.get("startedAt")),
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
        old = cancelled.old(0) or read_consistent(current, deployment_id, missing_ok=True)
        if old and old.get("writeToken") == changes["writeToken"]:
            # Our own transition, retried after its answer was lost: it happened.
            deployment = read_record(DeploymentSchema, old)
            advance_summary(deployment)
            return deployment
        if not old or (user_id is not None and old.get("userId") != user_id):
            raise not_found(deployment_id) from cancelled.error
        if old.get("status") == current["status"] and started_before is not None:
            raise InvalidTransition(
                f"deployment {deployment_id} started at {old.get('startedAt', 'an unknown time')}"
                f", not long enough ago; it cannot move to {target.value}",
                cause=cancelled.error,
                current_status=old.get("status"),
                current_started_at=_moment(old.get("startedAt")),
            )
        current, fresh = {**current, **old}, True
    raise Unavailable(f"deployment {deployment_id} kept changing while it was being moved")


def _moment(stored: str | None) -> datetime | None:
    return datetime.fromisoformat(stored) if stored else None


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
    tenant, tenant_values = Keys.tenant(user_id)
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
        "Key": Keys.item(current["PK"], current["SK"]),
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
