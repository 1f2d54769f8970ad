"""The build orchestrator's unscoped writes: a deployment's status and its build fields."""

from __future__ import annotations

from typing import Any

from deployments import derived
from deployments.items import Keys, find_item, not_found
from deployments.schemas import DeploymentSchema, DeploymentStatus, UpdateDeploymentSchema
from deployments.transitions import transition
from infra.core import aws
from infra.core.dynamo import format_timestamp, from_item, now, to_value
from infra.core.errors import ValidationError, condition_check
from infra.core.resources import DEPLOYMENTS
from infra.core.schemas import validate

__all__ = [
    "update_deployment",
    "update_deployment_status",
]


def update_deployment_status(
    deployment_id: str, status: DeploymentStatus | str, *, error: str | None = None
) -> DeploymentSchema:
    """Orchestrator side (not tenant-scoped): move a deployment along the status machine."""
    return transition(None, deployment_id, status, error=error)


def update_deployment(deployment_id: str, **fields: Any) -> DeploymentSchema:
    """Orchestrator side (not tenant-scoped): set buildId, error, startedAt, endedAt or message.

    Conditional on the deployment existing; status changes go through update_deployment_status.
    """
    payload = validate(UpdateDeploymentSchema, fields)
    changes = payload.to_stored()
    if not changes:
        raise ValidationError({"fields": ["nothing to change"]})
    current = find_item(deployment_id, None)
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
            Key=Keys.item(current["PK"], current["SK"]),
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    if check.failed:
        raise not_found(deployment_id) from check.error
    return DeploymentSchema.model_validate(from_item(response["Attributes"]))
