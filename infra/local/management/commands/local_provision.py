"""`manage.py local_provision`: `provision --stage dev` on the local AWS of a running `make run`."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infra.local import localaws, processes


class Command(BaseCommand):
    help = (
        "Run `manage.py provision --stage dev` (plus any of --dry-run, --check, --json) on the "
        "local DynamoDB and S3 that a running `make run` started; exits with provision's code "
        "(for --check: 0 in sync, 2 drift, 1 error)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("arguments", nargs="*", help="passed to provision")

    def run_from_argv(self, argv: list[str]) -> None:
        # Everything after the command name goes to provision as it is (--check, --json ...).
        self._arguments = argv[2:]
        super().run_from_argv([*argv[:2]])

    def handle(self, *args: Any, **options: Any) -> None:
        env = localaws.running_stack_environment()
        if env is None:
            raise CommandError(
                "no local AWS from `make run` is answering: start `make run` in another terminal"
            )
        env = {**os.environ, **env, "ANCHOR_STAGE": "dev", "DEBUG": "true"}
        arguments = getattr(self, "_arguments", None) or options["arguments"]
        argv = [sys.executable, str(processes.PROJECT_DIR / "manage.py"), "provision"]
        argv += ["--stage", "dev", *arguments]
        sys.exit(subprocess.run(argv, env=env, check=False).returncode)
