"""Fixture chain: credentials -> mock_aws -> tables and buckets built from infra's declaration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from infra import aws
from infra.resources import BUCKETS, TABLES


def build_stage(stage: str | None = None) -> None:
    """Create every table and bucket of a stage from the one declaration."""
    dynamodb, s3 = aws.dynamodb(), aws.s3()
    for table in TABLES:
        dynamodb.create_table(**table.create_kwargs(stage))
    for bucket in BUCKETS:
        name = bucket.name(stage)
        s3.create_bucket(
            Bucket=name,
            CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name},
        )
        s3.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration=bucket.lifecycle_configuration()
        )


@pytest.fixture
def mocked_aws() -> Iterator[None]:
    """moto in-process, with fresh clients that talk to it."""
    aws.reset_clients()
    with mock_aws():
        yield
    aws.reset_clients()


@pytest.fixture
def aws_stage(mocked_aws: None) -> None:
    """The `test` stage's tables and buckets, empty."""
    build_stage()
