"""The one declaration of every table and bucket: provisioning, checks and tests read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

APP_NAME = "anchor-deploy"
PRODUCTION_STAGE = "production"


@dataclass(frozen=True)
class Index:
    """A global secondary index: its key attributes (all of type S) and projection ALL."""

    name: str
    hash_key: str
    range_key: str | None = None

    def key_schema(self) -> list[dict[str, str]]:
        return _key_schema(self.hash_key, self.range_key)

    def create_spec(self) -> dict[str, Any]:
        return {
            "IndexName": self.name,
            "KeySchema": self.key_schema(),
            "Projection": {"ProjectionType": "ALL"},
        }


@dataclass(frozen=True)
class Table:
    """A DynamoDB table: `PK`/`SK` string keys, on-demand billing, default encryption."""

    role: str  # "projects" | "deployments"
    indexes: tuple[Index, ...]
    hash_key: str = "PK"
    range_key: str = "SK"
    billing_mode: str = "PAY_PER_REQUEST"

    def name(self, stage: str | None = None) -> str:
        stage = stage or settings.ANCHOR_STAGE
        return explicit_name("table", self.role, stage) or f"{APP_NAME}-{stage}-{self.role}"

    def deletion_protection(self, stage: str) -> bool:
        """Production tables refuse DeleteTable; other stages may have it but do not need it."""
        return is_protected_stage(stage)

    def point_in_time_recovery(self, stage: str) -> bool:
        """Production tables keep 35 days of point-in-time recovery; other stages do not need it."""
        return is_protected_stage(stage)

    def key_schema(self) -> list[dict[str, str]]:
        return _key_schema(self.hash_key, self.range_key)

    def attribute_definitions(
        self, indexes: tuple[Index, ...] | None = None
    ) -> list[dict[str, str]]:
        names = [self.hash_key, self.range_key]
        for index in self.indexes if indexes is None else indexes:
            names += [index.hash_key] + ([index.range_key] if index.range_key else [])
        return [{"AttributeName": n, "AttributeType": "S"} for n in dict.fromkeys(names)]

    def create_kwargs(self, stage: str | None = None, *, tags: bool = True) -> dict[str, Any]:
        """Arguments for CreateTable that build this table complete with every index."""
        stage = stage or settings.ANCHOR_STAGE
        kwargs: dict[str, Any] = {
            "TableName": self.name(stage),
            "KeySchema": self.key_schema(),
            "AttributeDefinitions": self.attribute_definitions(),
            "BillingMode": self.billing_mode,
            "GlobalSecondaryIndexes": [index.create_spec() for index in self.indexes],
            # Default encryption at rest with the AWS-owned key (DESIGN.md: no customer KMS key).
            "SSESpecification": {"Enabled": False},
            "DeletionProtectionEnabled": self.deletion_protection(stage),
        }
        if tags:
            kwargs["Tags"] = resource_tags(stage)
        return kwargs


@dataclass(frozen=True)
class LifecycleRule:
    """One S3 lifecycle rule on a prefix: transitions (days, class) and/or an expiration."""

    id: str
    prefix: str
    transitions: tuple[tuple[int, str], ...] = ()
    expiration_days: int | None = None
    abort_multipart_days: int = 7

    def to_api(self) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "ID": self.id,
            "Filter": {"Prefix": self.prefix},
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": self.abort_multipart_days},
        }
        if self.transitions:
            rule["Transitions"] = [{"Days": d, "StorageClass": c} for d, c in self.transitions]
        if self.expiration_days is not None:
            rule["Expiration"] = {"Days": self.expiration_days}
        return rule


# S3's lifecycle constraints (User Guide, "Constraints and considerations for transitions", and
# the Transition API reference): moto accepts rules AWS rejects, so the declaration is checked
# against them before any call. Storage classes in the only order objects may move through:
STORAGE_CLASS_ORDER = (
    "STANDARD_IA",
    "INTELLIGENT_TIERING",
    "ONEZONE_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
)
# Days after creation before an object may enter the class (others: 0 or more).
MIN_TRANSITION_DAYS = {"STANDARD_IA": 30, "ONEZONE_IA": 30}
# Days an object must stay in a class before the next transition (minimum storage duration).
MIN_DAYS_IN_CLASS = {"STANDARD_IA": 30, "ONEZONE_IA": 30, "GLACIER_IR": 90, "GLACIER": 90}


class InvalidLifecycle(ValueError):
    """A lifecycle rule that S3 would reject; the message names the rule and the constraint."""


def lifecycle_problems(rule: LifecycleRule) -> list[str]:
    """Every constraint of S3's that this rule breaks (empty when AWS would accept it)."""
    problems: list[str] = []
    name = f"lifecycle rule {rule.id}"
    previous: tuple[int, str] | None = None
    for days, storage_class in rule.transitions:
        if storage_class not in STORAGE_CLASS_ORDER:
            problems.append(f"{name}: unknown storage class {storage_class}")
            continue
        minimum = MIN_TRANSITION_DAYS.get(storage_class, 0)
        if days < minimum:
            problems.append(
                f"{name}: {storage_class} needs at least {minimum} days after creation, not {days}"
            )
        if previous is not None:
            before_days, before_class = previous
            if STORAGE_CLASS_ORDER.index(storage_class) <= STORAGE_CLASS_ORDER.index(before_class):
                problems.append(
                    f"{name}: {storage_class} cannot follow {before_class} (objects only move "
                    f"down {' > '.join(STORAGE_CLASS_ORDER)})"
                )
            stay = MIN_DAYS_IN_CLASS.get(before_class, 0)
            if days - before_days < stay:
                problems.append(
                    f"{name}: {storage_class} must come at least {stay} days after "
                    f"{before_class} (day {before_days + stay} or later, not {days})"
                )
        previous = (days, storage_class)
    if rule.expiration_days is not None:
        if rule.expiration_days < 1:
            problems.append(f"{name}: expiration needs at least 1 day, not {rule.expiration_days}")
        if previous is not None and rule.expiration_days <= previous[0]:
            problems.append(
                f"{name}: expiration at {rule.expiration_days} days must come after the last "
                f"transition ({previous[1]} at {previous[0]} days)"
            )
    if rule.abort_multipart_days < 1:
        problems.append(f"{name}: aborting incomplete uploads needs at least 1 day")
    return problems


def validate_lifecycle(buckets: tuple[Bucket, ...] | None = None) -> None:
    """Raise InvalidLifecycle naming the first rule S3 would reject (every bucket by default)."""
    for bucket in BUCKETS if buckets is None else buckets:
        for rule in bucket.rules:
            problems = lifecycle_problems(rule)
            if problems:
                raise InvalidLifecycle(f"bucket {bucket.role}: {problems[0]}")


@dataclass(frozen=True)
class Bucket:
    """An S3 bucket: private, SSE-S3 encrypted, versioning off, with lifecycle rules."""

    role: str  # "artifacts" | "logs"
    prefix: str
    rules: tuple[LifecycleRule, ...] = field(default_factory=tuple)
    versioning: bool = False
    # S3's TransitionDefaultMinimumObjectSize for the bucket's lifecycle configuration, or None
    # for a bucket whose rules make no transition (the value is then neither sent nor checked).
    transition_minimum_object_size: str | None = None

    def name(self, stage: str | None = None, suffix: str | None = None) -> str:
        stage = stage or settings.ANCHOR_STAGE
        explicit = explicit_name("bucket", self.role, stage) if suffix is None else None
        if explicit:
            return explicit
        suffix = settings.ANCHOR_BUCKET_SUFFIX if suffix is None else suffix
        base = f"{APP_NAME}-{stage}-{self.role}"
        return f"{base}-{suffix}" if suffix else base

    def lifecycle_configuration(self) -> dict[str, Any]:
        return {"Rules": [rule.to_api() for rule in self.rules]}

    def lifecycle_kwargs(self) -> dict[str, Any]:
        """Arguments of PutBucketLifecycleConfiguration beside the bucket's name: the rules and,
        when declared, the minimum object size a transition applies to (a top-level parameter)."""
        kwargs: dict[str, Any] = {"LifecycleConfiguration": self.lifecycle_configuration()}
        if self.transition_minimum_object_size is not None:
            kwargs["TransitionDefaultMinimumObjectSize"] = self.transition_minimum_object_size
        return kwargs

    def transition_minimum_bytes(self, storage_class: str) -> int:
        """The smallest object S3 moves into `storage_class` under this bucket's declaration
        (0 when objects of any size move)."""
        if self.transition_minimum_object_size == TRANSITION_MINIMUM_BY_CLASS and (
            storage_class in {"GLACIER", "DEEP_ARCHIVE"}
        ):
            return 0
        return TRANSITION_MINIMUM_BYTES

    def policy_document(self, name: str, partition: str = "aws") -> dict[str, Any]:
        """The bucket policy: deny every request that does not come over TLS, on the bucket and
        its objects (the statement SST's Bucket component adds)."""
        arn = f"arn:{partition}:s3:::{name}"
        return {"Version": "2012-10-17", "Statement": [deny_insecure_transport(arn)]}


PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
BUCKET_ENCRYPTION = {
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}],
}

# S3's TransitionDefaultMinimumObjectSize values (PutBucketLifecycleConfiguration). Since
# September 2024 S3 applies all_storage_classes_128K to a configuration put without one: objects
# under 128 KB make no lifecycle transition at all. varies_by_storage_class lets them into
# GLACIER and DEEP_ARCHIVE. docs/storage.md has the arithmetic behind the logs bucket's choice.
TRANSITION_MINIMUM_128K = "all_storage_classes_128K"
TRANSITION_MINIMUM_BY_CLASS = "varies_by_storage_class"
TRANSITION_MINIMUM_BYTES = 128 * 1024
# Every object belongs to the bucket's owner and ACLs are off (S3 Object Ownership).
OBJECT_OWNERSHIP = "BucketOwnerEnforced"
DENY_INSECURE_TRANSPORT_SID = "DenyInsecureTransport"


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """The bucket policy statement refusing plain-HTTP requests (aws:SecureTransport false)."""
    return {
        "Sid": DENY_INSECURE_TRANSPORT_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


# Index names are decided in DESIGN.md; other code queries them by these constants.
USER_ID_INDEX = "UserIdIndex"
DEPLOYMENT_ID_INDEX = "DeploymentIdIndex"
USER_DEPLOYMENTS_INDEX = "UserDeploymentsIndex"
# A project's deployments by status, newest first: hash projectStatus (`{projectId}#{status}`),
# (`{status}#{createdAt}#{deploymentId}`), kept by the conditional write that changes a status.
PROJECT_STATUS_INDEX = "ProjectStatusIndex"
# The "needs attention" feed across tenants: a sparse index holding only in-flight (queued,
# building) and failed deployments, hash `attention` (`queued#{shard}`, `building#{shard}`,
# `error#{UTC day}`), range `attentionAt` (`{since}#{deploymentId}`); see deployments/derived.py.
ATTENTION_INDEX = "AttentionIndex"
# The version of the derived keys and counters a project's deployments carry; a project item
# records the version its data was last completed to (`derivedVersion`), by
# create_project/import_project or by `manage.py recount_deployments`. Version 1: projectStatus
# and the per-day counts (what project pages gate their status filter and chart on,
# COUNTERS_VERSION); version 2 adds the attention keys.
COUNTERS_VERSION = 1
DERIVED_VERSION = 2

PROJECTS = Table(role="projects", indexes=(Index(USER_ID_INDEX, "userId", "createdAt"),))
DEPLOYMENTS = Table(
    role="deployments",
    indexes=(
        Index(DEPLOYMENT_ID_INDEX, "deploymentId"),
        Index(USER_DEPLOYMENTS_INDEX, "userId", "createdAt"),
        Index(PROJECT_STATUS_INDEX, "projectStatus", "SK"),
        Index(ATTENTION_INDEX, "attention", "attentionAt"),
    ),
)
TABLES = (PROJECTS, DEPLOYMENTS)

ARTIFACTS_RETENTION_DAYS = 90
ARTIFACTS = Bucket(
    role="artifacts",
    prefix="artifacts/",
    rules=(
        LifecycleRule("expire-artifacts", "artifacts/", expiration_days=ARTIFACTS_RETENTION_DAYS),
    ),
)
LOGS = Bucket(
    role="logs",
    prefix="logs/",
    rules=(
        LifecycleRule(
            "archive-logs", "logs/", transitions=((30, "GLACIER"), (365, "DEEP_ARCHIVE"))
        ),
    ),
    # Logs under 128 KB stay in STANDARD: for them GLACIER's per-object overhead costs more than
    # STANDARD does (docs/storage.md). Declared, not left to S3's default, so --check sees it.
    transition_minimum_object_size=TRANSITION_MINIMUM_128K,
)
BUCKETS = (ARTIFACTS, LOGS)


# The settings that name a resource of the configured stage explicitly (DESIGN.md, "Decided for
# the next round"); unset, a resource keeps its default name anchor-deploy-{stage}-{role}.
NAME_SETTINGS = {
    ("table", "projects"): "ANCHOR_PROJECTS_TABLE",
    ("table", "deployments"): "ANCHOR_DEPLOYMENTS_TABLE",
    ("table", "tenants"): "ANCHOR_TENANTS_TABLE",
    ("bucket", "artifacts"): "ANCHOR_ARTIFACTS_BUCKET",
    ("bucket", "logs"): "ANCHOR_LOGS_BUCKET",
}


def explicit_name(kind: str, role: str, stage: str) -> str | None:
    """The name a setting gives this table or bucket, or None for the default name. The settings
    describe one stage, ANCHOR_STAGE: any other stage keeps its default names."""
    if stage != settings.ANCHOR_STAGE:
        return None
    return getattr(settings, NAME_SETTINGS[(kind, role)], "") or None


def tenants_table_name(stage: str | None = None) -> str:
    """The tenants table's name (ANCHOR_TENANTS_TABLE or the default); not created yet."""
    stage = stage or settings.ANCHOR_STAGE
    return explicit_name("table", "tenants", stage) or f"{APP_NAME}-{stage}-tenants"


def is_protected_stage(stage: str) -> bool:
    """A production stage (ANCHOR_PROTECTED_STAGES, which always holds `production`): teardown
    refuses it, and its tables are declared with deletion protection and point-in-time recovery."""
    return stage == PRODUCTION_STAGE or stage in settings.ANCHOR_PROTECTED_STAGES


def resource_tags(stage: str) -> list[dict[str, str]]:
    return [{"Key": "app", "Value": APP_NAME}, {"Key": "stage", "Value": stage}]


def _key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def log_key(project_id: str, deployment_id: str) -> str:
    """Where a deployment's build log lives in the logs bucket."""
    return f"logs/{project_id}/{deployment_id}/build.log"


def artifacts_prefix(project_id: str, deployment_id: str) -> str:
    """The prefix under which a deployment's artifacts live in the artifacts bucket."""
    return f"artifacts/{project_id}/{deployment_id}/"


# `manage.py reconcile` stores its last findings per project here, in the logs bucket but outside
# the lifecycle rule's `logs/` prefix (a report is rewritten on every run, never archived).
RECONCILE_PREFIX = "reconcile/"


def reconcile_report_key(project_id: str) -> str:
    """Where the logs bucket keeps the last reconciliation report of a project."""
    return f"{RECONCILE_PREFIX}{project_id}.json"
