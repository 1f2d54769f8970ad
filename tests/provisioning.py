"""Helpers shared by the provisioning tests on moto and on DynamoDB Local."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.client import BaseClient
from django.core.management import call_command
from django.core.management.base import CommandError

from infra.core import aws
from infra.core.resources import BUCKETS, TABLES


def resource_lines(output: str) -> dict[str, str]:
    """'table NAME: action' progress/plan lines, as {NAME: action} (the last one wins)."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        words = line.strip().split(" ", 2)
        if len(words) == 3 and words[0] in {"table", "bucket"} and words[1].endswith(":"):
            found[words[1][:-1]] = words[2]
    return found


def resource_names(stage: str) -> list[str]:
    """The names of every table and bucket of a stage, from the one declaration."""
    return [t.name(stage) for t in TABLES] + [b.name(stage) for b in BUCKETS]


STAGE = "dev"
READ_ONLY = ("Describe", "List", "Get", "Head")
ROOT = Path(__file__).resolve().parents[1]


def provision(*args: str) -> tuple[str, str]:
    """Run the command; return (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command("provision", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def provision_fails(*args: str) -> tuple[CommandError, str, str]:
    """Run the command expecting CommandError; return it with (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("provision", *args, stdout=out, stderr=err)
    return raised.value, out.getvalue(), err.getvalue()


def teardown(*args: str) -> str:
    """`manage.py teardown` with these arguments: what it printed."""
    out = StringIO()
    call_command("teardown", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def teardown_fails(*args: str) -> tuple[CommandError, str]:
    """`manage.py teardown` refusing: its CommandError and what it printed before."""
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("teardown", *args, stdout=out, stderr=StringIO())
    return raised.value, out.getvalue()


@contextmanager
def recorded_calls() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every DynamoDB and S3 call made inside the block, as (operation, parameters)."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    clients = (aws.dynamodb(), aws.s3(), aws.admin_dynamodb(), aws.admin_s3())
    for client in clients:
        client.meta.events.register("before-parameter-build", record, unique_id="test-record")
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("before-parameter-build", unique_id="test-record")


@contextmanager
def failing(client: BaseClient, operation: str, code: str, status: int) -> Iterator[None]:
    """Make one operation of a client answer with an AWS error instead of reaching moto."""
    service = client.meta.service_model.service_id.hyphenize()
    event = f"before-call.{service}.{operation}"

    def answer(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return AWSResponse("https://injected.invalid", status, {}, None), body

    client.meta.events.register(event, answer, unique_id="test-fail")
    try:
        yield
    finally:
        client.meta.events.unregister(event, unique_id="test-fail")


def mutating(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in calls if not name.startswith(READ_ONLY)]


def table_names() -> list[str]:
    return aws.dynamodb().list_tables()["TableNames"]


def bucket_names() -> list[str]:
    return [b["Name"] for b in aws.s3().list_buckets()["Buckets"]]


def all_names(stage: str = STAGE) -> list[str]:
    return resource_names(stage)


def tag_buckets(stage: str = STAGE, *, tags: dict[str, str] | None = None) -> None:
    """Give a stage's buckets the app/stage tags teardown requires (or `tags`). The bucket
    declaration gains these tags in another branch (issue 22, item 2); until then, and for the
    refusal cases, the tests set them here."""
    tags = {"app": "anchor-deploy", "stage": stage} if tags is None else tags
    for bucket in BUCKETS:
        aws.admin_s3().put_bucket_tagging(
            Bucket=bucket.name(stage),
            Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]},
        )


# S3 answers GetBucketLifecycleConfiguration with the configuration's minimum object size for
# transitions, the x-amz-transition-default-minimum-object-size header: the value the last
# PutBucketLifecycleConfiguration sent in that header, or all_storage_classes_128K when it sent
# none (S3 API Reference, PutBucketLifecycleConfiguration and GetBucketLifecycleConfiguration,
# "TransitionDefaultMinimumObjectSize"; S3 User Guide, "Transitioning objects using Amazon S3
# Lifecycle": the default since September 2024). moto stores no value and always answers
# all_storage_classes_128K, so a bucket whose value differs could never be seen.
TRANSITION_MINIMUM_HEADER = "x-amz-transition-default-minimum-object-size"
S3_DEFAULT_TRANSITION_MINIMUM = "all_storage_classes_128K"


class LifecycleMinimum:
    """Plays S3's TransitionDefaultMinimumObjectSize over moto: `sent` holds what each Put sent
    on the wire (bucket -> header value or None), `live` what each bucket now has."""

    def __init__(self) -> None:
        self.sent: dict[str, str | None] = {}
        self.live: dict[str, str] = {}

    @staticmethod
    def note_bucket(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["lifecycle_bucket"] = params["Bucket"]

    def put(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        # The serialized request: the header as it goes on the wire.
        value = params["headers"].get(TRANSITION_MINIMUM_HEADER)
        self.sent[context["lifecycle_bucket"]] = value
        self.live[context["lifecycle_bucket"]] = value or S3_DEFAULT_TRANSITION_MINIMUM

    def answer(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        bucket = context.get("lifecycle_bucket")
        if "Rules" in parsed and bucket is not None:
            parsed["TransitionDefaultMinimumObjectSize"] = self.live.get(
                bucket, S3_DEFAULT_TRANSITION_MINIMUM
            )


@contextmanager
def s3_lifecycle_minimum() -> Iterator[LifecycleMinimum]:
    """S3's TransitionDefaultMinimumObjectSize on every client made here (see LifecycleMinimum)."""
    stub = LifecycleMinimum()
    events = [
        ("before-parameter-build.s3.PutBucketLifecycleConfiguration", stub.note_bucket),
        ("before-parameter-build.s3.GetBucketLifecycleConfiguration", stub.note_bucket),
        ("before-call.s3.PutBucketLifecycleConfiguration", stub.put),
        ("after-call.s3.GetBucketLifecycleConfiguration", stub.answer),
    ]
    clients = (aws.s3(), aws.admin_s3())
    for client in clients:
        for event, handler in events:
            client.meta.events.register(event, handler, unique_id=f"test-minimum-{event}")
    try:
        yield stub
    finally:
        for client in clients:
            for event, _ in events:
                client.meta.events.unregister(event, unique_id=f"test-minimum-{event}")
