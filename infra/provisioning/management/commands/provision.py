"""Create the stage's DynamoDB tables and S3 buckets as declared in infra.core.resources, repairing
what can be repaired in place; --dry-run prints the plan, --check exits 0 in sync, 2 on drift, 1
on an error; --json changes only the output's format.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from infra.provisioning.provisioner import Provisioner
from infra.provisioning.report import (
    NOT_DECLARED,
    ProvisioningError,
    ResourceReport,
    StageReport,
    aws_target,
)

# `terraform plan -detailed-exitcode`'s convention for --check: 0 in sync, 1 error, 2 drift.
EXIT_IN_SYNC, EXIT_ERROR, EXIT_DRIFT = 0, 1, 2


class Command(BaseCommand):
    help = __doc__  # the module's docstring is the command's --help

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
            help="print each change (property, current and declared value); change nothing",
        )
        mode.add_argument(
            "--check",
            action="store_true",
            help="compare the live resources with the declaration: exit 0 in sync, 2 on any "
            "difference, 1 on an error",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="print the result of whichever mode runs as JSON on stdout (progress and "
            "warnings go to stderr)",
        )
        parser.add_argument(
            "--yes",
            action="store_true",
            help="do not ask before changing resources in a real AWS account",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="remove what the live resources have and the declaration does not (lifecycle "
            "rules, indexes); without it they are kept, and shown as 'not declared (kept)'",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stage = settings.ANCHOR_STAGE if options["stage"] is None else options["stage"]
        as_json = options["json"]
        mode = "check" if options["check"] else "plan" if options["dry_run"] else "apply"
        # With --json, stdout carries only the JSON document.
        log = self.stderr if as_json else self.stdout
        self.verbosity = options["verbosity"]
        try:
            provisioner = Provisioner(
                stage,
                progress=lambda message: log.write(f"  {message}"),
                warn=lambda message: self.stderr.write(self.style.WARNING(f"  warning: {message}")),
                prune=options["prune"],
            )
            endpoints = provisioner.endpoints()
            verb = {
                "check": "Checking",
                "plan": "Planning (dry run, nothing will change)",
                "apply": "Provisioning",
            }[mode]
            log.write(
                f"{verb} stage {stage} in region {provisioner.region} "
                f"(DynamoDB {endpoints['dynamodb']}, S3 {endpoints['s3']})"
            )
            target = aws_target(endpoints)
            if mode == "apply" and target is not None:
                self._confirm_real_aws(provisioner, target, log, yes=options["yes"])
            report = provisioner.apply() if mode == "apply" else provisioner.plan(mode=mode)
        except ProvisioningError as error:
            raise CommandError(str(error), returncode=EXIT_ERROR) from error

        if as_json:
            self.stdout.write(report.to_json())
        elif report.mode == "apply":
            self._write_outputs(report)
        else:
            self._write_plan(report)
        self._exit_status(report)

    def _confirm_real_aws(
        self, provisioner: Provisioner, target: str, log: Any, *, yes: bool
    ) -> None:
        """Say which account and region are about to change; on a terminal, ask first."""
        plan = provisioner.plan(mode="plan")  # read-only: the account shows in a table's ARN
        account = next(
            (r.arn.split(":")[4] for r in plan.resources if r.kind == "table" and r.arn), None
        )
        who = f"account {account}" if account else "the account of these credentials"
        changes = len(plan.differences)
        log.write(
            self.style.WARNING(
                f"  real AWS: {who}, region {provisioner.region}, credentials {target}; "
                f"{changes} change(s) planned"
            )
        )
        if not changes or yes or not sys.stdin.isatty():
            return
        answer = input(f"Change stage {provisioner.stage} in {who}? Type 'yes' to go on: ")
        if answer.strip().lower() != "yes":
            raise ProvisioningError("nothing was changed (answer 'yes', or pass --yes)")

    def _write_plan(self, report: StageReport) -> None:
        for resource in report.resources:
            if report.mode == "check":
                count = len(resource.differences)
                action = "matches" if not count else f"{count} difference(s)"
                self.stdout.write(f"  {resource.label}: {self._styled(action, resource)}")
                for difference in resource.differences:
                    self.stdout.write(f"      {difference.describe()}")
                self._write_kept(resource)
                continue
            self.stdout.write(f"  {resource.label}: {self._styled(resource.action, resource)}")
            for difference in resource.planned or resource.differences:
                line = f"{resource.role}: {difference.property}: {difference.declared}"
                line += f" (current: {difference.live})"
                if not difference.repairable:
                    line += "; cannot be repaired in place"
                elif difference.declared == NOT_DECLARED:
                    line += "; --prune removes it"
                self.stdout.write(f"      {line}")
            self._write_kept(resource)
        counts = {
            action: sum(r.action == action for r in report.resources)
            for action in ("create", "update", "unchanged", "drift")
        }
        if report.mode == "check":
            if report.differences:
                self.stdout.write(
                    self.style.ERROR(
                        f"Stage {report.stage} has drifted: {len(report.differences)} "
                        "difference(s) from the declaration."
                    )
                )
            else:
                self.stdout.write(
                    self.style.SUCCESS(f"Stage {report.stage} matches the declaration.")
                )
            kept = sum(len(r.kept) for r in report.resources)
            if kept:
                self.stdout.write(
                    f"{kept} setting(s) not declared, kept (provision --prune removes them)."
                )
        else:
            self.stdout.write(
                f"Plan: {counts['create']} to create, {counts['update']} to update, "
                f"{counts['unchanged']} unchanged, {counts['drift']} that cannot be repaired "
                "in place."
            )

    def _write_kept(self, resource: ResourceReport) -> None:
        for kept in resource.kept:
            self.stdout.write(
                f"      {resource.role}: {kept.property}: not declared (kept) "
                f"(current: {kept.live}); --prune removes it"
            )

    def _write_outputs(self, report: StageReport) -> None:
        if report.differences:
            self.stdout.write(
                "Differences provision cannot repair (nothing was deleted or recreated)"
            )
        for resource, difference in report.differences:
            self.stdout.write(self.style.ERROR(f"  - {resource.label}: {difference.describe()}"))
        changed = any(r.outcome not in {None, "unchanged"} for r in report.resources)
        if not changed and self.verbosity < 2:
            return  # an unchanged stage: one line per resource (`-v 2` or --json for the ARNs)
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
                returncode=EXIT_DRIFT,
            )
        if report.mode == "apply" and report.differences:
            raise CommandError(
                f"stage {report.stage} has {len(report.differences)} difference(s) that cannot be "
                "repaired in place; nothing was deleted or recreated",
                returncode=EXIT_ERROR,
            )
