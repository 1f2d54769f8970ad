"""Reading a stage and planning: every Describe/Get call, compared with the declaration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import (
    ClientError,
)
from django.conf import settings

from infra.core import aws
from infra.core.resources import (
    BUCKETS,
    TABLES,
    Bucket,
    InvalidLifecycle,
    Table,
    resource_tags,
    validate_lifecycle,
)
from infra.provisioning.diff import (
    bucket_differences,
    bucket_guard_differences,
    bucket_region,
    declared_bucket_guard_properties,
    declared_bucket_properties,
    declared_table_properties,
    table_differences,
    transition_minimum_differences,
)
from infra.provisioning.report import (
    BUCKET_NAME_PATTERN,
    FEATURE_PITR,
    FEATURE_TAGGING,
    Difference,
    ProvisioningError,
    ResourceReport,
    StageReport,
    _code,
    _message,
    _quiet,
    _unsupported,
    aws_errors,
    split_undeclared,
    validate_stage,
)


class StageInspector:
    """Reads one stage's resources and compares them with the declaration (the plan and the
    drift check); makes only Describe/List/Get/Head calls."""

    def __init__(
        self,
        stage: str,
        *,
        progress: Callable[[str], None] = _quiet,
        warn: Callable[[str], None] = _quiet,
        prune: bool = False,
    ) -> None:
        self.stage = validate_stage(stage)
        # Without --prune, settings the declaration does not name are kept and reported as such.
        self.prune = prune
        self.region: str = settings.AWS_REGION
        self.progress = progress
        self._warn = warn
        self.warnings: list[str] = []
        self._skipped: set[str] = set()
        try:  # before any AWS call: moto accepts lifecycle rules that AWS rejects
            validate_lifecycle(BUCKETS)
        except InvalidLifecycle as error:
            raise ProvisioningError(f"invalid lifecycle declaration: {error}") from error
        for bucket in BUCKETS:
            name = bucket.name(self.stage)
            if not BUCKET_NAME_PATTERN.match(name) or ".." in name:
                raise ProvisioningError(
                    f"bucket name {name!r} is not a valid S3 name (check ANCHOR_BUCKET_SUFFIX)"
                )

    @property
    def dynamodb(self) -> BaseClient:
        return aws.admin_dynamodb()

    @property
    def s3(self) -> BaseClient:
        return aws.admin_s3()

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
                planned=declared_table_properties(table, self.stage),
            )
        if live.get("TableStatus") == "DELETING":
            raise ProvisioningError(f"table {name} is being deleted; run again once it is gone")
        differences = table_differences(
            table, self.stage, live, client_region=self.dynamodb.meta.region_name
        )
        differences += self._tag_differences(live["TableArn"])
        if table.point_in_time_recovery(self.stage):
            differences += self._pitr_differences(name)
        differences, kept = split_undeclared(differences, prune=self.prune)
        return ResourceReport(
            "table",
            table.role,
            name,
            exists=True,
            differences=differences,
            arn=live["TableArn"],
            kept=kept,
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
                planned=declared_bucket_properties(bucket, region=self.region)
                + declared_bucket_guard_properties(bucket, stage=self.stage),
            )
        lifecycle = self._optional(
            lambda: self.s3.get_bucket_lifecycle_configuration(Bucket=name),
            "NoSuchLifecycleConfiguration",
        )
        live = {
            "region": bucket_region(self.s3.get_bucket_location(Bucket=name)),
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
            "lifecycle": None if lifecycle is None else lifecycle.get("Rules", []),
            "versioning": self.s3.get_bucket_versioning(Bucket=name).get("Status"),
            "policy": self._optional(
                lambda: self.s3.get_bucket_policy(Bucket=name)["Policy"], "NoSuchBucketPolicy"
            ),
            "ownership": self._optional(
                lambda: self.s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"][
                    "Rules"
                ],
                "OwnershipControlsNotFoundError",
            ),
            "tags": self._optional(
                lambda: self.s3.get_bucket_tagging(Bucket=name)["TagSet"], "NoSuchTagSet"
            ),
        }
        differences = bucket_differences(bucket, live, region=self.region)
        if lifecycle is not None:  # a missing configuration is already a missing rule
            differences += transition_minimum_differences(
                bucket, lifecycle.get("TransitionDefaultMinimumObjectSize")
            )
        differences += bucket_guard_differences(
            bucket, live, name=name, stage=self.stage, partition=self.s3.meta.partition
        )
        differences, kept = split_undeclared(differences, prune=self.prune)
        return ResourceReport(
            "bucket", bucket.role, name, exists=True, arn=arn, differences=differences, kept=kept
        )

    @staticmethod
    def _optional(read: Callable[[], Any], missing_code: str) -> Any:
        try:
            return read()
        except ClientError as error:
            if _code(error) == missing_code:
                return None
            raise
