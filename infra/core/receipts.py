"""Action receipts: a small item written in the same DynamoDB transaction as a staff action's
write, keyed by the action's write token, so "did this action happen?" has an exact answer.

A record's own `writeToken` is overwritten by the next write to it (a later edit, the build
system's next status), so it cannot tell, minutes later, whether a given write took effect. The
receipt can: `PK` = the project id, `SK` = `ACTION#{token}`, in the deployments table (beside the
project's deployments and its `REQUEST#` guards; the projects table is scanned by the recount,
the deployments table never). Its attributes have names of their own, so no index of the
deployments table picks it up. The staff audit trail's sweeper (staff.outbox) reads it.
"""

from __future__ import annotations

from typing import Any

from infra.core import aws
from infra.core.dynamo import format_timestamp, from_item, now, to_item
from infra.core.errors import aws_errors
from infra.core.resources import DEPLOYMENTS

RECEIPT_PREFIX = "ACTION#"


def receipt_key(project_id: str, token: str) -> dict[str, Any]:
    return to_item({"PK": project_id, "SK": f"{RECEIPT_PREFIX}{token}"})


def receipt_put(
    project_id: str, token: str, *, action: str, record_id: str, user_id: str
) -> dict[str, Any]:
    """The TransactWriteItems entry that stores the receipt (conditional on being new: a token
    names one write)."""
    item = {
        "PK": project_id,
        "SK": f"{RECEIPT_PREFIX}{token}",
        "receiptAction": action,
        "receiptRecord": record_id,
        "receiptUserId": user_id,
        "receiptAt": format_timestamp(now()),
    }
    return {
        "Put": {
            "TableName": DEPLOYMENTS.name(),
            "Item": to_item(item),
            "ConditionExpression": "attribute_not_exists(PK)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def find_receipt(project_id: str, token: str) -> dict[str, Any] | None:
    """The receipt of the write made with `token` in the project's partition (a strongly
    consistent GetItem), or None when that write never took effect. Not tenant-scoped: the
    token is a random 128-bit value only the audit entry that made it holds."""
    with aws_errors():
        item = (
            aws.dynamodb()
            .get_item(
                TableName=DEPLOYMENTS.name(),
                Key=receipt_key(project_id, token),
                ConsistentRead=True,
            )
            .get("Item")
        )
    return from_item(item) if item else None
