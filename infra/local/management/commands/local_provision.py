"""Run `manage.py provision --stage dev` (plus any of --dry-run, --check, --json) on the local
DynamoDB and S3 that a running `make run` started; exits with provision's code (for --check: 0
in sync, 2 drift, 1 error).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infra.local import localaws


class Command(BaseCommand):
    help = __doc__  # the module's docstring is the command's --help

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("arguments", nargs="*", help="passed to provision")

    def run_from_argv(self, argv: list[str]) -> None:
        # Everything after the command name goes to provision as it is (--check, --json ...).
        self._arguments = argv[2:]
        super().run_from_argv([*argv[:2]])

    def handle(self, *args: Any, **options: Any) -> None:
        arguments = getattr(self, "_arguments", None) or options["arguments"]
        code = localaws.manage_on_running_stack("provision", ["--stage", "dev", *arguments])
        if code is None:
            raise CommandError(localaws.NOT_RUNNING)
        sys.exit(code)
