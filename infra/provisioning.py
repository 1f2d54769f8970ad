"""Plan, apply, check and remove a stage's tables and buckets, as declared in infra.resources."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
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

from infra import aws
from infra.resources import (
    BUCKET_ENCRYPTION,
    BUCKETS,
    PRODUCTION_STAGE,
    PUBLIC_ACCESS_BLOCK,
    TABLES,
    Bucket,
    Index,
    Table,
    resource_tags,
)

# S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens, starting and ending with a
# letter or digit. The stage rule keeps ours short, but ANCHOR_BUCKET_SUFFIX can break it.
BUCKET_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

# How an endpoint says it lacks an API altogether (DynamoDB Local: tagging, continuous backups).
_UNSUPPORTED_CODES = {"UnknownOperationException"}
_ACCESS_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "Forbidden", "403"}
_BAD_CREDENTIALS_CODES = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
}
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

    @property
    def action(self) -> str:
        """The plan: create, update, unchanged, or drift (something that cannot be repaired)."""
        if not self.exists:
            return "create"
        if any(not d.repairable for d in self.differences):
            return "drift"
        return "update" if self.differences else "unchanged"

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
            "differences": [d.as_dict() for d in self.differences],
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
            "resources": [r.as_dict() for r in self.resources],
            "warnings": self.warnings,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)


@dataclass
class Removal:
    """One existing resource that teardown would remove."""

    kind: str
    name: str
    protected: bool = False


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
        if code in _ACCESS_DENIED_CODES:
            raise ProvisioningError(
                f"access denied: AWS refused {operation} ({code}): {message}"
            ) from error
        if code in _BAD_CREDENTIALS_CODES:
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


class Provisioner:
    """Reads, repairs and removes one stage's resources; every AWS call goes through infra.aws."""

    def __init__(
        self,
        stage: str,
        *,
        progress: Callable[[str], None] = _quiet,
        warn: Callable[[str], None] = _quiet,
    ) -> None:
        self.stage = validate_stage(stage)
        self.region: str = settings.AWS_REGION
        self.progress = progress
        self._warn = warn
        self.warnings: list[str] = []
        self._skipped: set[str] = set()
        for bucket in BUCKETS:
            name = bucket.name(self.stage)
            if not BUCKET_NAME_PATTERN.match(name) or ".." in name:
                raise ProvisioningError(
                    f"bucket name {name!r} is not a valid S3 name (check ANCHOR_BUCKET_SUFFIX)"
                )

    @property
    def dynamodb(self) -> BaseClient:
        return aws.dynamodb()

    @property
    def s3(self) -> BaseClient:
        return aws.s3()

    def endpoints(self) -> dict[str, str]:
        """Where the calls go: AWS's regional endpoints, or the local ones from the environment."""
        with aws_errors():
            return {"dynamodb": self.dynamodb.meta.endpoint_url, "s3": self.s3.meta.endpoint_url}

    # --- reading ---------------------------------------------------------------------------

    def plan(self, *, mode: str = "plan") -> StageReport:
        """Compare every declared resource with what exists; makes no mutating call."""
        with aws_errors():
            resources = [self._table_report(t) for t in TABLES]
            resources += [self._bucket_report(b) for b in BUCKETS]
        return StageReport(self.stage, self.region, mode, resources, self.warnings)

    def _skip(self, feature: str, error: ClientError) -> None:
        if feature not in self._skipped:
            self._skipped.add(feature)
            message = (
                f"the DynamoDB endpoint does not support {feature} ({_message(error)}); "
                f"carrying on without it"
            )
            self.warnings.append(message)
            self._warn(message)

    def _describe_table(self, name: str) -> dict[str, Any] | None:
        try:
            return self.dynamodb.describe_table(TableName=name)["Table"]
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return None
            raise

    def _table_report(self, table: Table) -> ResourceReport:
        name = table.name(self.stage)
        live = self._describe_table(name)
        if live is None:
            return ResourceReport(
                "table",
                table.role,
                name,
                exists=False,
                differences=[Difference("table", "missing", "present", repair="create")],
            )
        if live.get("TableStatus") == "DELETING":
            raise ProvisioningError(f"table {name} is being deleted; run again once it is gone")
        differences = table_differences(
            table, self.stage, live, client_region=self.dynamodb.meta.region_name
        )
        differences += self._tag_differences(live["TableArn"])
        if table.point_in_time_recovery(self.stage):
            differences += self._pitr_differences(name)
        return ResourceReport(
            "table", table.role, name, exists=True, differences=differences, arn=live["TableArn"]
        )

    def _tag_differences(self, arn: str) -> list[Difference]:
        if FEATURE_TAGGING in self._skipped:
            return []
        live: dict[str, str] = {}
        kwargs: dict[str, str] = {"ResourceArn": arn}
        try:
            while True:
                page = self.dynamodb.list_tags_of_resource(**kwargs)
                live.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
        except ClientError as error:
            if not _unsupported(error):
                raise
            self._skip(FEATURE_TAGGING, error)
            return []
        return [
            Difference(f"tag {t['Key']}", live.get(t["Key"], "missing"), t["Value"], "tags")
            for t in resource_tags(self.stage)
            if live.get(t["Key"]) != t["Value"]
        ]

    def _pitr_differences(self, name: str) -> list[Difference]:
        if FEATURE_PITR in self._skipped:
            return []
        try:
            backups = self.dynamodb.describe_continuous_backups(TableName=name)
        except ClientError as error:
            if not _unsupported(error):
                raise
            self._skip(FEATURE_PITR, error)
            return []
        status = (
            backups["ContinuousBackupsDescription"]
            .get("PointInTimeRecoveryDescription", {})
            .get("PointInTimeRecoveryStatus", "DISABLED")
        )
        if status == "ENABLED":
            return []
        return [Difference("point-in-time recovery", status.lower(), "enabled", "pitr")]

    def _bucket_exists(self, name: str) -> bool:
        try:
            self.s3.head_bucket(Bucket=name)
        except ClientError as error:
            code = _code(error)
            if code in {"404", "NoSuchBucket", "NotFound"}:
                return False
            if code in {"403", "AccessDenied", "Forbidden"}:
                raise ProvisioningError(
                    f"bucket {name} exists but these credentials cannot use it: another AWS "
                    "account owns the name, or access is denied (S3 names are global; set "
                    "ANCHOR_BUCKET_SUFFIX to choose other names)"
                ) from error
            raise
        return True

    def _bucket_report(self, bucket: Bucket) -> ResourceReport:
        name = bucket.name(self.stage)
        arn = f"arn:{self.s3.meta.partition}:s3:::{name}"
        if not self._bucket_exists(name):
            return ResourceReport(
                "bucket",
                bucket.role,
                name,
                exists=False,
                arn=arn,
                differences=[Difference("bucket", "missing", "present", repair="create")],
            )
        live = {
            "region": _bucket_region(self.s3.get_bucket_location(Bucket=name)),
            "public_access_block": self._optional(
                lambda: self.s3.get_public_access_block(Bucket=name)[
                    "PublicAccessBlockConfiguration"
                ],
                "NoSuchPublicAccessBlockConfiguration",
            ),
            "encryption": self._optional(
                lambda: self.s3.get_bucket_encryption(Bucket=name)[
                    "ServerSideEncryptionConfiguration"
                ],
                "ServerSideEncryptionConfigurationNotFoundError",
            ),
            "lifecycle": self._optional(
                lambda: self.s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"],
                "NoSuchLifecycleConfiguration",
            ),
            "versioning": self.s3.get_bucket_versioning(Bucket=name).get("Status"),
        }
        return ResourceReport(
            "bucket",
            bucket.role,
            name,
            exists=True,
            arn=arn,
            differences=bucket_differences(bucket, live, region=self.region),
        )

    @staticmethod
    def _optional(read: Callable[[], Any], missing_code: str) -> Any:
        try:
            return read()
        except ClientError as error:
            if _code(error) == missing_code:
                return None
            raise

    # --- applying --------------------------------------------------------------------------

    def apply(self) -> StageReport:
        """Create what is missing and repair what can be repaired in place; never delete."""
        with aws_errors():
            resources = [self._apply_table(t) for t in TABLES]
            resources += [self._apply_bucket(b) for b in BUCKETS]
        return StageReport(self.stage, self.region, "apply", resources, self.warnings)

    def _apply_table(self, table: Table) -> ResourceReport:
        name = table.name(self.stage)
        before = self._table_report(table)
        outcome = "unchanged"
        busy = any(d.repair == "wait" for d in before.differences)
        if not before.exists:
            self.progress(f"table {name}: creating")
            self.dynamodb.create_table(**table.create_kwargs(self.stage))
            outcome = "created"
        report = before
        if busy or not before.exists:
            self._wait_for_table(name)
            report = self._table_report(table)
        repairs = self._repairs(report)
        if "billing" in repairs:
            self.progress(f"table {name}: switching to {table.billing_mode}")
            self.dynamodb.update_table(TableName=name, BillingMode=table.billing_mode)
            self._wait_for_table(name)
        if "encryption" in repairs:
            self.progress(f"table {name}: switching encryption to the AWS-owned key")
            self.dynamodb.update_table(TableName=name, SSESpecification={"Enabled": False})
            self._wait_for_table(name)
        if "deletion_protection" in repairs:
            self.progress(f"table {name}: turning on deletion protection")
            self.dynamodb.update_table(TableName=name, DeletionProtectionEnabled=True)
            self._wait_for_table(name)
        if "index" in repairs:
            self._add_missing_indexes(table, name)
        if "tags" in repairs:
            self.progress(f"table {name}: tagging")
            self.dynamodb.tag_resource(ResourceArn=report.arn, Tags=resource_tags(self.stage))
        if "pitr" in repairs:
            self.progress(f"table {name}: turning on point-in-time recovery")
            self.dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        after = self._table_report(table) if repairs else report
        return self._settle(after, outcome, repaired=bool(repairs))

    def _repairs(self, report: ResourceReport) -> set[str]:
        if any(d.property in _IDENTITY for d in report.differences):
            self.progress(f"{report.label}: not the declared resource; leaving it as it is")
            return set()
        return {d.repair for d in report.differences if d.repair} - {"wait"}

    def _settle(self, after: ResourceReport, outcome: str, *, repaired: bool) -> ResourceReport:
        if after.differences:
            after.outcome = "drift"
        elif outcome == "created":
            after.outcome = "created"
        else:
            after.outcome = "updated" if repaired else "unchanged"
        self.progress(f"{after.label}: {after.outcome}")
        return after

    def _wait_for_table(self, name: str) -> None:
        self.progress(f"table {name}: waiting for ACTIVE")
        self.dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=TABLE_WAITER)
        self._wait_for_indexes(name)

    def _wait_for_indexes(self, name: str) -> dict[str, Any]:
        """Poll until no index of the table is being created, updated or deleted."""
        deadline = time.monotonic() + INDEX_WAIT_SECONDS
        delay = 0.25
        last: dict[str, str] = {}
        while True:
            live = self._describe_table(name) or {}
            statuses = {
                i["IndexName"]: i.get("IndexStatus", "ACTIVE")
                for i in live.get("GlobalSecondaryIndexes", [])
            }
            busy = {k: v for k, v in statuses.items() if v in _INDEX_BUSY}
            for index, status in statuses.items():
                if last.get(index) != status and (busy or index in last):
                    self.progress(f"table {name}: index {index} {status}")
            last = statuses
            if not busy:
                return live
            if time.monotonic() > deadline:
                raise ProvisioningError(
                    f"table {name}: index {', '.join(busy)} still not ACTIVE after "
                    f"{INDEX_WAIT_SECONDS // 60} minutes; run provision again to keep waiting"
                )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def _add_missing_indexes(self, table: Table, name: str) -> None:
        # DynamoDB takes one new index per UpdateTable call, so add them one at a time.
        for index in table.indexes:
            live = self._wait_for_indexes(name)
            present = {i["IndexName"] for i in live.get("GlobalSecondaryIndexes", [])}
            if index.name in present:
                continue
            self.progress(f"table {name}: adding index {index.name}")
            self.dynamodb.update_table(
                TableName=name,
                AttributeDefinitions=table.attribute_definitions(indexes=(index,)),
                GlobalSecondaryIndexUpdates=[{"Create": index.create_spec()}],
            )
            self._wait_for_table(name)

    def _apply_bucket(self, bucket: Bucket) -> ResourceReport:
        name = bucket.name(self.stage)
        before = self._bucket_report(bucket)
        outcome = "unchanged"
        repairs = self._repairs(before)
        if not before.exists:
            self.progress(f"bucket {name}: creating in {self.region}")
            self._create_bucket(name)
            outcome = "created"
            repairs = {"public_access_block", "encryption", "lifecycle"}
            if bucket.versioning:
                repairs.add("versioning")
        if "public_access_block" in repairs:
            self.progress(f"bucket {name}: blocking public access")
            self.s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK
            )
        if "encryption" in repairs:
            self.progress(f"bucket {name}: setting default encryption (SSE-S3)")
            self.s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration=BUCKET_ENCRYPTION
            )
        if "lifecycle" in repairs:
            self.progress(f"bucket {name}: setting lifecycle rules")
            self.s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration=bucket.lifecycle_configuration()
            )
        if "versioning" in repairs:
            status = "Enabled" if bucket.versioning else "Suspended"
            self.progress(f"bucket {name}: versioning {status.lower()}")
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
        after = self._bucket_report(bucket) if repairs else before
        return self._settle(after, outcome, repaired=bool(repairs) and outcome != "created")

    def _create_bucket(self, name: str) -> None:
        kwargs: dict[str, Any] = {"Bucket": name}
        if self.region != "us-east-1":  # us-east-1 is the one region S3 wants unnamed
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.s3.create_bucket(**kwargs)
        except ClientError as error:
            if _code(error) == "BucketAlreadyExists":
                raise ProvisioningError(
                    f"bucket name {name} is owned by another AWS account (S3 names are global); "
                    "set ANCHOR_BUCKET_SUFFIX to choose other names"
                ) from error
            if _code(error) != "BucketAlreadyOwnedByYou":
                raise
        self.s3.get_waiter("bucket_exists").wait(Bucket=name, WaiterConfig=BUCKET_WAITER)

    # --- removing --------------------------------------------------------------------------

    def removal_plan(self) -> list[Removal]:
        """The stage's resources that exist now; makes no mutating call."""
        if self.stage == PRODUCTION_STAGE:
            raise ProvisioningError("teardown refuses stage production: it is retained")
        with aws_errors():
            found: list[Removal] = []
            for bucket in BUCKETS:
                if self._bucket_exists(bucket.name(self.stage)):
                    found.append(Removal("bucket", bucket.name(self.stage)))
            for table in TABLES:
                live = self._describe_table(table.name(self.stage))
                if live is not None and live.get("TableStatus") != "DELETING":
                    protected = bool(live.get("DeletionProtectionEnabled"))
                    found.append(Removal("table", table.name(self.stage), protected))
        return found

    def remove(self, removals: list[Removal]) -> None:
        """Empty and delete the buckets, delete the tables; turns off no protection itself."""
        if self.stage == PRODUCTION_STAGE:
            raise ProvisioningError("teardown refuses stage production: it is retained")
        protected = [r.name for r in removals if r.protected]
        if protected:
            raise ProvisioningError(
                f"deletion protection is on for {', '.join(protected)}; teardown does not turn "
                "it off: turn it off yourself if you mean to remove the stage, then run again"
            )
        with aws_errors():
            for removal in removals:
                if removal.kind == "bucket":
                    self._remove_bucket(removal.name)
                else:
                    self._remove_table(removal.name)

    def _remove_bucket(self, name: str) -> None:
        self.progress(f"bucket {name}: emptying")
        # List everything first, then delete: following list markers while deleting the keys
        # they point at loses pages on some S3 emulators (moto among them).
        uploads = [
            upload
            for page in self.s3.get_paginator("list_multipart_uploads").paginate(Bucket=name)
            for upload in page.get("Uploads", [])
        ]
        for upload in uploads:
            self.s3.abort_multipart_upload(
                Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
            )
        objects = [
            {"Key": entry["Key"], "VersionId": entry["VersionId"]}
            for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=name)
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(objects), 1000):  # DeleteObjects takes at most 1000 keys
            self._delete_objects(name, objects[start : start + 1000])
        self.progress(f"bucket {name}: deleted {len(objects)} object(s)")
        self.s3.delete_bucket(Bucket=name)
        self.s3.get_waiter("bucket_not_exists").wait(Bucket=name, WaiterConfig=BUCKET_WAITER)
        self.progress(f"bucket {name}: removed")

    def _delete_objects(self, name: str, batch: list[dict[str, str]]) -> None:
        response = self.s3.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True})
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise ProvisioningError(
                f"bucket {name}: could not delete {len(errors)} object(s), e.g. "
                f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip()
            )

    def _remove_table(self, name: str) -> None:
        self.progress(f"table {name}: deleting")
        try:
            self.dynamodb.delete_table(TableName=name)
        except ClientError as error:
            if _code(error) != "ResourceNotFoundException":
                raise
        self.dynamodb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=TABLE_WAITER)
        self.progress(f"table {name}: removed")


# --- comparing (pure functions over the Describe/Get responses) ---------------------------


def _keys_text(schema: list[dict[str, str]]) -> str:
    return ", ".join(f"{k['KeyType'].lower()} {k['AttributeName']}" for k in schema) or "none"


def _index_text(index: Index) -> str:
    return f"{_keys_text(index.key_schema())}, projection ALL"


def table_differences(
    table: Table, stage: str, live: dict[str, Any], *, client_region: str
) -> list[Difference]:
    """Compare a DescribeTable result with the declaration (tags and PITR are read separately)."""
    diffs: list[Difference] = []
    region = settings.AWS_REGION
    if client_region != region:
        # DynamoDB Local writes "ddblocal" into ARNs, so the client's region is what counts.
        diffs.append(Difference("region", client_region, region))
    if live.get("TableStatus", "ACTIVE") not in {"ACTIVE", "UPDATING", "CREATING"}:
        diffs.append(Difference("status", live["TableStatus"], "ACTIVE"))
    elif live.get("TableStatus") != "ACTIVE":
        diffs.append(Difference("status", live["TableStatus"], "ACTIVE", "wait"))
    if live.get("KeySchema") != table.key_schema():
        diffs.append(
            Difference(
                "key schema", _keys_text(live.get("KeySchema", [])), _keys_text(table.key_schema())
            )
        )
    types = {a["AttributeName"]: a["AttributeType"] for a in live.get("AttributeDefinitions", [])}
    for attribute in dict.fromkeys(
        [table.hash_key, table.range_key]
        + [a for i in table.indexes for a in (i.hash_key, i.range_key) if a]
    ):
        if attribute in types and types[attribute] != "S":
            diffs.append(Difference(f"attribute {attribute} type", types[attribute], "S"))

    live_indexes = {i["IndexName"]: i for i in live.get("GlobalSecondaryIndexes", [])}
    declared = {i.name: i for i in table.indexes}
    for name, index in declared.items():
        found = live_indexes.get(name)
        if found is None:
            diffs.append(Difference(f"index {name}", "missing", _index_text(index), "index"))
            continue
        if found.get("IndexStatus") == "DELETING":
            diffs.append(Difference(f"index {name}", "being deleted", _index_text(index), "index"))
            continue
        if found.get("KeySchema") != index.key_schema():
            diffs.append(
                Difference(
                    f"index {name} keys",
                    _keys_text(found.get("KeySchema", [])),
                    _keys_text(index.key_schema()),
                )
            )
        projection = found.get("Projection", {}).get("ProjectionType", "none")
        if projection != "ALL":
            diffs.append(Difference(f"index {name} projection", projection, "ALL"))
        if found.get("IndexStatus", "ACTIVE") in _INDEX_BUSY:
            diffs.append(Difference(f"index {name} status", found["IndexStatus"], "ACTIVE", "wait"))
    for name in live_indexes.keys() - declared.keys():
        diffs.append(Difference(f"index {name}", "present", "not declared"))
    for index in live.get("LocalSecondaryIndexes") or []:
        diffs.append(Difference(f"local index {index['IndexName']}", "present", "not declared"))

    billing = live.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if billing != table.billing_mode:
        diffs.append(Difference("billing mode", billing, table.billing_mode, "billing"))

    sse = live.get("SSEDescription") or {}
    if sse.get("Status") in {"ENABLED", "ENABLING", "UPDATING"} and sse.get("SSEType") == "KMS":
        key = sse.get("KMSMasterKeyArn", "a KMS key")
        diffs.append(Difference("encryption", f"KMS ({key})", "AWS-owned key", "encryption"))

    # Protection is a floor: production must have it; another stage may keep it if someone chose to.
    if table.deletion_protection(stage) and not live.get("DeletionProtectionEnabled", False):
        diffs.append(Difference("deletion protection", "off", "on", "deletion_protection"))
    return diffs


def _bucket_region(location: dict[str, Any]) -> str:
    constraint = location.get("LocationConstraint")
    # S3 reports us-east-1 as no constraint, and the oldest Ireland buckets as "EU".
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)


def _canonical_rule(rule: dict[str, Any]) -> str:
    rule = {k: v for k, v in rule.items() if v not in (None, [], {})}
    prefix = rule.pop("Prefix", None)
    rule_filter = rule.pop("Filter", None) or {}
    if "Prefix" in rule_filter and len(rule_filter) == 1:
        prefix = rule_filter["Prefix"]
    elif rule_filter:
        rule["Filter"] = rule_filter
    rule["Prefix"] = prefix or ""
    if "Transitions" in rule:
        rule["Transitions"] = sorted(rule["Transitions"], key=lambda t: t.get("Days", 0))
    return json.dumps(rule, sort_keys=True, default=str)


def _rule_text(rule: dict[str, Any]) -> str:
    parts = [f"prefix {_canonical_prefix(rule)!r}"]
    if rule.get("Status") != "Enabled":
        parts.append(str(rule.get("Status", "no status")).lower())
    for transition in sorted(rule.get("Transitions", []), key=lambda t: t.get("Days", 0)):
        parts.append(f"{transition.get('StorageClass')} at {transition.get('Days')} days")
    if "Expiration" in rule:
        parts.append(f"expire at {rule['Expiration'].get('Days')} days")
    if "AbortIncompleteMultipartUpload" in rule:
        days = rule["AbortIncompleteMultipartUpload"].get("DaysAfterInitiation")
        parts.append(f"abort uploads at {days} days")
    return ", ".join(parts)


def _canonical_prefix(rule: dict[str, Any]) -> str:
    return json.loads(_canonical_rule(rule))["Prefix"]


def bucket_differences(bucket: Bucket, live: dict[str, Any], *, region: str) -> list[Difference]:
    """Compare a bucket's region, public access block, encryption, lifecycle and versioning."""
    diffs: list[Difference] = []
    if live["region"] != region:
        diffs.append(Difference("region", live["region"], region))

    block = live["public_access_block"]
    off = [k for k, v in PUBLIC_ACCESS_BLOCK.items() if (block or {}).get(k) != v]
    if off:
        shown = "not set" if block is None else f"{', '.join(off)} off"
        diffs.append(Difference("public access block", shown, "all on", "public_access_block"))

    wanted_algorithm = BUCKET_ENCRYPTION["Rules"][0]["ApplyServerSideEncryptionByDefault"][
        "SSEAlgorithm"
    ]
    rules = (live["encryption"] or {}).get("Rules", [])
    algorithms = [
        r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules
    ]
    if algorithms != [wanted_algorithm]:
        shown = ", ".join(a or "none" for a in algorithms) or "none"
        diffs.append(
            Difference("default encryption", shown, f"{wanted_algorithm} (SSE-S3)", "encryption")
        )

    live_rules = {r.get("ID", ""): r for r in live["lifecycle"] or []}
    declared_rules = {r.id: r.to_api() for r in bucket.rules}
    for rule_id, rule in declared_rules.items():
        found = live_rules.get(rule_id)
        if found is None:
            diffs.append(
                Difference(f"lifecycle rule {rule_id}", "missing", _rule_text(rule), "lifecycle")
            )
        elif _canonical_rule(found) != _canonical_rule(rule):
            diffs.append(
                Difference(
                    f"lifecycle rule {rule_id}", _rule_text(found), _rule_text(rule), "lifecycle"
                )
            )
    for rule_id in live_rules.keys() - declared_rules.keys():
        diffs.append(
            Difference(
                f"lifecycle rule {rule_id}",
                _rule_text(live_rules[rule_id]),
                "not declared",
                "lifecycle",
            )
        )

    enabled = live["versioning"] == "Enabled"
    if enabled != bucket.versioning:
        diffs.append(
            Difference(
                "versioning",
                "enabled" if enabled else "off",
                "enabled" if bucket.versioning else "off",
                "versioning",
            )
        )
    return diffs
