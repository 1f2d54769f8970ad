"""DynamoDB calls and latency of each dashboard read, for tenants of growing size.

Runs against AWS's own DynamoDB Local, started here on a free loopback port and stopped at the
end; only DynamoDB is measured. Usage:

    .venv/bin/python -m benchmarks.page_cost [--sizes 25,2000,10000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from functools import partial

from benchmarks import setup_django

setup_django()

from deployments import repository as deployments  # noqa: E402
from deployments.schemas import DeploymentSchema, DeploymentStatus  # noqa: E402
from infra.core import aws  # noqa: E402
from infra.core.resources import TABLES  # noqa: E402
from infra.local import localaws  # noqa: E402
from projects import repository as projects  # noqa: E402

STATUSES = [DeploymentStatus.READY] * 18 + [DeploymentStatus.ERROR, DeploymentStatus.CANCELED]


class CallCounter:
    """Counts DynamoDB API calls through botocore's event system."""

    def __init__(self) -> None:
        self.calls = 0
        aws.dynamodb().meta.events.register("before-call.dynamodb", self._count)

    def _count(self, **_: object) -> None:
        self.calls += 1


def _fill(user_id: str, size: int) -> str:
    project = projects.create_project(
        user_id, {"name": f"site-{size}", "repo_url": f"https://github.com/bench/site-{size}"}
    )
    start = datetime.now(UTC) - timedelta(days=120)
    step = timedelta(days=120) / max(size, 1)
    batch = (
        DeploymentSchema(
            deployment_id=f"dpl_{size:06d}{i:010d}",
            project_id=project.project_id,
            user_id=user_id,
            commit_sha=f"{i:040x}",
            message=f"commit {i}",
            branch="main",
            status=STATUSES[i % len(STATUSES)],
            created_at=start + step * i,
            updated_at=start + step * i,
        )
        for i in range(size)
    )
    deployments.import_deployments(user_id, project.project_id, batch)
    return project.project_id


def _measure(counter: CallCounter, repeat: int, call) -> tuple[int, float, float]:
    timings = []
    counter.calls = 0
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    return counter.calls, statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,2000,10000", help="deployments per tenant")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per figure")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    service = localaws.start_dynamodb_local()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = service.endpoint
    aws.reset_clients()
    try:
        for table in TABLES:
            aws.dynamodb().create_table(**table.create_kwargs(tags=False))
        counter = CallCounter()
        print(f"DynamoDB Local {service.endpoint}; median / p95 of {args.repeat} runs\n")
        print(f"{'deployments':>11}  {'read':<38} {'calls':>5} {'median ms':>10} {'p95 ms':>8}")
        for size in sizes:
            user_id = f"bench-{size}"
            loaded = time.perf_counter()
            project_id = _fill(user_id, size)
            load_s = time.perf_counter() - loaded
            page = deployments.list_project_deployments(user_id, project_id)
            deep = page.next_cursor
            for _ in range(8):  # the cursor of page 10
                deep = (
                    deployments.list_project_deployments(
                        user_id, project_id, cursor=deep
                    ).next_cursor
                    or deep
                )
            one = page.items[0].deployment_id
            reads = {
                "get_project": partial(projects.get_project, user_id, project_id),
                "list_project_deployments (page 1)": partial(
                    deployments.list_project_deployments, user_id, project_id
                ),
                "list_project_deployments (page 10)": partial(
                    deployments.list_project_deployments, user_id, project_id, cursor=deep
                ),
                "list_project_deployments status=error": partial(
                    deployments.list_project_deployments, user_id, project_id, status="error"
                ),
                "list_project_activity (30 days)": partial(
                    deployments.list_project_activity,
                    user_id,
                    project_id,
                    since=datetime.now(UTC) - timedelta(days=30),
                ),
                "list_user_projects": partial(projects.list_user_projects, user_id),
                "list_user_deployments": partial(deployments.list_user_deployments, user_id),
                "get_deployment": partial(deployments.get_deployment, user_id, one),
            }
            for name, call in reads.items():
                calls, median, p95 = _measure(counter, args.repeat, call)
                print(
                    f"{size:>11}  {name:<38} {calls // args.repeat:>5} {median:>10.2f} {p95:>8.2f}"
                )
            print(f"{'':>11}  (loaded {size} deployments in {load_s:.1f} s)\n")
    finally:
        service.stop()


if __name__ == "__main__":
    main()
