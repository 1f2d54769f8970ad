"""DynamoDB plumbing shared by the repositories: item conversion, timestamps, signed cursors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from django.core import signing

from infra.core.errors import InvalidCursor

T = TypeVar("T")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

CURSOR_SALT = "anchor.cursor"
CURSOR_MAX_AGE_SECONDS = 24 * 3600


def to_item(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Python values to DynamoDB AttributeValues; None values are left out."""
    return {k: _serializer.serialize(_to_dynamo(v)) for k, v in data.items() if v is not None}


def to_value(value: Any) -> dict[str, Any]:
    """One Python value to an AttributeValue (for expression values)."""
    return _serializer.serialize(_to_dynamo(value))


def from_item(item: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """DynamoDB AttributeValues to plain Python; the one place Decimals become int or float."""
    return {k: _from_dynamo(_deserializer.deserialize(v)) for k, v in item.items()}


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_from_dynamo(v) for v in value]
    return value


def now() -> datetime:
    """The current time in UTC, truncated to milliseconds (what is stored)."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and `Z`: sorts correctly as text."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items and an opaque signed cursor to the next page (or None)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(scope: tuple[str, ...], key: dict[str, str]) -> str:
    """Sign the key of the last item shown, bound to the list (`scope`) it belongs to."""
    return signing.dumps({"s": list(scope), "k": key}, salt=CURSOR_SALT, compress=True)


def decode_cursor(cursor: str, scope: tuple[str, ...]) -> dict[str, str]:
    """The key a cursor carries, if it was made by us for exactly this list; else InvalidCursor."""
    try:
        payload = signing.loads(cursor, salt=CURSOR_SALT, max_age=CURSOR_MAX_AGE_SECONDS)
    except signing.SignatureExpired as error:
        raise InvalidCursor(
            "this page link has expired; start from the first page", cause=error
        ) from error
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise InvalidCursor("the page cursor is not valid", cause=error) from error
    if not isinstance(payload, dict) or payload.get("s") != list(scope):
        raise InvalidCursor("the page cursor belongs to another list")
    key = payload.get("k")
    if not isinstance(key, dict) or not all(isinstance(v, str) for v in key.values()):
        raise InvalidCursor("the page cursor is not valid")
    return key
