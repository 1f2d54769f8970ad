"""provision's mistakes: one clear line and a non-zero exit, never a traceback (moto)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.core import aws
from tests.provisioning import (
    ROOT,
    STAGE,
    failing,
    provision_fails,
    recorded_calls,
    table_names,
)

# --- mistakes: one clear line, non-zero exit ------------------------------------------------


@pytest.mark.parametrize("stage", ["Dev", "1dev", "dev_1", "a-stage-name-longer-than-20", ""])
def test_an_invalid_stage_is_refused_before_any_aws_call(
    stage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL", "http://127.0.0.1:9"
    )  # were a call made, it goes nowhere
    aws.reset_clients()

    with recorded_calls() as calls:
        error, _, _ = provision_fails(f"--stage={stage}")

    aws.reset_clients()
    assert calls == []

    assert str(error).startswith("invalid stage")
    assert "lower-case letters, digits and '-'" in str(error)


def test_manage_py_reports_a_mistake_in_one_line_without_a_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "provision", "--stage", "Not_A_Stage"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "CommandError: invalid stage 'Not_A_Stage': use lower-case letters, digits and '-', "
        "starting with a letter, at most 20 characters"
    ]
    assert "Traceback" not in result.stderr


def test_an_invalid_bucket_suffix_is_refused(mocked_aws: None, settings: Any) -> None:
    settings.ANCHOR_BUCKET_SUFFIX = "Not_Valid"

    error, _, _ = provision_fails("--stage", STAGE)

    assert str(error) == (
        "bucket name 'anchor-deploy-dev-artifacts-Not_Valid' is not a valid S3 name "
        "(check ANCHOR_BUCKET_SUFFIX)"
    )
    assert table_names() == []


def test_missing_credentials_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask the network
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    aws.reset_clients()
    try:
        error, _, _ = provision_fails("--stage", STAGE)
    finally:
        aws.reset_clients()

    assert str(error) == (
        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
    )


def test_an_unreachable_endpoint_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{port}")
    aws.reset_clients()
    try:
        error, _, _ = provision_fails("--stage", STAGE)
    finally:
        aws.reset_clients()

    assert str(error) == (
        f"cannot reach http://127.0.0.1:{port}/: check the network, or that the local service is "
        "running and AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3 point at it"
    )


def test_access_denied_is_one_clear_line(mocked_aws: None) -> None:
    with failing(aws.admin_dynamodb(), "DescribeTable", "AccessDeniedException", 400):
        error, _, _ = provision_fails("--stage", STAGE)

    assert str(error) == (
        "access denied: AWS refused DescribeTable (AccessDeniedException): "
        "injected AccessDeniedException"
    )


def test_a_bucket_name_owned_by_another_account_is_one_clear_line(mocked_aws: None) -> None:
    with failing(aws.admin_s3(), "CreateBucket", "BucketAlreadyExists", 409):
        error, _, _ = provision_fails("--stage", STAGE)

    assert str(error) == (
        "bucket name anchor-deploy-dev-artifacts is owned by another AWS account (S3 names are "
        "global); set ANCHOR_BUCKET_SUFFIX to choose other names"
    )


def test_a_bucket_these_credentials_cannot_see_is_one_clear_line(mocked_aws: None) -> None:
    with failing(aws.admin_s3(), "HeadBucket", "403", 403):
        error, _, _ = provision_fails("--stage", STAGE, "--check")

    assert str(error).startswith(
        "bucket anchor-deploy-dev-artifacts exists but these credentials cannot use it"
    )
    assert "\n" not in str(error)
