"""The one place boto3 clients are made: lazily, once per process, with retries and timeouts."""

from __future__ import annotations

import functools
import threading

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.loaders import Loader, create_loader
from django.conf import settings

# Standard retry mode backs off with jitter on throttling and transient errors; bounded attempts
# and timeouts keep a page from hanging when AWS (or the local emulator) is unreachable.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=3,
    read_timeout=10,
)
S3_CONFIG = Config(signature_version="s3v4")


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


@functools.cache
def _client(service: str, region: str) -> BaseClient:
    # Endpoints come from boto3's own AWS_ENDPOINT_URL[_SERVICE] variables and credentials from
    # its usual chain. Sessions are not thread-safe, so clients are made under a lock; the clients
    # themselves are safe to share between a WSGI server's threads.
    config = CLIENT_CONFIG.merge(S3_CONFIG) if service == "s3" else CLIENT_CONFIG
    with _lock:
        return _session().client(service, region_name=region, config=config)


def dynamodb() -> BaseClient:
    """The process-wide DynamoDB client for the configured region."""
    return _client("dynamodb", settings.AWS_REGION)


def s3() -> BaseClient:
    """The process-wide S3 client for the configured region.

    It signs with SigV4: S3 refuses the SigV2 presigned links botocore would otherwise make.
    """
    return _client("s3", settings.AWS_REGION)


def reset_clients() -> None:
    """Forget every client and the session with its resolved credentials (tests call this after
    changing endpoints, credentials or mocks)."""
    _client.cache_clear()
    _session.cache_clear()
