"""DynamoDB transactions and batches: cancellation reasons read one by one, retries bounded."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.core import aws
from infra.core.dynamo import from_item, to_item, to_value
from infra.core.errors import Unavailable, aws_errors, error_code, translate

ATTEMPTS = 8  # a transaction cancelled by a conflict or throttling is tried this many times
RETRYABLE_REASONS = {
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
}
BATCH_SIZE = 25  # BatchWriteItem's limit
BATCH_GET_SIZE = 100  # BatchGetItem's limit


@dataclass(frozen=True)
class Cancelled:
    """A transaction cancelled because a condition failed: the reasons, one per item."""

    reasons: list[dict[str, Any]]
    error: ClientError

    def failed(self, position: int) -> bool:
        return (
            position < len(self.reasons)
            and self.reasons[position].get("Code") == "ConditionalCheckFailed"
        )

    def old(self, position: int) -> dict[str, Any]:
        """The stored item of a failed condition, when DynamoDB returned it."""
        if position >= len(self.reasons):
            return {}
        return from_item(self.reasons[position].get("Item") or {})


def transact(items: list[dict[str, Any]]) -> Cancelled | None:
    """TransactWriteItems: None when it commits, Cancelled when a condition failed.

    Cancellation reasons are read one by one: a transaction cancelled only by conflicts with
    other transactions or by throttling is tried again with jittered backoff (then Unavailable);
    any other reason is Unavailable. Other botocore errors become the project's own.
    """
    for attempt in range(ATTEMPTS):
        try:
            aws.dynamodb().transact_write_items(TransactItems=items)
            return None
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise translate(error) from error
            reasons = error.response.get("CancellationReasons") or []
            codes = {r.get("Code") for r in reasons} - {"None", None}
            if "ConditionalCheckFailed" in codes:
                return Cancelled(reasons=reasons, error=error)
            if not codes <= RETRYABLE_REASONS:
                raise Unavailable(
                    f"DynamoDB cancelled the transaction: {', '.join(sorted(codes))}", cause=error
                ) from error
            time.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))
        except BotoCoreError as error:
            raise translate(error) from error
    raise Unavailable("DynamoDB kept cancelling the transaction (conflicts or throttling)")


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def existing_sort_keys(table: str, partition: str, sort_keys: list[str]) -> set[str]:
    """Which of these sort keys (sorted) the partition holds.

    One keys-only Query over their range, read up to a few times the chunk's size; a range that
    holds more than that (history imported out of order) is checked with BatchGetItem instead.
    """
    if not sort_keys:
        return set()
    wanted = set(sort_keys)
    found: set[str] = set()
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "PK = :pk AND SK BETWEEN :first AND :last",
        "ExpressionAttributeValues": {
            ":pk": to_value(partition),
            ":first": to_value(sort_keys[0]),
            ":last": to_value(sort_keys[-1]),
        },
        "ProjectionExpression": "SK",
        "ConsistentRead": True,
    }
    paginator = aws.dynamodb().get_paginator("query")
    read = 0
    with aws_errors():
        for response in paginator.paginate(**kwargs):
            keys = [item["SK"]["S"] for item in response.get("Items", [])]
            found.update(k for k in keys if k in wanted)
            read += len(keys)
            if read > 4 * len(sort_keys) and response.get("LastEvaluatedKey"):
                return existing_keys_by_get(table, partition, sort_keys)
    return found


def existing_keys_by_get(table: str, partition: str, sort_keys: list[str]) -> set[str]:
    """Which of these sort keys the partition holds, by BatchGetItem (100 keys a call)."""
    found: set[str] = set()
    for chunk in chunks(sort_keys, BATCH_GET_SIZE):
        pending: dict[str, Any] = {
            table: {
                "Keys": [to_item({"PK": partition, "SK": sk}) for sk in chunk],
                "ProjectionExpression": "SK",
                "ConsistentRead": True,
            }
        }
        with aws_errors():
            for _attempt in range(8):
                response = aws.dynamodb().batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(table, []):
                    found.add(item["SK"]["S"])
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
            else:
                raise Unavailable("DynamoDB kept leaving batch reads unprocessed (throttled)")
    return found


def batch_write(table: str, requests: list[dict[str, Any]]) -> None:
    """BatchWriteItem of at most 25 requests, unprocessed items retried (then Unavailable)."""
    pending = {table: requests}
    with aws_errors():
        for _attempt in range(8):
            pending = (
                aws.dynamodb().batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            )
            if not pending:
                return
    raise Unavailable("DynamoDB kept leaving batch writes unprocessed (throttled)")
