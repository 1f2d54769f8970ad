"""What provisioning reports: differences, per-resource and per-stage reports, removals;
its one-line errors and how AWS errors become them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import boto3.session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
    WaiterError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from django.conf import settings

from infra.core.errors import ACCESS_DENIED_CODES, BAD_CREDENTIALS_CODES

# S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a
# letter or digit. The stage rule keeps ours short, but ANCHOR_BUCKET_SUFFIX can break it.
BUCKET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

# How an endpoint says it lacks an API altogether (DynamoDB Local: tagging, continuous backups).
_UNSUPPORTED_CODES = {"UnknownOperationException"}
_INDEX_BUSY = {"CREATING", "UPDATING", "DELETING"}
# A resource that differs in these is not the declared one (perhaps not even ours): leave it be.
_IDENTITY = {"key schema", "region"}

FEATURE_TAGGING = "tagging"
FEATURE_PITR = "point-in-time recovery"

# A UpdateTable/CreateTable is followed by waiting for ACTIVE: tables within minutes, a new index
# on a large table can take much longer (DynamoDB backfills it).
TABLE_WAITER = {"Delay": 2, "MaxAttempts": 300}
BUCKET_WAITER = {"Delay": 1, "MaxAttempts": 60}
INDEX_WAIT_SECONDS = 3600


class ProvisioningError(Exception):
    """A mistake or refusal the user can act on; the message is one line."""


@dataclass(frozen=True)
class Difference:
    """How a live resource differs from the declaration; `repair` names the fix, if there is one."""

    property: str
    live: str
    declared: str
    repair: str | None = None

    @property
    def repairable(self) -> bool:
        return self.repair is not None

    def describe(self) -> str:
        text = f"{self.property}: {self.live} (declared: {self.declared})"
        return text if self.repairable else f"{text}; cannot be repaired in place"

    def as_dict(self) -> dict[str, Any]:
        return {
            "property": self.property,
            "expected": self.declared,
            "actual": self.live,
            "live": self.live,
            "declared": self.declared,
            "repairable": self.repairable,
        }


@dataclass
class ResourceReport:
    """A table or bucket: what the plan says about it, or what a run did to it."""

    kind: str  # "table" | "bucket"
    role: str
    name: str
    exists: bool
    differences: list[Difference] = field(default_factory=list)
    arn: str | None = None
    outcome: str | None = None  # after apply: created | updated | unchanged | drift
    planned: list[Difference] = field(default_factory=list)  # what a create would set
    kept: list[Difference] = field(default_factory=list)  # not declared, kept (no --prune)

    @property
    def action(self) -> str:
        """The plan: create, update, unchanged, or drift (something that cannot be repaired)."""
        if not self.exists:
            return "create"
        if any(not d.repairable for d in self.differences):
            return "drift"
        return "update" if self.differences else "unchanged"

    @property
    def status(self) -> str:
        """As CloudFormation's drift report puts it: in sync, modified or missing."""
        if not self.exists:
            return "missing"
        return "modified" if self.differences else "in sync"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "role": self.role,
            "name": self.name,
            "arn": self.arn,
            "action": self.outcome or self.action,
            "status": self.status,
            "differences": [d.as_dict() for d in self.differences],
            "properties": [d.as_dict() for d in (self.planned or self.differences)],
            "kept": [d.as_dict() for d in self.kept],
        }


@dataclass
class StageReport:
    """Every resource of a stage, with the region and the warnings about skipped features."""

    stage: str
    region: str
    mode: str  # "plan" | "check" | "apply"
    resources: list[ResourceReport]
    warnings: list[str] = field(default_factory=list)

    @property
    def differences(self) -> list[tuple[ResourceReport, Difference]]:
        return [(r, d) for r in self.resources for d in r.differences]

    @property
    def drift(self) -> list[tuple[ResourceReport, Difference]]:
        return [(r, d) for r, d in self.differences if not d.repairable]

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "region": self.region,
            "mode": self.mode,
            "ok": not (self.differences if self.mode != "apply" else self.drift),
            "inSync": not self.differences,
            "resources": [r.as_dict() for r in self.resources],
            "warnings": self.warnings,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)


@dataclass
class Removal:
    """One existing resource that teardown would remove, or refuses to (`refused` says why)."""

    kind: str
    name: str
    protected: bool = False
    refused: str | None = None
    basis: str = ""  # what showed it belongs to the stage (its tags)


# What a Difference declares for a setting the live resource has and the declaration does not
# (a lifecycle rule, an index): kept unless provision runs with --prune.
NOT_DECLARED = "not declared"


def split_undeclared(
    differences: list[Difference], *, prune: bool
) -> tuple[list[Difference], list[Difference]]:
    """(differences, kept): without --prune, what is only not declared is kept, not a difference."""
    if prune:
        return differences, []
    kept = [d for d in differences if d.declared == NOT_DECLARED]
    return [d for d in differences if d.declared != NOT_DECLARED], kept


def validate_stage(stage: str) -> str:
    """The stage name if it follows DESIGN.md's rule, else ProvisioningError."""
    if not settings.STAGE_PATTERN.match(stage or ""):
        raise ProvisioningError(
            f"invalid stage {stage!r}: use lower-case letters, digits and '-', starting with a "
            "letter, at most 20 characters"
        )
    return stage


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", "")) or _code(error)


def _unsupported(error: ClientError) -> bool:
    return _code(error) in _UNSUPPORTED_CODES


@contextmanager
def aws_errors() -> Iterator[None]:
    """Turn any botocore error inside the block into a one-line ProvisioningError."""
    try:
        yield
    except ClientError as error:
        code, message = _code(error), " ".join(_message(error).split())
        operation = getattr(error, "operation_name", "the call")
        if code in ACCESS_DENIED_CODES:
            raise ProvisioningError(
                f"access denied: AWS refused {operation} ({code}): {message}"
            ) from error
        if code in BAD_CREDENTIALS_CODES:
            raise ProvisioningError(
                f"AWS rejected the credentials on {operation} ({code}): {message}"
            ) from error
        raise ProvisioningError(f"{operation} failed ({code}): {message}") from error
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise ProvisioningError(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or AWS_PROFILE"
        ) from error
    except BotoConnectionError as error:
        endpoint = getattr(error, "kwargs", {}).get("endpoint_url", "the AWS endpoint")
        raise ProvisioningError(
            f"cannot reach {endpoint}: check the network, or that the local service is running "
            "and AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3 point at it"
        ) from error
    except WaiterError as error:
        raise ProvisioningError(f"gave up waiting: {error}") from error
    except BotoCoreError as error:
        raise ProvisioningError(f"AWS call failed: {error}") from error


def _quiet(message: str) -> None:
    """The default reporter: say nothing."""


def aws_target(endpoints: dict[str, str]) -> str | None:
    """Who the calls would act as when an endpoint is AWS's own (None for local endpoints).

    Only DynamoDB and S3 may be called (no STS), so this names the credentials, not the account:
    the profile (or where the keys came from) and the last characters of the access key.
    """
    hosts = [urlsplit(url).hostname or "" for url in endpoints.values()]
    if not any(host.endswith((".amazonaws.com", ".amazonaws.com.cn")) for host in hosts):
        return None
    session = boto3.session.Session()
    credentials = session.get_credentials()
    if credentials is None:
        return "none found"
    key = credentials.access_key or ""
    source = f"profile {session.profile_name}" if session.profile_name != "default" else ""
    source = source or getattr(credentials, "method", "") or "default chain"
    return f"{source}, access key …{key[-4:]}"
