"""The Django side (staff login and lockout, sessions, permissions, the audit trail) on a real
PostgreSQL server, as production runs it with DATABASE_URL=postgres://…: the same test modules
again, in a pytest of their own pointed at a throwaway cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import postgres

PROJECT_DIR = Path(__file__).resolve().parents[2]
# The modules whose data lives in Django's own database.
DJANGO_SIDE = [
    "tests/integration/test_login_security.py",
    "tests/integration/test_audit_trail.py",
    "tests/integration/test_staff_actions.py",
    "tests/integration/test_request_log.py",
]


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    try:
        with postgres.running_postgres() as url:
            yield url
    except postgres.PostgresMissing as missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the PostgreSQL tests cannot run in CI: {missing}", pytrace=False)
        pytest.skip(f"PostgreSQL tests skipped: {missing}")


def test_migrations_apply_and_the_checks_pass_on_postgresql(database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    for command in (["migrate", "--noinput"], ["check", "--database", "default"]):
        result = subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_django_side_suite_passes_on_postgresql(database_url):
    postgres.assert_suites_pass(database_url, DJANGO_SIDE, timeout=600)
