"""`manage.py local_runserver`: Django's development server with a quieter request log."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.management.commands.runserver import (
    Command as RunserverCommand,
)
from django.utils import timezone


class _NoTracebackFor403(logging.Filter):
    """Keep "Forbidden (Permission denied): /path" as one line: a 403 is an answer, not a crash."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True


class Command(RunserverCommand):
    help = "runserver (static files included) whose log shows a 403 as one line, no traceback."

    def on_bind(self, server_port: int) -> None:
        """runserver's banner, with the time in Singapore time, labelled (like every other time
        `make run` prints), instead of the machine's unlabelled local time."""
        moment = timezone.localtime()
        addr = f"[{self.addr}]" if self._raw_ipv6 else self.addr
        self.stdout.write(
            f"{moment:%B %d, %Y - %H:%M:%S} {moment.tzname()} ({settings.TIME_ZONE})\n"
            f"Django version {self.get_version()}, using settings {settings.SETTINGS_MODULE!r}\n"
            f"Starting development server at {self.protocol}://{addr}:{server_port}/\n"
            "Quit the server with CONTROL-C."
        )
        self.stdout.write(
            self.style.WARNING("This is a development server: use `make serve` in production.")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("django.request").addFilter(_NoTracebackFor403())
        super().handle(*args, **options)
