"""The one place boto3 clients are made: lazily, once per process, with retries and timeouts."""

from __future__ import annotations

import functools

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from django.conf import settings

# Standard retry mode backs off with jitter on throttling and transient errors; bounded attempts
# and timeouts keep a page from hanging when AWS (or the local emulator) is unreachable.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=3,
    read_timeout=10,
)
S3_CONFIG = Config(signature_version="s3v4")


@functools.cache
def _client(service: str, region: str) -> BaseClient:
    # Endpoints come from boto3's own AWS_ENDPOINT_URL[_SERVICE] variables and credentials from
    # its usual chain; a Session per client keeps the clients thread-safe for a WSGI server.
    config = CLIENT_CONFIG.merge(S3_CONFIG) if service == "s3" else CLIENT_CONFIG
    return boto3.session.Session().client(service, region_name=region, config=config)


def dynamodb() -> BaseClient:
    """The process-wide DynamoDB client for the configured region."""
    return _client("dynamodb", settings.AWS_REGION)


def s3() -> BaseClient:
    """The process-wide S3 client for the configured region.

    It signs with SigV4: S3 refuses the SigV2 presigned links botocore would otherwise make.
    """
    return _client("s3", settings.AWS_REGION)


def reset_clients() -> None:
    """Forget every cached client (tests call this after changing endpoints or mocks)."""
    _client.cache_clear()
