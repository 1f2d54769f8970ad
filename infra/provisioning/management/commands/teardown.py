"""manage.py teardown: empty and delete a stage's buckets, delete its tables (never production)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from infra.core.resources import is_protected_stage
from infra.provisioning.provisioner import Provisioner
from infra.provisioning.report import ProvisioningError


class Command(BaseCommand):
    help = (
        "Remove a stage: empty and delete its buckets, delete its tables. Refuses production "
        "stages, and removes nothing if any resource's tags do not say app=anchor-deploy and "
        "this stage or its deletion protection is on; lists what it will delete and asks for "
        "confirmation unless --yes."
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
        if is_protected_stage(stage):
            raise CommandError(f"teardown refuses stage {stage}: production is retained")
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
            refused = [removal for removal in removals if removal.refused]
            if refused:
                for removal in refused:
                    self.stdout.write(
                        self.style.ERROR(
                            f"  refused: {removal.kind} {removal.name}: {removal.refused}"
                        )
                    )
                raise CommandError(
                    f"teardown refuses {len(refused)} resource(s) of stage {stage} (listed "
                    "above); nothing was removed"
                )
            self.stdout.write(f"Removing stage {stage} from region {provisioner.region}:")
            for removal in removals:
                what = "and every object in it" if removal.kind == "bucket" else "and every item"
                self.stdout.write(f"  {removal.kind} {removal.name} ({what}; {removal.basis})")
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
