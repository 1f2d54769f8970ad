"""Look each pending audit entry's write up in AWS (its action receipt, request guard or restore
state): found, the entry is done; not found once older than the grace period, it did not happen.
Exit 0 when none is left pending, 2 when some still are.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from infra.core.errors import RepositoryError
from staff.outbox import PENDING_GRACE, resolve_pending


class Command(BaseCommand):
    help = __doc__  # the module's docstring is the command's --help

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=int(PENDING_GRACE.total_seconds()),
            metavar="SECONDS",
            help="call an entry without a trace 'did not happen' only when older than this "
            f"(default {int(PENDING_GRACE.total_seconds())}: its request has surely ended)",
        )
        parser.add_argument("--json", action="store_true", help="print the counts as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["older_than"] < 0:
            raise CommandError("--older-than must be 0 or more seconds.")
        try:
            counts = resolve_pending(older_than=timedelta(seconds=options["older_than"]))
        except DatabaseError as error:
            raise CommandError(f"the audit trail cannot be read: {error}") from error
        except RepositoryError as error:
            raise CommandError(f"AWS could not be asked: {error}") from error
        result = {
            "done": counts["done"],
            "did_not_happen": counts["not_done"],
            "still_pending": counts["pending"],
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"{result['done']} done, {result['did_not_happen']} did not happen, "
                f"{result['still_pending']} still pending"
            )
        if result["still_pending"]:
            raise SystemExit(2)
