"""Applying the plan: create what is missing, repair what can be repaired in place."""

from __future__ import annotations

import json
import time
from typing import Any

from botocore.exceptions import (
    ClientError,
)

from infra.core.resources import (
    BUCKET_ENCRYPTION,
    BUCKETS,
    OBJECT_OWNERSHIP,
    PUBLIC_ACCESS_BLOCK,
    TABLES,
    Bucket,
    Table,
    resource_tags,
)
from infra.provisioning.diff import policy_statements
from infra.provisioning.plan import StageInspector
from infra.provisioning.report import (
    _IDENTITY,
    _INDEX_BUSY,
    BUCKET_WAITER,
    INDEX_WAIT_SECONDS,
    TABLE_WAITER,
    ProvisioningError,
    ResourceReport,
    StageReport,
    _code,
    aws_errors,
)


class StageApplier(StageInspector):
    """Creates and repairs a stage's resources; never deletes."""

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
        if "prune_index" in repairs:
            self._remove_undeclared_indexes(table, name)
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
        for kept in after.kept:
            self.progress(f"{after.label}: {kept.property} not declared: kept (--prune removes it)")
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
            repairs |= {"ownership", "policy", "tags"}
        if "ownership" in repairs:
            self.progress(f"bucket {name}: object ownership {OBJECT_OWNERSHIP} (ACLs off)")
            self.s3.put_bucket_ownership_controls(
                Bucket=name,
                OwnershipControls={"Rules": [{"ObjectOwnership": OBJECT_OWNERSHIP}]},
            )
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
                Bucket=name,
                **{
                    **bucket.lifecycle_kwargs(),
                    "LifecycleConfiguration": self._lifecycle_to_put(bucket, name, outcome),
                },
            )
        if "versioning" in repairs:
            status = "Enabled" if bucket.versioning else "Suspended"
            self.progress(f"bucket {name}: versioning {status.lower()}")
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
        if "policy" in repairs:
            self.progress(f"bucket {name}: bucket policy denying requests without TLS")
            self._put_bucket_policy(bucket, name)
        if "tags" in repairs:
            self.progress(f"bucket {name}: tagging")
            self._put_bucket_tags(name)
        after = self._bucket_report(bucket) if repairs else before
        return self._settle(after, outcome, repaired=bool(repairs) and outcome != "created")

    def _lifecycle_to_put(self, bucket: Bucket, name: str, outcome: str) -> dict[str, Any]:
        """The declared lifecycle configuration, plus the live rules it does not declare unless
        --prune (PutBucketLifecycleConfiguration replaces every rule a bucket has)."""
        configuration = bucket.lifecycle_configuration()
        if self.prune or outcome == "created":
            return configuration
        declared = {rule.id for rule in bucket.rules}
        live = (
            self._optional(
                lambda: self.s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"],
                "NoSuchLifecycleConfiguration",
            )
            or []
        )
        kept = [rule for rule in live if rule.get("ID") not in declared]
        return {**configuration, "Rules": configuration["Rules"] + kept}

    def _remove_undeclared_indexes(self, table: Table, name: str) -> None:
        # --prune only. DynamoDB takes one index change per UpdateTable call.
        declared = {index.name for index in table.indexes}
        live = self._wait_for_indexes(name)
        for index in live.get("GlobalSecondaryIndexes", []):
            if index["IndexName"] in declared:
                continue
            self.progress(f"table {name}: removing index {index['IndexName']} (--prune)")
            self.dynamodb.update_table(
                TableName=name,
                GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index["IndexName"]}}],
            )
            self._wait_for_table(name)

    def _put_bucket_policy(self, bucket: Bucket, name: str) -> None:
        """Put the declared statement, keeping every other statement the policy has."""
        declared = bucket.policy_document(name, self.s3.meta.partition)
        current = self._optional(
            lambda: self.s3.get_bucket_policy(Bucket=name)["Policy"], "NoSuchBucketPolicy"
        )
        ours = {s["Sid"] for s in declared["Statement"]}
        kept = [s for s in policy_statements(current) if s.get("Sid") not in ours]
        document = {**declared, "Statement": kept + declared["Statement"]}
        self.s3.put_bucket_policy(Bucket=name, Policy=json.dumps(document))

    def _put_bucket_tags(self, name: str) -> None:
        """Set the declared tags and keep the other ones (PutBucketTagging replaces them all)."""
        current = self._optional(
            lambda: self.s3.get_bucket_tagging(Bucket=name)["TagSet"], "NoSuchTagSet"
        )
        tags = {t["Key"]: t["Value"] for t in current or []}
        tags.update({t["Key"]: t["Value"] for t in resource_tags(self.stage)})
        tag_set = [{"Key": key, "Value": value} for key, value in tags.items()]
        self.s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_set})

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
