"""Open `manage.py shell` (repository, schemas and clients imported) on stage dev of the local
DynamoDB and S3 that a running `make run` started. Extra arguments are passed to shell, e.g.
`manage.py local_shell -c "print(get_project(...))"`.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infra.local import localaws


class Command(BaseCommand):
    help = __doc__  # the module's docstring is the command's --help

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-c", "--command", help="run this Python instead of the interactive shell"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        arguments = ["--verbosity", str(options["verbosity"])]
        if options["command"]:
            arguments += ["-c", options["command"]]
        code = localaws.manage_on_running_stack("shell", arguments, announce=self.stderr.write)
        if code is None:
            raise CommandError(localaws.NOT_RUNNING)
        sys.exit(code)
