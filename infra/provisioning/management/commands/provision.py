"""manage.py provision: create or repair a stage's tables and buckets, or check them for drift."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from infra.provisioning.provisioner import Provisioner
from infra.provisioning.report import ProvisioningError, ResourceReport, StageReport


class Command(BaseCommand):
    help = (
        "Create the stage's DynamoDB tables and S3 buckets as declared in infra.core.resources, "
        "repairing what can be repaired in place; --dry-run prints the plan, --check reports drift."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stage",
            default=None,
            help="the stage to provision (default: ANCHOR_STAGE from the settings)",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--dry-run",
            action="store_true",
            help="print what would be created or updated, and change nothing",
        )
        mode.add_argument(
            "--check",
            action="store_true",
            help="compare the live resources with the declaration; exit 1 listing every difference",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="print the result as JSON on stdout (progress and warnings go to stderr)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stage = settings.ANCHOR_STAGE if options["stage"] is None else options["stage"]
        as_json = options["json"]
        # With --json, stdout carries only the JSON document.
        log = self.stderr if as_json else self.stdout
        try:
            provisioner = Provisioner(
                stage,
                progress=lambda message: log.write(f"  {message}"),
                warn=lambda message: self.stderr.write(self.style.WARNING(f"warning: {message}")),
            )
            endpoints = provisioner.endpoints()
            if options["check"]:
                verb = "Checking"
            elif options["dry_run"]:
                verb = "Planning (dry run, nothing will change)"
            else:
                verb = "Provisioning"
            log.write(f"{verb} stage {stage} in region {provisioner.region}")
            log.write(f"  DynamoDB endpoint {endpoints['dynamodb']}, S3 endpoint {endpoints['s3']}")
            if options["check"] or options["dry_run"]:
                report = provisioner.plan(mode="check" if options["check"] else "plan")
            else:
                report = provisioner.apply()
        except ProvisioningError as error:
            raise CommandError(str(error)) from error

        if as_json:
            self.stdout.write(report.to_json())
        elif report.mode == "apply":
            self._write_outputs(report)
        else:
            self._write_plan(report)
        self._exit_status(report)

    def _write_plan(self, report: StageReport) -> None:
        for resource in report.resources:
            action = resource.action
            if report.mode == "check":
                count = len(resource.differences)
                action = "matches" if not count else f"{count} difference(s)"
            self.stdout.write(f"  {resource.label}: {self._styled(action, resource)}")
            if resource.exists or report.mode == "check":
                for difference in resource.differences:
                    self.stdout.write(f"      {difference.describe()}")
        if report.mode == "check" and not report.differences:
            self.stdout.write(self.style.SUCCESS(f"Stage {report.stage} matches the declaration."))

    def _write_outputs(self, report: StageReport) -> None:
        if report.differences:
            self.stdout.write(
                "Differences provision cannot repair (nothing was deleted or recreated)"
            )
        for resource, difference in report.differences:
            self.stdout.write(self.style.ERROR(f"  - {resource.label}: {difference.describe()}"))
        self.stdout.write("Outputs")
        self.stdout.write(f"  region  {report.region}")
        width = max(len(r.name) for r in report.resources)
        for resource in report.resources:
            self.stdout.write(
                f"  {resource.role:<11} {resource.kind:<6} {resource.name:<{width}}  {resource.arn}"
            )

    def _styled(self, action: str, resource: ResourceReport) -> str:
        if action in {"unchanged", "matches"}:
            return action
        if resource.action == "drift":
            return self.style.ERROR(action)
        return self.style.WARNING(action)

    def _exit_status(self, report: StageReport) -> None:
        if report.mode == "check" and report.differences:
            raise CommandError(
                f"stage {report.stage} differs from the declaration in "
                f"{len(report.differences)} place(s)",
                returncode=1,
            )
        if report.mode == "apply" and report.differences:
            raise CommandError(
                f"stage {report.stage} has {len(report.differences)} difference(s) that cannot be "
                "repaired in place; nothing was deleted or recreated",
                returncode=1,
            )
