"""Single sign-on on a real PostgreSQL server (DATABASE_URL=postgres://…), as production may run
it: the identity table's migration, and the SSO suites (the real provider and the scripted one)
again in a pytest of their own pointed at a throwaway cluster."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.integration.test_on_postgresql import PROJECT_DIR, database_url  # noqa: F401 (fixture)

SSO_SUITES = ["tests/integration/sso", "tests/integration/sso_refusals"]


def test_the_sso_suites_pass_on_postgresql(database_url: str) -> None:  # noqa: F811
    env = {**os.environ, "DATABASE_URL": database_url, "EXPECT_DATABASE_VENDOR": "postgresql"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SSO_SUITES],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary, summary
