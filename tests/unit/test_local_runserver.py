"""make run's request log: a 403 is one line, other errors keep their traceback."""

from __future__ import annotations

import logging
import sys

from infra.local.management.commands.local_runserver import _NoTracebackFor403


def record(status: int) -> logging.LogRecord:
    try:
        raise PermissionError("no")
    except PermissionError:
        exc_info = sys.exc_info()
    entry = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Forbidden", (), exc_info
    )
    entry.status_code = status
    return entry


def test_a_403_is_logged_without_its_traceback() -> None:
    entry = record(403)
    assert _NoTracebackFor403().filter(entry)
    assert entry.exc_info is None
    assert "Traceback" not in logging.Formatter().format(entry)


def test_a_500_keeps_its_traceback() -> None:
    entry = record(500)
    assert _NoTracebackFor403().filter(entry)
    assert "Traceback" in logging.Formatter().format(entry)
