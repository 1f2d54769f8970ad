"""The log viewer tests' shared data: deployments with logs, recorded S3 reads, page parsing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest
from django.urls import reverse

from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.resources import LOGS, log_key
from projects import repository as projects
from tests.factories import PUSH, TENANT

S = DeploymentStatus
CHUNK = 1000  # a small chunk, so a few KB of log crosses many chunk boundaries


def url(page: str, deployment: DeploymentSchema, user_id: str = TENANT) -> str:
    return reverse(f"admin:deployments_deployment_{page}", args=[user_id, deployment.deployment_id])


@pytest.fixture
def make(aws_stage: str):
    """make(status, tenant=TENANT): a deployment of a project of that tenant, in that status."""
    made: dict[str, Any] = {}

    def build(status: S = S.READY, tenant: str = TENANT) -> DeploymentSchema:
        if tenant not in made:
            made[tenant] = projects.create_project(
                tenant, {"name": "storefront", "repo_url": "https://github.com/a/storefront"}
            )
        deployment = deployments.create_deployment(tenant, made[tenant].project_id, PUSH)
        if status is S.QUEUED:
            return deployment
        deployments.update_deployment_status(deployment.deployment_id, S.BUILDING)
        if status is not S.BUILDING:
            deployments.update_deployment_status(deployment.deployment_id, status)
        return deployments.get_deployment(tenant, deployment.deployment_id)

    return build


@pytest.fixture
def s3_gets(aws_stage: str) -> Iterator[list[dict[str, Any]]]:
    """The S3 calls made during the test, with each GetObject's byte range."""
    calls: list[dict[str, Any]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        headers = dict(params.get("headers", {}))
        calls.append({"operation": model.name, "range": headers.get("Range", "")})

    events = aws.s3().meta.events
    events.register("before-call.s3.*", record, unique_id="anchor-test-log-gets")
    yield calls
    events.unregister("before-call.s3.*", unique_id="anchor-test-log-gets")


def put_log(deployment: DeploymentSchema, body: bytes, **extra: Any) -> str:
    """Store the log's bytes as they are; returns the object's ETag."""
    return aws.s3().put_object(
        Bucket=LOGS.name(),
        Key=log_key(deployment.project_id, deployment.deployment_id),
        Body=body,
        **extra,
    )["ETag"]


def range_sizes(calls: list[dict[str, Any]]) -> list[int]:
    sizes = []
    for call in calls:
        if call["operation"] == "GetObject":
            first, _, last = call["range"].removeprefix("bytes=").partition("-")
            sizes.append(int(last) if not first else int(last) - int(first) + 1)
    return sizes


def numbered_lines(text: str) -> list[tuple[int, str]]:
    """(number, text) of each numbered line a viewer page shows."""
    rows = re.findall(
        r'<span class="anchor-ll" id="L(\d+)">'
        r'<a class="anchor-ln" href="#L\1">\1</a>(.*?)\n</span>',
        text,
    )
    return [(int(n), unescape(re.sub(r"<[^>]+>", "", body))) for n, body in rows]


def link(text: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', text)
    return unescape(found.group(1)) if found else None


def lines_of(count: int) -> bytes:
    # Line lengths vary (and include two-byte characters), so boundaries fall anywhere.
    return "".join(
        f"step {n} {'é' * (n % 7)}{'x' * (n % 13)}\n" for n in range(1, count + 1)
    ).encode()
