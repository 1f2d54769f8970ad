"""The repository's exception hierarchy; callers never see a raw botocore error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)


class RepositoryError(Exception):
    """Base of every error the repository raises; `cause` keeps the original error."""

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        if cause is not None:
            self.__cause__ = cause


class NotFound(RepositoryError):
    """The record does not exist, or belongs to another tenant (indistinguishable on purpose)."""


class Conflict(RepositoryError):
    """A conditional write lost: the record already exists, or was changed since it was read."""


class RequestKeyReused(Conflict):
    """An idempotency key presented for another request than the one it was made for (another
    action or record): refused, nothing written (Stripe's rule: a key is bound to its request)."""


class InvalidCursor(RepositoryError):
    """A pagination cursor that was tampered with, expired, or belongs to another list."""


class ValidationError(RepositoryError):
    """Input that fails the schemas; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]], *, cause: BaseException | None = None) -> None:
        self.errors = errors
        summary = "; ".join(f"{f}: {', '.join(m)}" for f, m in errors.items())
        super().__init__(f"invalid input: {summary}", cause=cause)


class Unavailable(RepositoryError):
    """DynamoDB or S3 could not be reached, or kept throttling after retries: try again."""


class Misconfigured(Unavailable):
    """The console is set up wrongly: a missing table or bucket, refused credentials or
    permissions. Retrying does not help; an operator must act. `code` is AWS's error code and
    `resource` what it was about, when known."""

    def __init__(
        self,
        message: str,
        *,
        cause: BaseException | None = None,
        code: str = "",
        resource: str = "",
    ) -> None:
        super().__init__(message, cause=cause)
        self.code = code
        self.resource = resource

    @property
    def missing(self) -> bool:
        """A table, index or bucket that does not exist (NoSuchBucket, ResourceNotFoundException),
        as opposed to one AWS refused the console (AccessDenied, bad credentials)."""
        return self.code in MISSING_RESOURCE_CODES

    def what_happened(self) -> str:
        """What went wrong, in words that match it: "the S3 bucket is missing (NoSuchBucket)",
        "AWS refused the console's GetObject (AccessDenied)", "no AWS credentials found"."""
        if self.missing:
            return f"the {MISSING_RESOURCE_CODES[self.code]} is missing ({self.code})"
        if self.code in ACCESS_DENIED_CODES:
            return f"AWS refused the console's {self.resource or 'request'} ({self.code})"
        if self.code in BAD_CREDENTIALS_CODES:
            return f"AWS did not accept the console's credentials ({self.code})"
        return str(self)


class InternalError(RepositoryError):
    """A request AWS refused as malformed (a ValidationException, a parameter botocore
    rejects, an unknown error): a bug in this code, not a state of the world."""


class Unreadable(RepositoryError):
    """A stored item the schema rejects (written by another service, or damaged). `key` names
    it and `attributes` holds what is stored, for staff to see."""

    def __init__(
        self,
        message: str,
        *,
        key: dict[str, Any],
        attributes: dict[str, Any],
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(message, cause=cause)
        self.key = key
        self.attributes = attributes


_UNAVAILABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "LimitExceededException",
    "TransactionInProgressException",
    "RequestTimeout",
    "500",
    "502",
    "503",
    "504",
}
_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
# A table, index or bucket that does not exist: an unprovisioned stage or a wrong name, never a
# refusal (the console is allowed; there is nothing there).
MISSING_RESOURCE_CODES = {
    "ResourceNotFoundException": "DynamoDB table or index",
    "NoSuchBucket": "S3 bucket",
}
# How AWS refuses a caller: no permission, or credentials it does not accept (provisioning words
# these two differently, so they are kept apart).
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "Forbidden", "403"})
BAD_CREDENTIALS_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "MissingAuthenticationToken",
    }
)
_REFUSED_CREDENTIALS = ACCESS_DENIED_CODES | BAD_CREDENTIALS_CODES


def error_code(error: BaseException) -> str:
    """The AWS error code of a ClientError ("" for anything else)."""
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code", "")
    return ""


def translate(error: BaseException) -> RepositoryError:
    """Map a botocore error to the project's own exception, keeping the original as cause.

    Unavailable: unreachable, timed out or throttling (try again). Misconfigured: a missing
    table or bucket, refused credentials or permissions (an operator must act). NotFound: a
    missing S3 object. Conflict: a failed condition. InternalError: anything else (a bug).
    """
    if isinstance(error, ClientError):
        code = error_code(error)
        message = error.response.get("Error", {}).get("Message", "") or code
        operation = getattr(error, "operation_name", "") or "a call"
        if code in _UNAVAILABLE_CODES:
            return Unavailable(f"AWS is throttling or failing ({operation}): {code}", cause=error)
        if code in MISSING_RESOURCE_CODES:
            # A missing table or bucket is an unprovisioned stage, not a missing record.
            what = MISSING_RESOURCE_CODES[code]
            return Misconfigured(
                f"{what} missing (is the stage provisioned?): {message}",
                cause=error,
                code=code,
                resource=what,
            )
        if code in _NOT_FOUND_CODES:
            return NotFound(message, cause=error)
        if code in {"ConditionalCheckFailedException", "TransactionCanceledException"}:
            return Conflict(message, cause=error)
        if code in _REFUSED_CREDENTIALS:
            return Misconfigured(
                f"AWS refused {operation}: {code} (check the role's permissions and credentials)",
                cause=error,
                code=code,
                resource=operation,
            )
        return InternalError(f"AWS rejected {operation}: {code}: {message}", cause=error)
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return Misconfigured("no AWS credentials found", cause=error, code="NoCredentials")
    if isinstance(error, NoRegionError):
        return Misconfigured("no AWS region configured", cause=error, code="NoRegion")
    if isinstance(error, (BotoConnectionError, ReadTimeoutError, ConnectTimeoutError)):
        return Unavailable(f"cannot reach AWS: {error}", cause=error)
    if isinstance(error, ParamValidationError):
        return InternalError(f"an AWS call was malformed: {error}", cause=error)
    return Unavailable(f"AWS call failed: {error}", cause=error)


@contextmanager
def aws_errors() -> Iterator[None]:
    """Re-raise any botocore error inside the block as the project's own exception."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise translate(error) from error


@dataclass
class ConditionCheck:
    """What a conditional write's `ConditionalCheckFailedException` said, if it failed.

    `old` is the stored item as DynamoDB returned it with ReturnValuesOnConditionCheckFailure
    (raw AttributeValues; empty when the item does not exist or was not asked for).
    """

    failed: bool = False
    old: dict[str, Any] = field(default_factory=dict)
    error: ClientError | None = None


@contextmanager
def condition_check() -> Iterator[ConditionCheck]:
    """Run a conditional write: a failed condition is recorded in the yielded ConditionCheck for
    the caller to explain (NotFound, Conflict, InvalidTransition…); any other botocore error is
    raised as the project's own exception."""
    check = ConditionCheck()
    try:
        yield check
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise translate(error) from error
        check.failed, check.error = True, error
        check.old = error.response.get("Item") or {}
    except BotoCoreError as error:
        raise translate(error) from error
