"""`manage.py reconcile --stage STAGE [--project prj_…] [--json]`: DynamoDB against S3."""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments import reconcile
from infra.core.errors import NotFound, RepositoryError

# `terraform plan -detailed-exitcode`'s convention, as `provision --check`: 0 consistent,
# 1 error, 2 findings.
EXIT_CONSISTENT, EXIT_ERROR, EXIT_FINDINGS = 0, 1, 2


class Command(BaseCommand):
    help = (
        "Compare every deployment of the stage with the logs and artifacts buckets: final "
        "deployments without a build log, logs and artifact prefixes without a deployment "
        "(orphans), and objects under a deployment of another project. Reads DynamoDB and S3 "
        "only (a Scan for the list of projects, a Query per project, S3 listings), and stores "
        "each project's findings for its dashboard page under reconcile/ in the logs bucket "
        "(--no-store skips that). Exit 0 consistent, 2 findings, 1 error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stage", default=None, help="the stage (default: ANCHOR_STAGE from the settings)"
        )
        parser.add_argument("--project", metavar="PRJ_ID", help="only this project")
        parser.add_argument(
            "--json", action="store_true", help="print one JSON document on stdout, no progress"
        )
        parser.add_argument(
            "--no-store",
            action="store_true",
            help="do not store the per-project reports the dashboard shows",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stage = options["stage"] or settings.ANCHOR_STAGE
        if not settings.STAGE_PATTERN.match(stage):
            raise CommandError(
                f"invalid stage {stage!r}: use lower-case letters, digits and '-', starting with "
                "a letter, at most 20 characters",
                returncode=EXIT_ERROR,
            )
        project_id = options["project"]
        if project_id is not None and not project_id.startswith("prj_"):
            raise CommandError(
                f"--project takes a project id (prj_…), not {project_id!r}", returncode=EXIT_ERROR
            )
        as_json, store = options["json"], not options["no_store"]
        tty = not as_json and self.stdout.isatty()
        started = time.monotonic()
        findings: list[reconcile.Finding] = []
        projects = deployments = 0
        try:
            if project_id:
                todo = [reconcile.find_project(stage, project_id)]
                total: int | None = 1
            else:
                todo = list(reconcile.stage_projects(stage))
                total = len(todo)
            known: set[str] = set()
            for project in todo:
                if tty:
                    self._progress(projects, total, deployments, started, project.project_id)
                result = reconcile.check_project(stage, project)
                if store:
                    reconcile.write_report(stage, result)
                known.add(project.project_id)
                projects += 1
                deployments += result.deployments
                findings.extend(result.findings)
            if not project_id:
                findings.extend(reconcile.check_gone_projects(stage, known))
        except NotFound as error:
            raise CommandError(str(error), returncode=EXIT_ERROR) from error
        except RepositoryError as error:
            raise CommandError(f"reconcile stopped: {error}", returncode=EXIT_ERROR) from error
        elapsed = time.monotonic() - started
        counts = {kind: sum(f.kind == kind for f in findings) for kind in reconcile.KINDS}
        rate = deployments / elapsed if elapsed > 0 else 0.0
        if tty:
            self._progress(projects, total, deployments, started, "done")
            self.stdout.write("")
        if as_json:
            document = {
                "stage": stage,
                "project": project_id,
                "consistent": not findings,
                "projects": projects,
                "deployments": deployments,
                "seconds": round(elapsed, 3),
                "deploymentsPerSecond": round(rate, 1),
                "counts": counts,
                "findings": [f.as_dict() for f in findings],
            }
            self.stdout.write(json.dumps(document, indent=2))
        else:
            for finding in findings:
                self.stdout.write(
                    f"  {finding.kind:<16} {finding.deployment_id:<22} {finding.key}: "
                    f"{finding.detail}"
                )
            summary = (
                f"Reconciled stage {stage}: {projects:,} project(s), {deployments:,} deployments "
                f"in {elapsed:.1f}s ({rate:,.0f} deployments/s); "
            )
            if findings:
                listed = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
                self.stdout.write(
                    self.style.WARNING(summary + f"{len(findings)} finding(s): {listed}.")
                )
            else:
                self.stdout.write(self.style.SUCCESS(summary + "DynamoDB and S3 agree."))
        if findings:
            raise CommandError(
                f"stage {stage}: DynamoDB and S3 disagree in {len(findings)} place(s)",
                returncode=EXIT_FINDINGS,
            )

    def _progress(
        self, done: int, total: int | None, deployments: int, started: float, current: str
    ) -> None:
        width = 30
        filled = int(width * done / max(total or 1, 1))
        bar = "#" * filled + "." * (width - filled)
        elapsed = time.monotonic() - started
        line = (
            f"[{bar}] {done}/{total} projects, {deployments:,} deployments, {elapsed:.0f}s — "
            f"{current}"
        )
        self.stdout.write("\r" + line.ljust(100), ending="")
        self.stdout.flush()
