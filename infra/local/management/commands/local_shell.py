"""`manage.py local_shell`: the support shell against the local AWS of a running `make run`."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infra.local import localaws, processes


class Command(BaseCommand):
    help = (
        "Open `manage.py shell` (repository, schemas and clients imported) on stage dev of the "
        "local DynamoDB and S3 that a running `make run` started. Extra arguments are passed to "
        'shell, e.g. `manage.py local_shell -c "print(get_project(...))"`.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-c", "--command", help="run this Python instead of the interactive shell"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        env = localaws.running_stack_environment()
        if env is None:
            raise CommandError(
                "no local AWS from `make run` is answering: start `make run` in another terminal"
            )
        env = {**os.environ, **env, "ANCHOR_STAGE": "dev", "DEBUG": "true"}
        argv = [sys.executable, str(processes.PROJECT_DIR / "manage.py"), "shell"]
        argv += ["--verbosity", str(options["verbosity"])]
        if options["command"]:
            argv += ["-c", options["command"]]
        dynamodb, s3 = env["AWS_ENDPOINT_URL_DYNAMODB"], env["AWS_ENDPOINT_URL_S3"]
        self.stderr.write(f"local AWS of `make run`: DynamoDB {dynamodb}, S3 {s3}")
        sys.exit(subprocess.run(argv, env=env, check=False).returncode)
