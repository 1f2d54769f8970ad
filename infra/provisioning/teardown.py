"""Removing a non-production stage: its buckets (emptied first) and tables."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
)

from infra.core.resources import (
    BUCKETS,
    PRODUCTION_STAGE,
    TABLES,
)
from infra.provisioning.plan import StageInspector
from infra.provisioning.report import (
    BUCKET_WAITER,
    TABLE_WAITER,
    ProvisioningError,
    Removal,
    _code,
    aws_errors,
)


class StageRemover(StageInspector):
    """Lists and removes a stage's resources; refuses production."""

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
