"""A throwaway PostgreSQL server for tests: Debian's postgresql binaries, a cluster in a temp
directory, listening on a free loopback port, stopped and deleted afterwards.

PostgreSQL refuses to run as root (as CI does), so there the cluster belongs to the `postgres`
system user and every command runs through `runuser -u postgres`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.local.processes import free_port

SUPERUSER = "console"


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def bindir() -> Path:
    """The newest installed /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        raise PostgresMissing("no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)")
    return Path(found[-1]).parent


def _as_owner(owner: str | None) -> list[str]:
    return ["runuser", "-u", owner, "--"] if owner else []


@contextmanager
def running_postgres() -> Iterator[str]:
    """Start a fresh cluster; yields its DATABASE_URL (trust authentication, loopback only)."""
    binaries = bindir()
    owner = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="anchor-pg-"))
    data = root / "data"
    if owner:
        entry = pwd.getpwnam(owner)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    port = free_port()
    prefix = _as_owner(owner)

    def run(*command: str) -> None:
        result = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, timeout=120, cwd=root
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")

    run(
        str(binaries / "initdb"),
        "--pgdata",
        str(data),
        "--username",
        SUPERUSER,
        "--auth",
        "trust",
        "--encoding",
        "UTF8",
        "--no-sync",
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    try:
        run(
            str(binaries / "pg_ctl"),
            "--pgdata",
            str(data),
            "--options",
            options,
            "--log",
            str(root / "server.log"),
            "--wait",
            "start",
        )
        yield f"postgres://{SUPERUSER}@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            run(str(binaries / "pg_ctl"), "--pgdata", str(data), "-m", "fast", "--wait", "stop")
        shutil.rmtree(root, ignore_errors=True)


def assert_suites_pass(database_url: str, paths: list[str], *, timeout: int) -> None:
    """Run the test modules `paths` in a pytest of their own on the PostgreSQL at
    `database_url` (asserting the database vendor), and require every test to pass, none skipped."""
    env = {**os.environ, "DATABASE_URL": database_url, "EXPECT_DATABASE_VENDOR": "postgresql"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary, summary
