"""Shared pydantic building blocks: camelCase aliases, UTC timestamps, git ref and SHA rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
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


def field_errors(
    error: PydanticValidationError, labels: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """pydantic's errors as {field: [message, ...]}, keyed by the snake_case field name, in
    plain words: "Name must be at most 50 characters", not pydantic's "String should have at
    most 50 characters". `labels` names fields as the reader knows them (a form's labels);
    otherwise the field's name is spelt out ("repo_url" is "Repo URL")."""
    out: dict[str, list[str]] = {}
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"]) or "__all__"
        label = (labels or {}).get(field) or _spelt_out(field)
        out.setdefault(field, []).append(plain_message(item, label))
    return out


# pydantic's error types for the rules the schemas use, said the way a person would say them.
_PLAIN = {
    "missing": "{label} is required",
    "string_type": "{label} must be text",
    "string_too_short": "{label} must be at least {min_length} characters",
    "string_too_long": "{label} must be at most {max_length} characters",
    "too_short": "{label} must have at least {min_length} items",
    "too_long": "{label} must have at most {max_length} items",
    "url_parsing": "{label} must be a web address such as https://github.com/owner/repo",
    "url_type": "{label} must be a web address such as https://github.com/owner/repo",
    "url_syntax_violation": "{label} must be a web address such as https://github.com/owner/repo",
    "url_scheme": "{label} must start with http:// or https://",
    "url_too_long": "{label} must be at most {max_length} characters",
    "int_parsing": "{label} must be a whole number",
    "int_type": "{label} must be a whole number",
    "greater_than_equal": "{label} must be at least {ge}",
    "less_than_equal": "{label} must be at most {le}",
    "extra_forbidden": "{label} is not a field that can be set",
    "enum": "{label} must be one of {expected}",
    "literal_error": "{label} must be {expected}",
    **dict.fromkeys(
        ("datetime_type", "datetime_parsing", "datetime_from_date_parsing"),
        "{label} must be a date and time such as 2026-12-02T03:00:00.000Z",
    ),
}


def plain_message(item: Mapping[str, object], label: str) -> str:
    """One pydantic error (an item of `errors()`) as a sentence about the field `label`."""
    template = _PLAIN.get(str(item.get("type")))
    if template is None:  # our own validators' messages are already in plain words
        return str(item["msg"]).removeprefix("Value error, ")
    context = item.get("ctx") or {}
    try:
        return template.format(label=label, **context)  # type: ignore[arg-type]
    except (KeyError, IndexError):
        return str(item["msg"])


def _spelt_out(field: str) -> str:
    words = field.rpartition(".")[2].split("_")
    upper = {"url": "URL", "sha": "SHA", "id": "id"}
    text = " ".join(upper.get(w, w) for w in words)
    return text[:1].upper() + text[1:] if text and text != "__all__" else "Input"
