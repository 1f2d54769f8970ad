"""DynamoDB plumbing shared by the repositories: item conversion, timestamps, signed cursors."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from django.conf import settings
from django.core import signing
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from infra.core import aws
from infra.core.errors import InvalidCursor, Unreadable, aws_errors

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
logger = logging.getLogger("anchor.repository")

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
    """DynamoDB AttributeValues to plain Python; the one place numbers become int or float.

    Strings, numbers, booleans, nulls, maps and lists (what this table holds) are read directly,
    which is most of the cost of a page saved; other types go through boto3's TypeDeserializer.
    """
    return {k: _from_value(v) for k, v in item.items()}


def _from_value(value: dict[str, Any]) -> Any:
    if "S" in value:
        return value["S"]
    if "N" in value:
        return _number(value["N"])
    if "M" in value:
        return {k: _from_value(v) for k, v in value["M"].items()}
    if "L" in value:
        return [_from_value(v) for v in value["L"]]
    if "BOOL" in value:
        return value["BOOL"]
    if "NULL" in value:
        return None
    return _from_dynamo(_deserializer.deserialize(value))


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        number = Decimal(text)
        return int(number) if number == number.to_integral_value() else float(number)


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Binary):  # boto3's wrapper, whose str() is bytes (a TypeError to print)
        return value.value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_from_dynamo(v) for v in value]
    return value


def _key_of(row: dict[str, Any]) -> dict[str, str]:
    return {k: str(row[k]) for k in ("PK", "SK") if k in row}


def read_record(model: type[M], row: dict[str, Any]) -> M:
    """A stored item as `model`; one the schema rejects raises Unreadable with what is stored."""
    try:
        return model.model_validate(row)
    except PydanticValidationError as error:
        key = _key_of(row)
        logger.warning("stored item %s could not be read: %s", key, _problems(error))
        raise Unreadable(
            f"the stored record {key} could not be read: {_problems(error)}",
            key=key,
            attributes=row,
            cause=error,
        ) from error


@functools.cache
def _list_adapter(model: type[M]) -> TypeAdapter[list[M]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def read_rows(model: type[M], rows: list[dict[str, Any]]) -> tuple[list[M], list[dict[str, str]]]:
    """Stored items as `model`: every good one, and the keys of those the schema rejects (each
    logged), so one bad row never hides the good rows of its list."""
    try:  # one pass over the whole page in pydantic-core (the usual case: every row is good)
        return _list_adapter(model).validate_python(rows), []
    except PydanticValidationError:
        pass
    good: list[M] = []
    bad: list[dict[str, str]] = []
    for row in rows:
        try:
            good.append(read_record(model, row))
        except Unreadable as error:
            bad.append(error.key)
    return good, bad


def read_page(
    model: type[M],
    kwargs: dict[str, Any],
    *,
    limit: int,
    scope: tuple[str, ...],
    cursor: str | None,
    key_of: Any,
) -> Page[M]:
    """One page of a newest-first Query (query_page) read as `model`, rows the schema rejects
    marked as unreadable rather than failing the page."""
    with aws_errors():
        rows, next_cursor, previous_cursor = query_page(
            aws.dynamodb(), kwargs, limit=limit, scope=scope, cursor=cursor, key_of=key_of
        )
    items, unreadable = read_rows(model, rows)
    return Page(
        items=items,
        next_cursor=next_cursor,
        previous_cursor=previous_cursor,
        unreadable=unreadable,
    )


def _problems(error: PydanticValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in error.errors()
    )


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
    """One page of a list: its items and opaque signed cursors to the pages around it.

    `next_cursor` leads to the older rows after the last one shown, `previous_cursor` to the
    newer rows before the first one shown; each is None where there is nothing to show.
    """

    items: list[T]
    next_cursor: str | None = None
    previous_cursor: str | None = None
    # Keys of stored rows of this page the schema rejected (shown as "could not be read").
    unreadable: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Cursor:
    """A position in a list: the key of a row shown, and which way to read from it."""

    key: dict[str, str]
    backward: bool = False


def _salt(scope: tuple[str, ...]) -> str:
    # The list a cursor belongs to is bound by the signature, not carried in it: the cursor stays
    # the same size on every page, and one made for another list (or by an older release, which
    # signed with the bare salt) fails its signature.
    return CURSOR_SALT + ":" + "\x1f".join(scope)


@functools.lru_cache(maxsize=4096)
def _signer(salt: str, secret: str) -> signing.TimestampSigner:
    # One signer per list (its key is derived from the salt once, not on every page).
    return signing.TimestampSigner(key=secret, salt=salt)


def encode_cursor(scope: tuple[str, ...], key: dict[str, str], *, backward: bool = False) -> str:
    """Sign a row's key and a direction, bound to the list (`scope`) it belongs to."""
    payload: dict[str, Any] = {"k": key}
    if backward:
        payload["b"] = 1
    return _signer(_salt(scope), settings.SECRET_KEY).sign_object(payload)


def decode_cursor(cursor: str, scope: tuple[str, ...]) -> Cursor:
    """The position a cursor names, if made by us for exactly this list; else InvalidCursor."""
    try:
        payload = _signer(_salt(scope), settings.SECRET_KEY).unsign_object(
            cursor, max_age=CURSOR_MAX_AGE_SECONDS
        )
    except signing.SignatureExpired as error:
        raise InvalidCursor(
            "this page link has expired; start from the first page", cause=error
        ) from error
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise InvalidCursor(
            "the page cursor is not valid (or belongs to another list)", cause=error
        ) from error
    key = payload.get("k") if isinstance(payload, dict) else None
    if not isinstance(key, dict) or not key or not all(isinstance(v, str) for v in key.values()):
        raise InvalidCursor("the page cursor is not valid")
    return Cursor(key=key, backward=bool(payload.get("b")))


def query_page(
    client: Any,
    kwargs: dict[str, Any],
    *,
    limit: int,
    scope: tuple[str, ...],
    cursor: str | None,
    key_of: Any,
) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """One page of a newest-first Query, read as one call of `limit + 1` items.

    Returns (rows, next_cursor, previous_cursor). Forwards, the extra item only proves that older
    rows follow; backwards (a "previous" cursor) the Query runs oldest-first from the first row
    the later page showed, and the extra item proves that newer rows precede. Cursors are built
    from rows shown (`key_of(row)`), so neither link ever leads to an empty page. Raises the
    botocore error for the caller's aws_errors() to translate.
    """
    start = decode_cursor(cursor, scope) if cursor else None
    backward = bool(start and start.backward)
    request = {**kwargs, "Limit": limit + 1, "ScanIndexForward": backward}
    if start is not None:
        request["ExclusiveStartKey"] = to_item(start.key)
    rows = [from_item(i) for i in client.query(**request).get("Items", [])]
    if backward and not rows:
        # Nothing newer than the row we came from (it was the newest, or newer rows went away):
        # the newest page is what "previous" shows.
        return query_page(client, kwargs, limit=limit, scope=scope, cursor=None, key_of=key_of)
    more = len(rows) > limit
    rows = rows[:limit]
    if backward:
        rows.reverse()
        newer, older = more, True
    else:
        newer, older = start is not None, more
    next_cursor = encode_cursor(scope, key_of(rows[-1])) if older and rows else None
    previous_cursor = (
        encode_cursor(scope, key_of(rows[0]), backward=True) if newer and rows else None
    )
    return rows, next_cursor, previous_cursor
