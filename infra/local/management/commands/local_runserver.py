"""`manage.py local_runserver`: Django's development server with a quieter request log."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.staticfiles.management.commands.runserver import (
    Command as RunserverCommand,
)


class _NoTracebackFor403(logging.Filter):
    """Keep "Forbidden (Permission denied): /path" as one line: a 403 is an answer, not a crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True


class Command(RunserverCommand):
    help = "runserver (static files included) whose log shows a 403 as one line, no traceback."

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("django.request").addFilter(_NoTracebackFor403())
        super().handle(*args, **options)
