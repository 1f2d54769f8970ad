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
from botocore.exceptions import ConnectionError, HTTPClientError
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


# Answers that say "try again" — throttling, a 5xx such as an answer lost after the write took
# effect, a timeout — are retried here, ahead of botocore's standard handler and without drawing
# on its retry quota. Measured (tests/reliability): with 30 % of write answers lost, the quota (500
# tokens, 5 per retry) drained within a few hundred writes and later 500s then failed at once,
# reporting writes that had succeeded as failed; and an outage drains it the same way, so pages
# kept failing at ordinary throttling rates after it ended. Throttling answers fast, so it gets
# more tries than a timeout could; timeouts, failed connections and 5xx answers get
# AWS_MAX_ATTEMPTS tries, which is what bounds a hung endpoint to under 10 s. (The chaos run showed
# the same drain for timeouts: once the quota was spent, a timed-out write that had taken effect
# was reported as failed.)
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


_TRANSIENT_EXCEPTIONS = (ConnectionError, HTTPClientError)  # timeouts, refused or cut connections


def _retry_answers(
    response: Any = None, attempts: int = 0, caught_exception: Any = None, **_: Any
) -> float | None:
    """A `needs-retry` handler ahead of botocore's own, so no retry draws on its quota: a
    throttled call backs off and tries again (THROTTLE_ATTEMPTS tries in all, a few seconds at
    most); a 5xx answer, a timeout or a failed connection likewise within AWS_MAX_ATTEMPTS
    tries. Anything else is left to botocore's standard handler."""
    if caught_exception is not None:
        if not isinstance(caught_exception, _TRANSIENT_EXCEPTIONS):
            return None
        limit = settings.AWS_MAX_ATTEMPTS
    elif response is None:
        return None
    else:
        http, parsed = response
        code = parsed.get("Error", {}).get("Code", "")
        if code in THROTTLE_CODES:
            limit = THROTTLE_ATTEMPTS
        elif getattr(http, "status_code", 0) >= 500:
            limit = settings.AWS_MAX_ATTEMPTS
        else:
            return None
    if attempts >= limit:
        return False  # no more tries: and botocore's handler must not add its own
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
        f"needs-retry.{client.meta.service_model.service_id.hyphenize()}", _retry_answers
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
