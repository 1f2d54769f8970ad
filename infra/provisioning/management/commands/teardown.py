"""manage.py teardown: empty and delete a stage's buckets, delete its tables (never production)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infra.core.resources import PRODUCTION_STAGE
from infra.provisioning.provisioner import Provisioner
from infra.provisioning.report import ProvisioningError


class Command(BaseCommand):
    help = (
        "Remove a stage: empty and delete its buckets, delete its tables. Refuses stage "
        "production, asks for confirmation unless --yes, and turns off no deletion protection."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--stage", required=True, help="the stage to remove")
        parser.add_argument(
            "--yes",
            "-y",
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="do not ask for confirmation",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stage = options["stage"]
        if stage == PRODUCTION_STAGE:
            raise CommandError("teardown refuses stage production: production is retained")
        try:
            provisioner = Provisioner(
                stage, progress=lambda message: self.stdout.write(f"  {message}")
            )
            removals = provisioner.removal_plan()
            if not removals:
                self.stdout.write(
                    f"Nothing to remove for stage {stage} in region {provisioner.region}."
                )
                return
            self.stdout.write(f"Removing stage {stage} from region {provisioner.region}:")
            for removal in removals:
                what = "and every object in it" if removal.kind == "bucket" else "and every item"
                self.stdout.write(f"  {removal.kind} {removal.name} ({what})")
            if options["interactive"]:
                self._confirm(stage)
            provisioner.remove(removals)
        except ProvisioningError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(f"Stage {stage} removed."))

    def _confirm(self, stage: str) -> None:
        try:
            answer = input(f"Type the stage name ({stage}) to remove it: ")
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if answer.strip() != stage:
            raise CommandError("teardown cancelled; nothing was removed")
