"""Sizes of the reliability suite: `ANCHOR_RELIABILITY=full` (make reliability / make chaos) or
the smaller counts `make test` runs; and where histories are written."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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


def stored_statuses(user_id: str, project_id: str) -> dict[str, Any]:
    """{deployment id: status} of every deployment of the tenant's project, page by page."""
    from deployments import repository as deployments

    found: dict[str, Any] = {}
    cursor = None
    while True:
        page = deployments.list_project_deployments(user_id, project_id, limit=100, cursor=cursor)
        found.update({d.deployment_id: d.status for d in page.items})
        if not page.next_cursor:
            return found
        cursor = page.next_cursor
