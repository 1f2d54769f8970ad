"""Starting the console with DEBUG off: the deploy checks pass, and a missing or malformed
variable stops every management command with one clear line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
# The variables of the test run that a real deployment would not have.
TEST_ONLY = ("SECURE_SSL_REDIRECT", "DJANGO_SETTINGS_MODULE", "DEBUG")


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_checks_pass_at_warning_level_with_nothing_silenced():
    result = manage("check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["check"],
        ["shell", "-c", "print(1)"],
        ["changepassword", "someone"],
        ["createsuperuser", "--noinput", "--username", "x"],
        ["migrate"],
        ["provision", "--stage", "dev", "--dry-run"],
        ["collectstatic", "--noinput"],
        ["serve"],
    ],
    ids=lambda command: command[0],
)
def test_a_missing_secret_key_is_one_line_saying_what_to_set(command):
    result = manage(*command, SECRET_KEY="")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "SECRET_KEY is not set" in result.stderr
    assert "DEBUG=true" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("LOG_FORMAT", "xml", "LOG_FORMAT='xml' is not known: use plain or json."),
        ("PORT", "eighty", "PORT='eighty' is not a valid int"),
        ("PORT", "70000", "PORT=70000 is not a TCP port"),
        ("DATABASE_URL", "postgres//db.internal/console", "DATABASE_URL must start with"),
        ("DATABASE_URL", "postgres://u:s3cret@db:54x2/console", "port is not a number"),
        ("DATABASE_URL", "postgres://u:s3cret@db.internal", "postgres://USER:PASSWORD@HOST"),
        ("SESSION_IDLE_MINUTES", "0", "SESSION_IDLE_MINUTES=0 must be a positive"),
        ("SESSION_MAX_HOURS", "24", "SESSION_MAX_HOURS at most 12"),
        ("READINESS_TIMEOUT_SECONDS", "5", "READINESS_TIMEOUT_SECONDS above 0, at most 2"),
        ("ANCHOR_LOG_SCAN_BYTES", "0", "ANCHOR_LOG_SCAN_BYTES=0 must be a positive"),
        ("ANCHOR_LOG_ERROR_PATTERNS", "npm ERR!\n(unclosed", "'(unclosed' is not a regular"),
        ("ANCHOR_STUCK_BUILD_MINUTES", "0", "ANCHOR_STUCK_BUILD_MINUTES=0 must be a positive"),
        ("ANCHOR_LONG_QUEUED_MINUTES", "soon", "ANCHOR_LONG_QUEUED_MINUTES='soon' is not a valid"),
        ("ANCHOR_LOGS_BUCKET", "Logs_Bucket", "ANCHOR_LOGS_BUCKET='Logs_Bucket' is not a valid S3"),
        ("ANCHOR_PROJECTS_TABLE", "projects table", "'projects table' is not a valid table name"),
        ("ANCHOR_PROTECTED_STAGES", "production,Prod", "'Prod' is not a valid stage"),
    ],
)
def test_a_malformed_variable_stops_startup_with_one_clear_line(variable, value, says):
    result = manage("check", **{variable: value})

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert says in result.stderr
    assert "s3cret" not in result.stderr  # a database password is never echoed


def test_development_mode_needs_no_secret_key():
    result = manage("check", SECRET_KEY="", DEBUG="true")

    assert result.returncode == 0, result.stderr


def test_the_feed_thresholds_come_from_the_environment():
    code = (
        "from django.conf import settings; from staff import actions; "
        "print(settings.STUCK_BUILD_AFTER, settings.LONG_QUEUED_AFTER, actions.STUCK_AFTER)"
    )
    default = manage("shell", "-c", code, DEBUG="true")
    chosen = manage(
        "shell",
        "-c",
        code,
        DEBUG="true",
        ANCHOR_STUCK_BUILD_MINUTES="90",
        ANCHOR_LONG_QUEUED_MINUTES="5",
    )

    assert default.stdout.strip().splitlines()[-1] == "1:00:00 0:15:00 1:00:00", default.stderr
    assert chosen.stdout.strip().splitlines()[-1] == "1:30:00 0:05:00 1:30:00", chosen.stderr
