"""A 25-item Query in a 10,000-item partition: AWS's DynamoDB Local against moto's server.

Both engines are started here on free loopback ports (through infra.local.localaws, as `make run`
does) and stopped at the end; the app's own client (infra.core.aws) talks to each over HTTP, so the
figures compare the engines, not the transport. Usage:

    .venv/bin/python -m benchmarks.query_engines [--items 10000] [--repeat 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

from benchmarks import setup_django

setup_django()

from infra.core import aws  # noqa: E402
from infra.core.resources import DEPLOYMENTS  # noqa: E402
from infra.local import dynamodblocal, localaws  # noqa: E402
from infra.local.processes import LocalService  # noqa: E402

PROJECT_ID = "prj_benchmarkpartition"


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def load(table: str, items: int) -> None:
    """`items` deployments of one project, newest last, in batches of 25."""
    dynamodb = aws.dynamodb()
    for start in range(0, items, 25):
        requests = []
        for n in range(start, min(start + 25, items)):
            created = f"2025-01-01T00:00:00.000Z#{n:08d}"
            requests.append(
                {
                    "PutRequest": {
                        "Item": {
                            "PK": {"S": PROJECT_ID},
                            "SK": {"S": f"DEPLOYMENT#{created}#dpl_{n:016d}"},
                            "deploymentId": {"S": f"dpl_{n:016d}"},
                            "userId": {"S": "usr_benchmark"},
                            "createdAt": {"S": created},
                            "status": {"S": "ready"},
                            "commitSha": {"S": f"{n:040x}"},
                            "message": {"S": "Bump dependencies and fix the build " * 3},
                        }
                    }
                }
            )
        pending = {table: requests}
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending)["UnprocessedItems"]


def newest_page(table: str) -> None:
    page = aws.dynamodb().query(
        TableName=table,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues={":pk": {"S": PROJECT_ID}, ":prefix": {"S": "DEPLOYMENT#"}},
        ScanIndexForward=False,
        Limit=25,
    )
    assert len(page["Items"]) == 25


def measure(name: str, start: Callable[[], LocalService], items: int, repeat: int) -> None:
    began = time.perf_counter()
    service = start()
    started = time.perf_counter() - began
    try:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = service.endpoint
        aws.reset_clients()
        aws.dynamodb().list_tables()  # the client is built before anything is timed
        kwargs = DEPLOYMENTS.create_kwargs("bench", tags=False)
        created = timed(lambda: aws.dynamodb().create_table(**kwargs))
        loaded = timed(lambda: load(kwargs["TableName"], items))
        newest_page(kwargs["TableName"])  # warm-up
        samples = sorted(timed(lambda: newest_page(kwargs["TableName"])) for _ in range(repeat))
    finally:
        service.stop()
    p90 = samples[int(0.9 * (len(samples) - 1))]
    print(
        f"{name:<15} start {started:5.2f}s  create table (2 GSIs) {created * 1000:6.0f} ms  "
        f"load {items} items {loaded:6.1f}s  query 25 newest: median "
        f"{statistics.median(samples) * 1000:6.1f} ms, p90 {p90 * 1000:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=50)
    options = parser.parse_args()
    print(f"Query Limit=25, newest first, in one partition of {options.items} items")
    if dynamodblocal.java_available():
        measure("DynamoDB Local", dynamodblocal.start_dynamodb_local, options.items, options.repeat)
    else:
        print(f"DynamoDB Local  skipped: {dynamodblocal.java_missing_reason()}")
    measure("moto server", localaws.start_moto_server, options.items, options.repeat)


if __name__ == "__main__":
    main()
