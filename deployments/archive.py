"""Build logs in Glacier and the buckets' retention: restore requests, restore state, and the
dates the lifecycle rules of infra.core.resources move or delete an object.

Beside deployments.logstore and deployments.artifactstore, which read logs and artifacts, this
module asks S3 about archived logs: HEAD's storage class and `Restore` header, and RestoreObject.
The dates come from the one declaration of the lifecycle rules (resources.LOGS /
resources.ARTIFACTS), never from a second constant, and from each object's own LastModified: no
DynamoDB call is made. Tenancy: every function taking `user_id` and a DeploymentSchema (as
get_deployment(user_id, ...) returned it) refuses a record of another tenant with NotFound, like
the log and artifact readers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email.utils import parsedate_to_datetime

from botocore.exceptions import ClientError

from deployments.schemas import DeploymentSchema
from infra.core import aws
from infra.core.errors import Conflict, NotFound, ValidationError, aws_errors, error_code
from infra.core.ids import valid_user_id
from infra.core.resources import (
    ARTIFACTS,
    LOGS,
    STORAGE_CLASS_ORDER,
    Bucket,
    LifecycleRule,
    log_key,
)

__all__ = [
    "ARCHIVED_STORAGE_CLASSES",
    "LogRetention",
    "NotArchived",
    "RestoreAlreadyInProgress",
    "RestoreRequest",
    "RestoreState",
    "artifact_expires_at",
    "deployment_artifacts_expire_at",
    "lifecycle_due",
    "log_retention",
    "logs_lifecycle_text",
    "parse_restore",
    "request_log_restore",
    "restore_tier",
]

ARCHIVED_STORAGE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})
TIERS = ("Expedited", "Standard", "Bulk")
# S3 Glacier Deep Archive retrieves with Standard (within 12 h) or Bulk (within 48 h) only.
TIERS_BY_CLASS = {"GLACIER": TIERS, "DEEP_ARCHIVE": ("Standard", "Bulk")}
# How long S3 takes to restore (User Guide, "Understanding archive retrieval options").
RETRIEVAL_TIMES = {
    ("GLACIER", "Expedited"): "1-5 minutes",
    ("GLACIER", "Standard"): "3-5 hours",
    ("GLACIER", "Bulk"): "5-12 hours",
    ("DEEP_ARCHIVE", "Standard"): "within 12 hours",
    ("DEEP_ARCHIVE", "Bulk"): "within 48 hours",
}
_RESTORE_PART = re.compile(r'([a-z-]+)="([^"]*)"')


class RestoreAlreadyInProgress(Conflict):
    """S3 is already restoring this object (RestoreAlreadyInProgress): nothing more to ask."""


class NotArchived(Conflict):
    """The log is in a storage class that needs no restore (it can be read as it is)."""


@dataclass(frozen=True)
class RestoreState:
    """What HEAD's `Restore` header says: a restore under way, or a copy readable until when."""

    ongoing: bool
    expires_at: datetime | None = None

    @property
    def restored(self) -> bool:
        return not self.ongoing and self.expires_at is not None


def parse_restore(header: str | None) -> RestoreState | None:
    """The `Restore` header (`ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00
    GMT"`) as a RestoreState; None when no restore was ever asked for (or the header is junk)."""
    if not header:
        return None
    parts = dict(_RESTORE_PART.findall(header))
    ongoing = parts.get("ongoing-request")
    if ongoing not in {"true", "false"}:
        return None
    expires_at = None
    if parts.get("expiry-date"):
        try:
            expires_at = parsedate_to_datetime(parts["expiry-date"]).astimezone(UTC)
        except (TypeError, ValueError):
            expires_at = None
    return RestoreState(ongoing=ongoing == "true", expires_at=expires_at)


def lifecycle_due(last_modified: datetime, days: int) -> datetime:
    """When a lifecycle action `days` after an object's creation is due: S3 adds the days to the
    object's creation time and rounds up to the next midnight UTC (User Guide, "Lifecycle
    configuration elements")."""
    moment = last_modified.astimezone(UTC) + timedelta(days=days)
    midnight = datetime.combine(moment.date(), time(0), tzinfo=UTC)
    return midnight if moment == midnight else midnight + timedelta(days=1)


def _rule(bucket: Bucket) -> LifecycleRule:
    """The bucket's rule for its own prefix (each declared bucket has exactly one)."""
    return next(rule for rule in bucket.rules if rule.prefix == bucket.prefix)


@dataclass(frozen=True)
class LogRetention:
    """Where a log stands in the logs bucket's lifecycle: its class now, the next one and when.

    `below_minimum` is set (to the bucket's minimum object size, in bytes) when the log is too
    small for S3 to move it to `next_class` at all: then `moves_at` is None, and the page says
    the log stays where it is, and why.
    """

    storage_class: str
    next_class: str | None
    moves_at: datetime | None
    restore: RestoreState | None = None
    below_minimum: int | None = None

    @property
    def minimum_text(self) -> str:
        """The minimum object size as S3's documentation writes it ("128 KB")."""
        return _size_text(self.below_minimum or 0)

    @property
    def archived(self) -> bool:
        return self.storage_class in ARCHIVED_STORAGE_CLASSES

    @property
    def restoring(self) -> bool:
        return self.archived and self.restore is not None and self.restore.ongoing

    @property
    def restored(self) -> bool:
        return self.archived and self.restore is not None and self.restore.restored


def _rank(storage_class: str) -> int:
    """Position of a class in the order objects move through (STANDARD before them all)."""
    if storage_class in STORAGE_CLASS_ORDER:
        return STORAGE_CLASS_ORDER.index(storage_class)
    return -1


def log_retention(
    storage_class: str | None,
    last_modified: datetime | None,
    restore: RestoreState | None = None,
    size: int | None = None,
) -> LogRetention:
    """The log's lifecycle position from its HEAD (storage class, LastModified, Restore, size),
    under the logs bucket's declared transitions (GLACIER at 30 days, DEEP_ARCHIVE at 365) and
    minimum object size: S3 moves no object smaller than that (with all_storage_classes_128K,
    nothing under 128 KB), so a log that small gets no date, only the reason it stays."""
    current = storage_class or "STANDARD"
    for days, next_class in _rule(LOGS).transitions:
        if _rank(next_class) > _rank(current):
            minimum = LOGS.transition_minimum_bytes(next_class)
            if size is not None and size < minimum:
                return LogRetention(current, next_class, None, restore, below_minimum=minimum)
            moves_at = lifecycle_due(last_modified, days) if last_modified else None
            return LogRetention(current, next_class, moves_at, restore)
    return LogRetention(current, None, None, restore)


def _size_text(size: int) -> str:
    return f"{size // 1024} KB" if size % 1024 == 0 else f"{size:,} bytes"


def logs_lifecycle_text() -> str:
    """The logs bucket's lifecycle in one sentence, from the declaration ("The logs bucket
    moves logs of 128 KB or more to GLACIER after 30 days and to DEEP_ARCHIVE after 365 days")."""
    moves = [
        (f"to {storage_class} after {days} days", LOGS.transition_minimum_bytes(storage_class))
        for days, storage_class in _rule(LOGS).transitions
    ]
    minimums = {minimum for _, minimum in moves}
    if len(minimums) == 1:  # one minimum for every move: say it once
        minimum = minimums.pop()
        which = f"logs of {_size_text(minimum)} or more" if minimum else "logs"
        return f"The logs bucket moves {which} " + " and ".join(move for move, _ in moves)
    return "The logs bucket moves logs " + " and ".join(
        move + (f" (those of {_size_text(minimum)} or more)" if minimum else "")
        for move, minimum in moves
    )


def artifact_expires_at(last_modified: datetime | None) -> datetime | None:
    """When the artifacts bucket's expiration rule deletes an object stored at `last_modified`."""
    days = _rule(ARTIFACTS).expiration_days
    if last_modified is None or days is None:
        return None
    return lifecycle_due(last_modified, days)


def deployment_artifacts_expire_at(created_at: datetime) -> datetime | None:
    """The earliest moment a deployment's artifacts may all be gone (uploaded no earlier than the
    deployment was created): after it, an empty prefix means they expired."""
    return artifact_expires_at(created_at)


def retention_days() -> int | None:
    """The artifacts bucket's declared expiration, in days."""
    return _rule(ARTIFACTS).expiration_days


def restore_tier(storage_class: str, wanted: str) -> str:
    """The tier to ask for: `wanted` when the class allows it, else the fastest one it allows
    (Expedited on DEEP_ARCHIVE becomes Standard)."""
    if wanted not in TIERS:
        raise ValidationError({"tier": [f"{wanted!r} is not one of {', '.join(TIERS)}"]})
    allowed = TIERS_BY_CLASS.get(storage_class, TIERS)
    return wanted if wanted in allowed else allowed[0]


@dataclass(frozen=True)
class RestoreRequest:
    """A restore asked of S3: of which log, from which class, with which tier, for how long."""

    key: str
    storage_class: str
    tier: str
    days: int
    requested_tier: str
    extended: bool  # the log was already restored: S3 only moved its expiry

    @property
    def tier_changed(self) -> bool:
        return self.tier != self.requested_tier

    @property
    def takes(self) -> str:
        return RETRIEVAL_TIMES.get((self.storage_class, self.tier), "some hours")


def _check_owner(user_id: str, deployment: DeploymentSchema) -> None:
    if not valid_user_id(user_id) or deployment.user_id != user_id:
        raise NotFound(f"deployment {deployment.deployment_id} not found")


def request_log_restore(
    user_id: str, deployment: DeploymentSchema, *, tier: str, days: int
) -> RestoreRequest:
    """Ask S3 to restore the tenant's deployment's archived build log for `days` days.

    A HEAD first: a missing log raises NotFound, one in a class that needs no restore raises
    NotArchived, and one S3 is already restoring raises RestoreAlreadyInProgress (as does S3's
    own RestoreAlreadyInProgress, when two requests race). A log already restored has its
    expiry moved (S3's answer to a second RestoreObject on a restored copy). Expedited on
    DEEP_ARCHIVE is asked as Standard (see `restore_tier`).
    """
    _check_owner(user_id, deployment)
    if days < 1:
        raise ValidationError({"days": [f"must be at least 1, not {days}"]})
    key = log_key(deployment.project_id, deployment.deployment_id)
    bucket = LOGS.name()
    with aws_errors():
        head = aws.s3().head_object(Bucket=bucket, Key=key)
    storage_class = head.get("StorageClass") or "STANDARD"
    if storage_class not in ARCHIVED_STORAGE_CLASSES:
        raise NotArchived(f"the build log {key} is in {storage_class}: it needs no restore")
    state = parse_restore(head.get("Restore"))
    if state is not None and state.ongoing:
        raise RestoreAlreadyInProgress(f"S3 is already restoring the build log {key}")
    used = restore_tier(storage_class, tier)
    try:
        with aws_errors():
            try:
                aws.s3().restore_object(
                    Bucket=bucket,
                    Key=key,
                    RestoreRequest={"Days": days, "GlacierJobParameters": {"Tier": used}},
                )
            except ClientError as error:
                if error_code(error) == "RestoreAlreadyInProgress":
                    raise RestoreAlreadyInProgress(
                        f"S3 is already restoring the build log {key}", cause=error
                    ) from error
                raise
    except NotFound as error:
        raise NotFound(f"deployment {deployment.deployment_id} has no build log") from error
    return RestoreRequest(
        key=key,
        storage_class=storage_class,
        tier=used,
        days=days,
        requested_tier=tier,
        extended=state is not None and state.restored,
    )
