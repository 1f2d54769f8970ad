"""Sizes of the reliability suite: `ANCHOR_RELIABILITY=full` (make reliability / make chaos) or
the smaller counts `make test` runs; and where histories are written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.conftest import (  # noqa: F401 - fixtures shared with this suite
    client_as,
    dynamodb_calls,
    operations_user,
    support_user,
)

FULL = os.environ.get("ANCHOR_RELIABILITY") == "full"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def scale(ci: int, full: int) -> int:
    """`full` under `make reliability`, `ci` otherwise."""
    return full if FULL else ci


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
