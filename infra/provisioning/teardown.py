"""Removing a non-production stage: its buckets (emptied first) and tables, each only if its own
tags say it belongs to that stage."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import (
    ClientError,
)

from infra.core.resources import (
    APP_NAME,
    BUCKETS,
    TABLES,
    is_protected_stage,
)
from infra.provisioning.plan import StageInspector
from infra.provisioning.report import (
    BUCKET_WAITER,
    TABLE_WAITER,
    ProvisioningError,
    Removal,
    _code,
    _unsupported,
    aws_errors,
)

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class StageRemover(StageInspector):
    """Lists and removes a stage's resources; refuses production, and any resource whose tags
    or deletion protection do not show it is this stage's to remove (docs/provisioning.md)."""

    # --- removing --------------------------------------------------------------------------

    def removal_plan(self) -> list[Removal]:
        """The stage's resources that exist now, each with the reason it is refused (if it is);
        makes no mutating call."""
        self._refuse_protected_stage()
        with aws_errors():
            found: list[Removal] = []
            for bucket in BUCKETS:
                name = bucket.name(self.stage)
                if self._bucket_exists(name):
                    found.append(self._judged("bucket", name, self._bucket_tags(name)))
            for table in TABLES:
                name = table.name(self.stage)
                live = self._describe_table(name)
                if live is None or live.get("TableStatus") == "DELETING":
                    continue
                removal = self._judged("table", name, self._table_tags(live["TableArn"]))
                removal.protected = bool(live.get("DeletionProtectionEnabled"))
                if removal.protected and not removal.refused:
                    # Production tables carry it; teardown never turns it off.
                    removal.refused = (
                        "deletion protection is on (teardown does not turn it off: turn it off "
                        "yourself if you mean to remove it)"
                    )
                found.append(removal)
        return found

    def remove(self, removals: list[Removal]) -> None:
        """Empty and delete the buckets, delete the tables; removes nothing if any is refused,
        and turns off no protection itself."""
        self._refuse_protected_stage()
        refused = [r for r in removals if r.refused or r.protected]
        if refused:
            raise ProvisioningError(
                f"teardown refuses {', '.join(r.name for r in refused)}; nothing was removed"
            )
        with aws_errors():
            for removal in removals:
                if removal.kind == "bucket":
                    self._remove_bucket(removal.name)
                else:
                    self._remove_table(removal.name)

    def _refuse_protected_stage(self) -> None:
        if is_protected_stage(self.stage):
            raise ProvisioningError(f"teardown refuses stage {self.stage}: production is retained")

    # --- whose is it -----------------------------------------------------------------------

    def _judged(self, kind: str, name: str, tags: dict[str, str] | None) -> Removal:
        """A removal, refused unless the resource's own tags say app=anchor-deploy and this
        stage (None: a local endpoint without tagging, judged by name and protection alone)."""
        if tags is None:
            # DynamoDB Local has no tagging at all. Only an emulator on this machine may be
            # judged without tags; an endpoint elsewhere that cannot show them is refused.
            host = urlsplit(self.dynamodb.meta.endpoint_url).hostname
            if host in _LOOPBACK:
                return Removal(kind, name, basis="a local endpoint without tags: judged by name")
            return Removal(kind, name, refused="its endpoint cannot list tags (no tagging API)")
        stage = tags.get("stage")
        refused: str | None = None
        if not tags:
            refused = "it has no tags, so nothing shows it belongs to this stage"
        elif stage is not None and is_protected_stage(stage):
            refused = f"it belongs to production (tag stage={stage})"
        elif tags.get("app") != APP_NAME:
            refused = f"tag app is {tags.get('app', 'missing')}, not {APP_NAME}"
        elif stage is None:
            refused = "it has no stage tag"
        elif stage != self.stage:
            refused = f"it belongs to stage {stage}, not {self.stage} (tag stage={stage})"
        return Removal(kind, name, refused=refused, basis=f"tagged app={APP_NAME}, stage={stage}")

    def _table_tags(self, arn: str) -> dict[str, str] | None:
        tags: dict[str, str] = {}
        kwargs: dict[str, str] = {"ResourceArn": arn}
        try:
            while True:
                page = self.dynamodb.list_tags_of_resource(**kwargs)
                tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
                if not page.get("NextToken"):
                    return tags
                kwargs["NextToken"] = page["NextToken"]
        except ClientError as error:
            if not _unsupported(error):
                raise
            return None  # the endpoint has no tagging API (DynamoDB Local)

    def _bucket_tags(self, name: str) -> dict[str, str]:
        tag_set: list[dict[str, Any]] = (
            self._optional(
                lambda: self.s3.get_bucket_tagging(Bucket=name)["TagSet"], "NoSuchTagSet"
            )
            or []
        )
        return {t["Key"]: t["Value"] for t in tag_set}

    # --- deleting --------------------------------------------------------------------------

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
