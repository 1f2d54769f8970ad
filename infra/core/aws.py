"""The one place boto3 clients are made: lazily, once per process, with retries and timeouts."""

from __future__ import annotations

import functools
import random
import threading
from typing import Any

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.loaders import Loader, create_loader
from django.conf import settings

S3_CONFIG = Config(signature_version="s3v4")
# Provisioning waits on slow control-plane calls (CreateTable, UpdateTable with a backfill): its
# clients are patient. Pages use the request-path clients below, which fail fast.
ADMIN_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 5},
    connect_timeout=5,
    read_timeout=60,
)


def client_config() -> Config:
    """The request-path client config, from settings (the one place attempts are set).

    `total_max_attempts` counts tries, first included (botocore's `max_attempts` counts retries).
    Standard mode backs off with jitter (at most 1 s, then 2 s) on throttling and transient
    errors, so with the defaults (3 tries, 1 s to connect, 2 s to read) a hung or unreachable
    endpoint is given up within 3 x 2 + 3 = 9 s and the page says so, inside 10 s.
    """
    return Config(
        retries={"mode": settings.AWS_RETRY_MODE, "total_max_attempts": settings.AWS_MAX_ATTEMPTS},
        connect_timeout=settings.AWS_CONNECT_TIMEOUT,
        read_timeout=settings.AWS_READ_TIMEOUT,
    )


_lock = threading.Lock()


@functools.cache
def _loader() -> Loader:
    # Parsed service models, shared by every session of the process: loading them is most of the
    # cost of a client (about 100 ms each from a fresh session, 10 ms with this loader).
    return create_loader()


@functools.cache
def _session() -> boto3.session.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader())
    session = boto3.session.Session(botocore_session=core)
    # boto3 appends its own model folder to the shared loader on every session: keep it once.
    _loader().search_paths[:] = list(dict.fromkeys(_loader().search_paths))
    return session


# Throttling answers fast, so it is tried more often than a timeout could be, without drawing on
# botocore's retry quota: an outage drains that quota (each failed retry costs it), and a drained
# quota would otherwise keep failing pages at ordinary throttling rates after the outage ends.
THROTTLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
THROTTLE_ATTEMPTS = 8  # tries in all for a throttled call (then the standard handler decides)
THROTTLE_BASE_DELAY = 0.02  # seconds; doubled per try, jittered, at most THROTTLE_MAX_DELAY
THROTTLE_MAX_DELAY = 0.5


def _retry_throttling(response: Any = None, attempts: int = 0, **_: Any) -> float | None:
    """A `needs-retry` handler ahead of botocore's own: throttled calls back off and try again
    (THROTTLE_ATTEMPTS tries in all, a few seconds at most); anything else is left to it."""
    if response is None:
        return None
    code = response[1].get("Error", {}).get("Code", "")
    if code not in THROTTLE_CODES or attempts >= THROTTLE_ATTEMPTS:
        return None
    return random.uniform(0, min(THROTTLE_MAX_DELAY, THROTTLE_BASE_DELAY * 2**attempts))


@functools.cache
def _client(service: str, region: str, admin: bool = False) -> BaseClient:
    # Endpoints come from boto3's own AWS_ENDPOINT_URL[_SERVICE] variables and credentials from
    # its usual chain. Sessions are not thread-safe, so clients are made under a lock; the clients
    # themselves are safe to share between a WSGI server's threads.
    config = ADMIN_CONFIG if admin else client_config()
    if service == "s3":
        config = config.merge(S3_CONFIG)
    with _lock:
        client = _session().client(service, region_name=region, config=config)
    client.meta.events.register_first(
        f"needs-retry.{client.meta.service_model.service_id.hyphenize()}", _retry_throttling
    )
    return client


def dynamodb() -> BaseClient:
    """The process-wide DynamoDB client for the configured region."""
    return _client("dynamodb", settings.AWS_REGION)


def s3() -> BaseClient:
    """The process-wide S3 client for the configured region.

    It signs with SigV4: S3 refuses the SigV2 presigned links botocore would otherwise make.
    """
    return _client("s3", settings.AWS_REGION)


def admin_dynamodb() -> BaseClient:
    """A patient DynamoDB client for provisioning (long read timeout, more tries)."""
    return _client("dynamodb", settings.AWS_REGION, admin=True)


def admin_s3() -> BaseClient:
    """A patient S3 client for provisioning (long read timeout, more tries)."""
    return _client("s3", settings.AWS_REGION, admin=True)


def reset_clients() -> None:
    """Forget every client and the session with its resolved credentials (tests call this after
    changing endpoints, credentials or mocks)."""
    _client.cache_clear()
    _session.cache_clear()
