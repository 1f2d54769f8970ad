"""Peak memory of the process serving a streamed CSV export of a tenant's deployments.

Loads one tenant with one project of N deployments (default 100,000) into AWS's own DynamoDB
Local (in memory, started here on a free loopback port, stopped at the end), then requests
`admin:tenant_export?format=csv` through Django's test client as a Support user and reads the
streamed response chunk by chunk, as a WSGI server would. Prints the rows, bytes, DynamoDB calls,
throughput, and the process's resident memory before the export and its peak during it (Linux's
VmHWM, reset through /proc/self/clear_refs just before). `--trace` streams a second time under
tracemalloc for the peak of Python allocations (slower, so timed apart).

    .venv/bin/python -m benchmarks.export                 # 100,000 deployments
    .venv/bin/python -m benchmarks.export --size 1000000  # a million
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")

from benchmarks import setup_django

setup_django()

from django.test.utils import setup_test_environment  # noqa: E402


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="deployments (default 100,000)")
    parser.add_argument("--trace", action="store_true", help="also trace Python allocations")
    args = parser.parse_args()

    from infra.local import dynamodblocal

    service = dynamodblocal.start_dynamodb_local()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = service.endpoint
    try:
        return run(args.size, trace=args.trace)
    finally:
        service.stop()


def run(size: int, *, trace: bool) -> int:
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_databases
    from django.urls import reverse

    from deployments import repository as deployments
    from deployments.schemas import DeploymentSchema, DeploymentStatus
    from infra.core import aws
    from infra.core.resources import TABLES
    from projects import repository as projects

    setup_test_environment()
    setup_databases(verbosity=0, interactive=False)
    aws.reset_clients()
    dynamodb = aws.dynamodb()
    calls: list[str] = []
    dynamodb.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    for table in TABLES:
        dynamodb.create_table(**table.create_kwargs(tags=False))
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench", is_staff=True)
    user.groups.add(Group.objects.get(name="Support"))
    client = Client()
    client.force_login(user)

    user_id = "export-bench"
    project = projects.create_project(
        user_id, {"name": "big-site", "repo_url": "https://github.com/bench/big-site"}
    )
    end = datetime.now(UTC) - timedelta(minutes=5)
    step = timedelta(days=365) / size

    def history() -> Iterator[DeploymentSchema]:
        for i in range(size):
            moment = end - step * (size - i)
            yield DeploymentSchema(
                deployment_id=f"dpl_{i:016d}",
                project_id=project.project_id,
                user_id=user_id,
                commit_sha=f"{i:040x}",
                message=f"Deploy commit number {i} of the big site",
                branch="main",
                status=DeploymentStatus.ERROR if i % 20 == 0 else DeploymentStatus.READY,
                error="exit code 1" if i % 20 == 0 else None,
                created_at=moment,
                updated_at=moment,
            )

    began = time.perf_counter()
    deployments.import_deployments(user_id, project.project_id, history())
    print(f"loaded {size:,} deployments in {time.perf_counter() - began:.1f} s", flush=True)

    url = reverse("admin:tenant_export", args=[user_id]) + "?format=csv"

    def stream() -> tuple[int, int]:
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        lines = size_bytes = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
            size_bytes += len(chunk)
        return lines - 1, size_bytes  # less the header

    gc.collect()
    calls.clear()
    rss_before = _status_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM, the peak resident size
    began = time.perf_counter()
    rows, size_bytes = stream()
    took = time.perf_counter() - began
    rss_peak = _status_kib("VmHWM")
    print(
        f"export of {rows:,} deployments: {size_bytes / 1e6:,.1f} MB of CSV in {took:.1f} s "
        f"({rows / took:,.0f} rows/s), {calls.count('Query'):,} Queries "
        f"({', '.join(sorted(set(calls)))})"
    )
    grew = (rss_peak - rss_before) / 1024
    print(
        f"worker memory: resident {rss_before / 1024:,.1f} MiB before, peak "
        f"{rss_peak / 1024:,.1f} MiB during the export (+{grew:,.1f} MiB)"
    )
    if trace:
        tracemalloc.start()
        stream()
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"Python allocations peaked at {traced_peak / 2**20:,.1f} MiB while streaming")
    return 0 if rows == size else 1


if __name__ == "__main__":
    raise SystemExit(main())
