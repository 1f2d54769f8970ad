"""Readiness probes of the data plane: DescribeTable and HeadBucket with short timeouts.

The clients come from the one boto3 session of infra.core.aws (same credentials, endpoints and
parsed models) but with a probe's own config: one attempt, connect and read timeouts of at most
two seconds, so a health check answers quickly even when AWS does not.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra.core import aws


def probe_client(service: str, region: str, timeout: float) -> BaseClient:
    """A fresh client for `service` that gives up after `timeout` seconds to connect and as
    many to read, without retrying (a probe's answer must come fast, and fresh)."""
    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    if service == "s3":
        config = config.merge(aws.S3_CONFIG)
    with aws._lock:  # the shared session is not thread-safe; see aws._client
        return aws._session().client(service, region_name=region, config=config)


def _failure(error: Exception) -> str:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") or "error"
    return type(error).__name__


def readiness(
    *, tables: list[str], buckets: list[str], region: str, timeout: float
) -> dict[str, str]:
    """{resource name: "ok" or what went wrong} for every table (DescribeTable) and bucket
    (HeadBucket), probed in parallel so the whole check takes about one timeout at most."""
    dynamodb = probe_client("dynamodb", region, timeout)
    s3 = probe_client("s3", region, timeout)

    def check(call: Any, **kwargs: str) -> str:
        try:
            call(**kwargs)
        except (BotoCoreError, ClientError) as error:
            return _failure(error)
        return "ok"

    jobs = [(name, dynamodb.describe_table, {"TableName": name}) for name in tables]
    jobs += [(name, s3.head_bucket, {"Bucket": name}) for name in buckets]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(check, call, **kwargs) for name, call, kwargs in jobs}
        return {name: future.result() for name, future in futures.items()}
