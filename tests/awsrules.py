"""DynamoDB's own refusal of an index key of the wrong type, played in front of moto, which stores
such an item and then fails inside its own index sort (a TypeError no AWS client ever sees).

AWS: every key attribute of a global secondary index must have the type the index declares;
a PutItem, BatchWriteItem or TransactWriteItems whose item carries one of another type (or an
empty string) is refused with `ValidationException: One or more parameter values were invalid:
Type mismatch for Index Key …` (DynamoDB Developer Guide, "Using Global Secondary Indexes",
and "Detecting and correcting index key violations": items written before an index existed stay
in the table but never enter the index). DynamoDB Local refuses these writes the same way.

Installed for the whole test session by tests/conftest.py as a built-in `before-call` handler,
on every client: `before-call` is answered by the first handler with an answer and no request is
sent, where every `before-send` handler runs whatever an earlier one answered (botocore's
endpoint emits to all of them), so moto's stubber would store the item it was told to refuse.
It answers only requests bound for AWS's own endpoint (moto in-process) and lets DynamoDB Local
judge its own.
"""

from __future__ import annotations

import json
from typing import Any

from botocore import handlers
from botocore.awsrequest import AWSResponse

from infra.core.resources import TABLES

_INSTALLED = {"done": False}


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _index_keys(table_name: str) -> dict[str, str]:
    """{attribute: index name} for every index key attribute of the declared table."""
    for table in TABLES:
        if table.name() == table_name:
            keys: dict[str, str] = {}
            for index in table.indexes:
                for name in (index.hash_key, index.range_key):
                    if name and name not in (table.hash_key, table.range_key):
                        keys.setdefault(name, index.name)
            return keys
    return {}


def _puts(operation: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table name, item) of every item the request would put."""
    if operation == "PutItem":
        return [(body.get("TableName", ""), body.get("Item", {}))]
    if operation == "BatchWriteItem":
        return [
            (table, request["PutRequest"]["Item"])
            for table, requests in body.get("RequestItems", {}).items()
            for request in requests
            if "PutRequest" in request
        ]
    if operation == "TransactWriteItems":
        return [
            (entry["Put"].get("TableName", ""), entry["Put"].get("Item", {}))
            for entry in body.get("TransactItems", [])
            if "Put" in entry
        ]
    return []


def index_key_violation(operation: str, body: dict[str, Any]) -> str | None:
    """DynamoDB's message for the first index key of the wrong type or empty, else None."""
    for table, item in _puts(operation, body):
        for name, index in _index_keys(table).items():
            value = item.get(name)
            if value is None:
                continue
            actual = next(iter(value), "")
            if actual != "S":
                return (
                    "One or more parameter values were invalid: Type mismatch for Index Key "
                    f"{name} Expected: S Actual: {actual} IndexName: {index}"
                )
            if value["S"] == "":
                return (
                    "One or more parameter values are not valid. A value specified for a "
                    "secondary index key is not supported. The AttributeValue for a key "
                    f"attribute cannot contain an empty string value. IndexName: {index}, "
                    f"IndexKey: {name}"
                )
    return None


def _refuse_like_dynamodb(
    model: Any, params: dict[str, Any], **_: Any
) -> tuple[AWSResponse, dict[str, Any]] | None:
    url = str(params.get("url", ""))
    if "amazonaws.com" not in url:
        return None  # DynamoDB Local (or any real endpoint) judges for itself
    if model.name not in ("PutItem", "BatchWriteItem", "TransactWriteItems"):
        return None
    problem = index_key_violation(model.name, json.loads(params.get("body") or b"{}"))
    if problem is None:
        return None
    http = AWSResponse(url, 400, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(b"{}"))
    parsed = {
        "Error": {"Code": "ValidationException", "Message": problem},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return http, parsed


def install() -> None:
    """Add the rule to botocore's built-in handlers (every client made from now on has it)."""
    if not _INSTALLED["done"]:
        handlers.BUILTIN_HANDLERS.append(
            ("before-call.dynamodb", _refuse_like_dynamodb, handlers.REGISTER_FIRST)
        )
        _INSTALLED["done"] = True
