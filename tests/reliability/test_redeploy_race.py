"""A redeploy form posted many times at once queues one deployment (DynamoDB Local: moto's
conditional writes are not atomic across threads)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from deployments import repository as deployments
from projects import repository as projects
from tests.factories import PUSH
from tests.reliability.conftest import scale

pytestmark = [
    pytest.mark.contract,
    pytest.mark.usefixtures("aws_stage"),
    pytest.mark.parametrize("aws_stage", ["ddblocal"], indirect=True),
]


def test_one_request_key_posted_by_eight_threads_at_once_queues_exactly_one_deployment():
    project = projects.create_project(
        "racer", {"name": "raced", "repo_url": "https://github.com/r/raced"}
    )
    rounds = scale(ci=10, full=50)
    for round_ in range(rounds):
        key = f"race-key-{round_:04d}-0123456789"
        barrier = threading.Barrier(8)

        def post(_: int, key: str = key, barrier: threading.Barrier = barrier):
            barrier.wait()
            return deployments.create_deployment_once(
                "racer", project.project_id, PUSH, request_key=key
            )

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(post, range(8)))
        assert sum(created for _, created in results) == 1, results
        assert len({d.deployment_id for d, _ in results}) == 1
    stored = deployments.list_project_deployments("racer", project.project_id, limit=100)
    assert len(stored.items) == rounds
    print(f"\n{rounds} rounds of 8 concurrent requests with one key: {rounds} deployments")
