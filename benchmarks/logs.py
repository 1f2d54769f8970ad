"""The log viewer on a 200 MB build log: bytes read and time to open line 1,000,000.

Runs against moto's S3 server (started here on a free loopback port, stopped at the end; its
DynamoDB holds the deployment), through Django's test client as a Support user, so each figure
is a real request path: the view, the tenant-scoped read, the ranged GETs. S3 bytes are counted
from every GetObject's Content-Length. Three ways to reach line 1,000,000:

- a permalink (the chunk link the viewer made, carrying the signed line number): one request,
  one ranged GET of at most 256 KiB, whatever the size of the log;
- `?goto=1000000` from nothing: the line numbers before it must be counted, so the request reads
  settings.ANCHOR_LOG_SCAN_BYTES and links on ("Continue"), until it lands on the line;
- "Jump to first error", the error being line 1,000,000: the same bounded scan with the patterns.

    .venv/bin/python -m benchmarks.logs                # 200 MB, 1,200,000 lines
    .venv/bin/python -m benchmarks.logs --megabytes 20 --target 100000
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from html import unescape
from typing import Any
from urllib.parse import urlencode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anchor_site.settings")

from benchmarks import setup_django

setup_django()

from django.test.utils import setup_test_environment  # noqa: E402


class S3Meter:
    """GetObject calls and the bytes they returned."""

    def __init__(self) -> None:
        self.gets = 0
        self.bytes = 0
        self.largest = 0

    def reset(self) -> None:
        self.gets = self.bytes = self.largest = 0

    def after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "GetObject":
            length = int(parsed.get("ContentLength", 0) or 0)
            self.gets += 1
            self.bytes += length
            self.largest = max(self.largest, length)


def write_log(path: str, megabytes: int, target: int) -> tuple[int, int]:
    """A build log of about `megabytes` MB whose line `target` is an npm error (the first)."""
    size = megabytes * 1000 * 1000
    lines = 0
    with open(path, "wb") as out:
        written = 0
        while written < size:
            lines += 1
            if lines == target:
                line = b"\x1b[31mnpm ERR!\x1b[0m code ELIFECYCLE: build failed at line %d\n" % lines
            else:
                line = (
                    b"[%02d:%02d:%02d.%03d] \x1b[32m\xe2\x9c\x93\x1b[0m transforming "
                    b"src/components/feature-%05d/index.tsx (%d modules, %d kB)   \n"
                    % (
                        lines // 3600 % 24,
                        lines // 60 % 60,
                        lines % 60,
                        lines % 1000,
                        lines % 99_991,
                        lines % 997,
                        lines % 313,
                    )
                )
            out.write(line)
            written += len(line)
    return written, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--target", type=int, default=1_000_000, help="the line to open")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--no-scans",
        action="store_true",
        help="only the permalink (made from the file written here), not the two bounded scans",
    )
    args = parser.parse_args()

    import boto3
    from botocore.config import Config
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_databases
    from django.urls import reverse

    from deployments import logread
    from deployments import repository as deployments
    from deployments.schemas import DeploymentStatus
    from infra.core import aws
    from infra.core.resources import BUCKETS, LOGS, TABLES, log_key
    from infra.local import localaws
    from projects import repository as projects

    server = localaws.start_moto_server()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint
    try:
        setup_test_environment()
        setup_databases(verbosity=0, interactive=False)
        call_command("migrate", verbosity=0)
        aws.reset_clients()
        for table in TABLES:
            aws.dynamodb().create_table(**table.create_kwargs(tags=False))
        for bucket in BUCKETS:
            aws.s3().create_bucket(
                Bucket=bucket.name(),
                CreateBucketConfiguration={"LocationConstraint": aws.s3().meta.region_name},
            )
        project = projects.create_project(
            "bench-logs", {"name": "big-log", "repo_url": "https://github.com/bench/big-log"}
        )
        deployment = deployments.create_deployment(
            "bench-logs", project.project_id, {"commit_sha": "abcdef1234567", "message": "big"}
        )
        deployments.update_deployment_status(deployment.deployment_id, DeploymentStatus.BUILDING)
        deployment = deployments.update_deployment_status(
            deployment.deployment_id, DeploymentStatus.ERROR
        )
        with tempfile.NamedTemporaryFile(suffix=".log") as file:
            started = time.perf_counter()
            size, lines = write_log(file.name, args.megabytes, args.target)
            with open(file.name, "rb") as written:
                target_offset = 0
                for _ in range(args.target - 1):
                    target_offset += len(written.readline())
            # One PUT by a client of its own with a long timeout (the console's clients give up
            # after 2 s, and moto takes longer than that to store 200 MB).
            uploader = boto3.client(
                "s3",
                endpoint_url=server.endpoint,
                region_name=aws.s3().meta.region_name,
                config=Config(read_timeout=600, retries={"max_attempts": 1}),
            )
            with open(file.name, "rb") as body:
                uploader.put_object(
                    Bucket=LOGS.name(),
                    Key=log_key(deployment.project_id, deployment.deployment_id),
                    Body=body,
                )
            setup_seconds = time.perf_counter() - started
        print(
            f"log viewer on moto's S3 server ({server.endpoint}): a log of {size:,} bytes, "
            f"{lines:,} lines, line {args.target:,} the first error (written and uploaded in "
            f"{setup_seconds:.1f}s)"
        )
        print(
            f"  chunk at most {logread.LOG_CHUNK_BYTES:,} bytes; a scan reads at most "
            f"{settings.ANCHOR_LOG_SCAN_BYTES:,} bytes a request (ANCHOR_LOG_SCAN_BYTES)"
        )

        meter = S3Meter()
        aws.s3().meta.events.register("after-call.s3", meter.after)
        user = User.objects.create_user("bench-logs", is_staff=True)
        user.groups.add(Group.objects.get(name="Support"))
        client = Client()
        client.force_login(user)
        viewer = reverse(
            "admin:deployments_deployment_log_view",
            args=["bench-logs", deployment.deployment_id],
        )

        def follow_scan(query: str) -> tuple[str, int, float]:
            """Request `query`, follow "Continue" until the redirect to the line's chunk."""
            meter.reset()
            requests = 0
            started = time.perf_counter()
            target = f"{viewer}?{query}"
            while True:
                response = client.get(target)
                requests += 1
                if response.status_code == 302:
                    target = response["Location"]
                    break
                assert response.status_code == 200, response.status_code
                found = re.search(
                    r'<a href="([^"]+)" class="anchor-logview-continue">', response.content.decode()
                )
                assert found, "the scan ended without reaching the line"
                target = unescape(found.group(1))
            page = client.get(target)
            requests += 1
            seconds = time.perf_counter() - started
            assert f'id="L{args.target}"' in page.content.decode()
            return target, requests, seconds

        scans: list[tuple[str, tuple[int, int, int, float]]] = []
        if args.no_scans:
            from web.deployments.links import position_query

            etag = aws.s3().head_object(
                Bucket=LOGS.name(), Key=log_key(deployment.project_id, deployment.deployment_id)
            )["ETag"]
            query = position_query(
                log_key(deployment.project_id, deployment.deployment_id),
                etag,
                "start",
                logread.LogPosition(target_offset, args.target),
            )
            permalink = f"{viewer}?{urlencode(query)}#L{args.target}"
        else:
            permalink, requests, seconds = follow_scan(f"goto={args.target}")
            scans.append(
                (f"?goto={args.target} from nothing", (requests, meter.gets, meter.bytes, seconds))
            )
            _, requests, seconds = follow_scan("error=1")
            scans.append(("jump to first error", (requests, meter.gets, meter.bytes, seconds)))
        assert f"start={target_offset}&" in permalink, permalink

        times: list[float] = []
        for _ in range(args.repeat):
            meter.reset()
            started = time.perf_counter()
            page = client.get(permalink)
            times.append(time.perf_counter() - started)
            assert page.status_code == 200 and f'id="L{args.target}"' in page.content.decode()
        warm_gets, warm_bytes, warm_largest = meter.gets, meter.bytes, meter.largest

        # moto's own price of one ranged GET of this object (it copies the whole object to
        # answer a range; S3 does not): the floor under every figure above.
        raw: list[float] = []
        key = log_key(deployment.project_id, deployment.deployment_id)
        for _ in range(args.repeat):
            started = time.perf_counter()
            aws.s3().get_object(Bucket=LOGS.name(), Key=key, Range="bytes=0-262143")["Body"].read()
            raw.append(time.perf_counter() - started)

        print(f"  open line {args.target:,}:")
        print(
            f"    by its permalink (signed line number):  1 request, {warm_gets} GetObject, "
            f"{warm_bytes:,} bytes read (largest range {warm_largest:,}), "
            f"median {statistics.median(times) * 1000:.0f} ms of {args.repeat} "
            f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})"
        )
        for label, (requests, gets, read, seconds) in scans:
            print(
                f"    {label + ':':41} {requests} requests (Continue links), {gets} GetObject, "
                f"{read:,} bytes read, {seconds:.1f} s in all "
                f"({read / max(seconds, 1e-9) / 1e6:.0f} MB/s)"
            )
        print(
            f"    (moto's server alone: one ranged GET of 256 KiB of this object takes "
            f"{statistics.median(raw) * 1000:.0f} ms, median of {args.repeat}: it copies the whole "
            "object for every range)"
        )
        print(f"  load average during the run: {os.getloadavg()[0]:.1f} (2 cores, shared)")
        return 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
