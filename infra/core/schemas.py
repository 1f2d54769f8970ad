"""Shared pydantic building blocks: camelCase aliases, UTC timestamps, git ref and SHA rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    PlainSerializer,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic.alias_generators import to_camel

from infra.core.dynamo import format_timestamp
from infra.core.errors import ValidationError


class StoredModel(BaseModel):
    """Snake_case in Python, camelCase in DynamoDB; validates from either spelling."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        str_strip_whitespace=True,
        extra="ignore",
        loc_by_alias=False,
    )

    def to_stored(self) -> dict:
        """The attributes as stored in DynamoDB (camelCase, timestamps as text, no Nones)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class InputModel(StoredModel):
    """A schema for input: unknown fields are refused rather than silently dropped."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone")
    return value.astimezone(UTC)


# pydantic parses ISO-8601 with `Z` itself; the zone is required and normalised to UTC.
Timestamp = Annotated[
    datetime,
    AfterValidator(_require_utc),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
]

# Characters that make stored text lie about itself: C0/C1 controls, bidirectional overrides and
# isolates (U+202A-U+202E, U+2066-U+2069, marks U+200E/U+200F, U+061C) and zero-width characters
# (U+200B-U+200D, U+2060, U+FEFF). A project name with U+202E garbled the audit trail.
_DECEPTIVE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)


def refuse_deceptive(value: str, what: str) -> str:
    """`value` unless it holds a control, bidirectional-override or zero-width character."""
    found = _DECEPTIVE.search(value)
    if found:
        raise ValueError(
            f"{what} must not contain control, bidirectional or invisible characters "
            f"(found U+{ord(found.group()):04X})"
        )
    return value


# git check-ref-format rules for a branch name.
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def _check_ref(value: str) -> str:
    if not value or len(value) > 255:
        raise ValueError("branch must be 1-255 characters")
    refuse_deceptive(value, "branch")
    if (
        _REF_FORBIDDEN.search(value)
        or value == "@"
        or value.startswith(("/", "-"))
        or value.endswith(("/", ".", ".lock"))
        or any(part.startswith(".") or part.endswith(".lock") for part in value.split("/"))
    ):
        raise ValueError(f"{value!r} is not a valid git branch name")
    return value


GitRef = Annotated[str, AfterValidator(_check_ref)]

_SHA = re.compile(r"^[0-9a-f]{7,40}$")


def _check_sha(value: str) -> str:
    value = value.lower()
    if not _SHA.match(value):
        raise ValueError("commit SHA must be 7-40 hexadecimal characters")
    return value


CommitSha = Annotated[str, AfterValidator(_check_sha)]


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: object) -> M:
    """Validate input into `model`; failures raise ValidationError with per-field messages."""
    if isinstance(data, model):
        return data
    if isinstance(data, BaseModel):
        data = data.model_dump(by_alias=True, exclude_unset=True)
    try:
        return model.model_validate(data)
    except PydanticValidationError as error:
        raise ValidationError(field_errors(error), cause=error) from error


def field_errors(error: PydanticValidationError) -> dict[str, list[str]]:
    """pydantic's errors as {field: [message, ...]}, keyed by the snake_case field name."""
    out: dict[str, list[str]] = {}
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "__all__"
        message = item["msg"].removeprefix("Value error, ")
        out.setdefault(field, []).append(message)
    return out
