"""Build logs and artifacts in S3: the tail of a log, archived and missing logs, presigned links."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from deployments import artifactstore, logstore
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.errors import Unavailable, ValidationError
from infra.core.resources import ARTIFACTS, LOGS, artifacts_prefix, log_key
from infra.local import processes

# S3 is moto in-process on every engine, so one engine is enough here.
pytestmark = pytest.mark.parametrize("aws_stage", ["moto"], indirect=True)


def _deployment(deployment_id: str = "dpl_0123456789abcdef") -> DeploymentSchema:
    moment = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
    return DeploymentSchema(
        deployment_id=deployment_id,
        project_id="prj_0123456789abcdef",
        user_id="usr_a",
        commit_sha="a1b2c3d",
        branch="main",
        status=DeploymentStatus.READY,
        created_at=moment,
        updated_at=moment,
    )


@pytest.fixture
def deployment(aws_stage: str) -> DeploymentSchema:
    return _deployment()


@pytest.fixture
def s3_calls(aws_stage: str) -> Iterator[list[dict[str, Any]]]:
    """Every S3 call made during the test: its operation name and the request's headers."""
    calls: list[dict[str, Any]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append({"operation": model.name, "headers": dict(params.get("headers", {}))})

    events = aws.s3().meta.events
    events.register("before-call.s3.*", record, unique_id="anchor-test-s3-calls")
    yield calls
    events.unregister("before-call.s3.*", unique_id="anchor-test-s3-calls")


def _put_log(deployment: DeploymentSchema, body: bytes, **extra: Any) -> None:
    aws.s3().put_object(
        Bucket=LOGS.name(),
        Key=log_key(deployment.project_id, deployment.deployment_id),
        Body=body,
        **extra,
    )


def test_a_short_log_is_shown_whole(deployment):
    logstore.put_build_log(deployment, "Cloning\nInstalling\nBuild succeeded\n")

    log = logstore.get_build_log(deployment.user_id, deployment)

    assert log.available and not log.archived and not log.missing
    assert log.lines == ("Cloning", "Installing", "Build succeeded")
    assert log.size == len(b"Cloning\nInstalling\nBuild succeeded\n")
    assert not log.truncated
    assert log.storage_class == "STANDARD"
    assert log.last_modified is not None


def test_a_big_log_shows_its_last_200_lines_from_a_ranged_read_of_its_tail(deployment, s3_calls):
    text = "".join(f"step {n:05d}: compiling module {n}\n" for n in range(40_000))
    logstore.put_build_log(deployment, text)
    s3_calls.clear()

    log = logstore.get_build_log(deployment.user_id, deployment)

    assert log.lines == tuple(f"step {n:05d}: compiling module {n}" for n in range(39_800, 40_000))
    assert log.truncated
    assert log.size == len(text.encode())
    gets = [c for c in s3_calls if c["operation"] == "GetObject"]
    assert len(gets) == 1
    first, last = gets[0]["headers"]["Range"].removeprefix("bytes=").split("-")
    assert int(last) - int(first) + 1 == logstore.LOG_TAIL_BYTES < log.size


def test_a_tail_that_starts_inside_a_character_shows_only_whole_lines(deployment):
    body = ("é" * 50 + "\n").encode() * 40
    logstore.put_build_log(deployment, body.decode())

    log = logstore.get_build_log(deployment.user_id, deployment, tail_bytes=len(body) // 2 + 1)

    assert log.truncated
    assert log.lines and all(line == "é" * 50 for line in log.lines)


def test_colour_codes_are_removed_from_log_lines(deployment):
    logstore.put_build_log(deployment, "\x1b[32m✓ compiled\x1b[0m\r\n\x1b[1;31merror\x1b[0m\n")

    assert logstore.get_build_log(deployment.user_id, deployment).lines == (
        "✓ compiled",
        "error",
    )


def test_an_empty_log_is_available_with_no_lines(deployment):
    logstore.put_build_log(deployment, "")

    log = logstore.get_build_log(deployment.user_id, deployment)

    assert log.available and log.lines == () and log.size == 0


@pytest.mark.parametrize("storage_class", ["GLACIER", "DEEP_ARCHIVE"])
def test_an_archived_log_is_reported_with_its_storage_class_without_reading_it(
    deployment, s3_calls, storage_class
):
    _put_log(deployment, b"old build output\n" * 100, StorageClass=storage_class)
    s3_calls.clear()

    log = logstore.get_build_log(deployment.user_id, deployment)

    assert log.archived and not log.available and not log.missing
    assert log.storage_class == storage_class
    assert log.lines == ()
    assert log.size == len(b"old build output\n") * 100
    assert [c["operation"] for c in s3_calls] == ["HeadObject"]


def test_a_log_that_was_never_written_is_missing(deployment):
    log = logstore.get_build_log(deployment.user_id, deployment)

    assert log.missing and log.lines == () and log.size == 0


def test_the_log_link_downloads_the_whole_log_as_a_named_attachment(deployment):
    logstore.put_build_log(deployment, "line one\nline two\n")

    response = requests.get(
        logstore.build_log_url(deployment.user_id, deployment), timeout=5
    )  # moto answers

    assert response.status_code == 200
    assert response.text == "line one\nline two\n"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="dpl_0123456789abcdef-build.log"'
    )


def test_links_are_signed_with_sigv4_for_as_long_as_settings_say(deployment, settings):
    # S3 refuses SigV2 (AWSAccessKeyId/Signature/Expires) links to buckets made since 2020.
    settings.ANCHOR_PRESIGN_SECONDS = 120
    artifactstore.put_artifact(deployment, "index.html", b"<h1>hi</h1>")

    for url in (
        logstore.build_log_url(deployment.user_id, deployment),
        artifactstore.list_artifacts(deployment.user_id, deployment)[0].url,
    ):
        query = parse_qs(urlsplit(url).query)
        assert query.get("X-Amz-Algorithm") == ["AWS4-HMAC-SHA256"], url
        assert query["X-Amz-Expires"] == ["120"]
        assert "/ap-southeast-1/s3/" in query["X-Amz-Credential"][0]


def test_the_log_link_lasts_as_long_as_asked(deployment):
    url = logstore.build_log_url(deployment.user_id, deployment, expires_in=30)

    assert parse_qs(urlsplit(url).query).get("X-Amz-Expires") == ["30"], url


def test_artifacts_are_listed_with_sizes_and_working_links(deployment):
    artifactstore.put_artifact(deployment, "index.html", b"<h1>hi</h1>", content_type="text/html")
    artifactstore.put_artifact(deployment, "static/app.js", b"console.log(1)\n" * 10)
    other = _deployment("dpl_fedcba9876543210")
    artifactstore.put_artifact(other, "index.html", b"someone else's")

    artifacts = artifactstore.list_artifacts(deployment.user_id, deployment)

    assert [(a.name, a.size) for a in artifacts] == [("index.html", 11), ("static/app.js", 150)]
    prefix = artifacts_prefix(deployment.project_id, deployment.deployment_id)
    assert [a.key for a in artifacts] == [prefix + "index.html", prefix + "static/app.js"]
    assert all(a.last_modified.tzinfo is not None for a in artifacts)
    response = requests.get(artifacts[1].url, timeout=5)
    assert response.content == b"console.log(1)\n" * 10
    assert response.headers["Content-Disposition"] == 'attachment; filename="app.js"'


def test_a_deployment_without_artifacts_lists_none(deployment):
    assert artifactstore.list_artifacts(deployment.user_id, deployment) == []


def test_artifacts_are_listed_across_many_pages_of_the_bucket(deployment):
    for n in range(1005):
        aws.s3().put_object(
            Bucket=ARTIFACTS.name(),
            Key=artifacts_prefix(deployment.project_id, deployment.deployment_id) + f"f{n:04d}",
            Body=b"x",
        )

    assert (
        len(artifactstore.list_artifacts(deployment.user_id, deployment))
        == artifactstore.MAX_ARTIFACTS
    )
    assert len(artifactstore.list_artifacts(deployment.user_id, deployment, limit=2000)) == 1005


@pytest.mark.parametrize("name", ["", "/etc/passwd", "../other/x", "a//b", "a/./b", "a\\b"])
def test_an_artifact_name_that_escapes_its_prefix_is_refused(deployment, name):
    with pytest.raises(ValidationError) as error:
        artifactstore.put_artifact(deployment, name, b"x")

    assert "name" in error.value.errors


def test_a_missing_bucket_is_an_outage_not_a_missing_record(deployment):
    aws.s3().delete_bucket(Bucket=ARTIFACTS.name())

    with pytest.raises(Unavailable, match="provisioned"):
        artifactstore.list_artifacts(deployment.user_id, deployment)


@pytest.fixture
def unreachable_s3(aws_stage: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # A loopback port nobody listens on: the connection is refused at once.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{processes.free_port()}")
    aws.reset_clients()
    yield
    aws.reset_clients()


@pytest.mark.parametrize(
    "call",
    [
        lambda d: logstore.get_build_log(d.user_id, d),
        lambda d: artifactstore.list_artifacts(d.user_id, d),
        lambda d: logstore.put_build_log(d, "x"),
        lambda d: artifactstore.put_artifact(d, "a.txt", b"x"),
    ],
    ids=["get_build_log", "list_artifacts", "put_build_log", "put_artifact"],
)
def test_unreachable_s3_raises_unavailable(deployment, unreachable_s3, call):
    with pytest.raises(Unavailable):
        call(deployment)
