"""/healthz and /readyz: outside the login, small JSON, DynamoDB and S3 probed with short
timeouts and the answer cached; no tenant data in either."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from django.test import Client

from anchor_site import health
from infra.core import aws, probes
from infra.core.resources import BUCKETS, TABLES

pytestmark = pytest.mark.parametrize("aws_stage", ["moto"], indirect=True)


@pytest.fixture(autouse=True)
def fresh_readiness() -> Iterator[None]:
    health.forget_readiness()
    yield
    health.forget_readiness()


def names() -> list[str]:
    return sorted([t.name() for t in TABLES] + [b.name() for b in BUCKETS])


def test_healthz_answers_without_a_login_or_any_aws_call(aws_stage, dynamodb_calls):
    response = Client().get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert dynamodb_calls == []


def test_readyz_is_200_when_both_tables_and_both_buckets_answer(aws_stage):
    response = Client().get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checked": names()}
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_is_503_naming_what_failed(aws_stage):
    logs = next(b for b in BUCKETS if b.role == "logs").name()
    aws.s3().delete_bucket(Bucket=logs)
    aws.dynamodb().delete_table(TableName=TABLES[0].name())

    response = Client().get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == {TABLES[0].name(): "ResourceNotFoundException", logs: "404"}


def test_readyz_answers_from_a_result_at_most_ten_seconds_old(aws_stage, monkeypatch, settings):
    calls: list[float] = []
    real = probes.readiness

    def counted(**kwargs):
        calls.append(time.monotonic())
        return real(**kwargs)

    monkeypatch.setattr(probes, "readiness", counted)
    assert settings.READINESS_CACHE_SECONDS <= 10
    for _ in range(5):
        assert Client().get("/readyz").status_code == 200
    assert len(calls) == 1

    settings.READINESS_CACHE_SECONDS = 0
    Client().get("/readyz")
    assert len(calls) == 2


def test_readyz_gives_up_on_a_silent_endpoint_within_its_timeout(aws_stage, monkeypatch):
    # A listener that never answers: the connection opens, the response never comes.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
        aws.reset_clients()
        started = time.monotonic()
        results = probes.readiness(
            tables=[t.name() for t in TABLES],
            buckets=[b.name() for b in BUCKETS],
            region="ap-southeast-1",
            timeout=0.5,
        )
        elapsed = time.monotonic() - started
    finally:
        silent.close()
        aws.reset_clients()

    assert set(results) == set(names())
    assert all(problem != "ok" for problem in results.values()), results
    assert elapsed < 2.0  # four probes in parallel, each bounded by its 0.5 s timeout


def test_the_probe_timeouts_are_at_most_two_seconds(aws_stage, settings):
    client = probes.probe_client("dynamodb", "ap-southeast-1", settings.READINESS_TIMEOUT_SECONDS)

    assert client.meta.config.connect_timeout <= 2
    assert client.meta.config.read_timeout <= 2
    assert client.meta.config.retries["total_max_attempts"] == 1
