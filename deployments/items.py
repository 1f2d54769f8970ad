"""The deployments table's one key builder and the item reads every repository module shares.

Private to the deployments package's data modules (repository, transitions, orchestrator, history,
bulk): every key and tenant condition of the table is made here, so `userId` is written once.
"""

from __future__ import annotations

from typing import Any

from deployments import derived
from deployments.schemas import DeploymentStatus
from infra.core import aws
from infra.core.dynamo import from_item, to_item, to_value
from infra.core.errors import NotFound, ValidationError, aws_errors
from infra.core.ids import DEPLOYMENT_ID_PATTERN
from infra.core.resources import DEPLOYMENT_ID_INDEX, DEPLOYMENTS
from projects import repository as projects_repository

ID_PATTERN = DEPLOYMENT_ID_PATTERN
SK_PREFIX = derived.SK_PREFIX

# --- the one key builder: every key and tenant condition of this table is made here -----------


class Keys:
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


def not_found(deployment_id: str) -> NotFound:
    return NotFound(f"deployment {deployment_id} not found")


def parse_status(status: DeploymentStatus | str) -> DeploymentStatus:
    try:
        return DeploymentStatus(status)
    except ValueError as error:
        allowed = ", ".join(s.value for s in DeploymentStatus)
        raise ValidationError(
            {"status": [f"{status!r} is not one of {allowed}"]}, cause=error
        ) from error


def find_item(deployment_id: str, user_id: str | None) -> dict[str, Any]:
    """The stored item of a deployment id (DeploymentIdIndex), filtered on the tenant.

    `user_id=None` reads unscoped: only the orchestrator paths and the audited resolver pass it;
    every public tenant-scoped function checks its `user_id` before calling this.
    """
    if not isinstance(deployment_id, str) or not ID_PATTERN.match(deployment_id):
        raise not_found(deployment_id)
    tenant, values = Keys.tenant(user_id)
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
        raise not_found(deployment_id)
    return from_item(items[0])


def read_consistent(
    current: dict[str, Any], deployment_id: str, *, missing_ok: bool = False
) -> dict[str, Any]:
    """The deployment's stored item, read with a strongly consistent GetItem on its key."""
    with aws_errors():
        item = (
            aws.dynamodb()
            .get_item(
                TableName=DEPLOYMENTS.name(),
                Key=Keys.item(current["PK"], current["SK"]),
                ConsistentRead=True,
            )
            .get("Item")
        )
    if not item:
        if missing_ok:
            return {}
        raise not_found(deployment_id)
    return from_item(item)
