"""The tenant check and the short-lived download links shared by the deployments' S3 readers.

The readers take the tenant and the DeploymentSchema that a tenant-scoped read
(get_deployment(user_id, ...)) returned: the record must carry that tenant, and the S3 keys are
built from its own projectId and deploymentId, so no DynamoDB call is made.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.http import content_disposition_header

from deployments.schemas import DeploymentSchema
from infra.core import aws
from infra.core.errors import NotFound, aws_errors
from infra.core.ids import valid_user_id


def check_owner(user_id: str, deployment: DeploymentSchema) -> None:
    if not valid_user_id(user_id) or deployment.user_id != user_id:
        raise NotFound(f"deployment {deployment.deployment_id} not found")


def presign(bucket: str, key: str, filename: str, expires_in: int | None) -> str:
    if expires_in is None:
        expires_in = settings.ANCHOR_PRESIGN_SECONDS
    with aws_errors():
        return aws.s3().generate_presigned_url(
            "get_object",
            Params={
                "Bucket": bucket,
                "Key": key,
                "ResponseContentDisposition": content_disposition_header(True, filename),
            },
            ExpiresIn=expires_in,
        )
