"""`manage.py recount_deployments`: fill in the status index keys and day counters from the rows."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments import maintenance
from infra.core.errors import NotFound, RepositoryError
from infra.core.resources import DERIVED_VERSION


class Command(BaseCommand):
    help = (
        "Recompute the per-day deployment counters and the status- and attention-index keys of one "
        "project "
        "(--project) or of every project of the stage (ANCHOR_STAGE), from the deployment rows, "
        "for data "
        "written before they existed. Idempotent and resumable: projects already complete are "
        "skipped (--force counts them again), and a project is marked complete only once its "
        "counters match its rows. Safe beside live writes. Reads whole partitions: an offline "
        "command, never a page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", metavar="PRJ_ID", help="only this project")
        parser.add_argument(
            "--force", action="store_true", help="recount projects already marked complete"
        )
        parser.add_argument(
            "--json", action="store_true", help="print one JSON document instead of progress"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        quiet = options["json"]
        try:
            if not maintenance.status_index_ready():
                raise CommandError(
                    "the deployments table has no ACTIVE ProjectStatusIndex and AttentionIndex "
                    "yet: run "
                    f"`manage.py provision --stage {settings.ANCHOR_STAGE}` first"
                )
            if options["project"]:
                projects = [maintenance.project_ref(options["project"])]
            else:
                projects = list(maintenance.stage_projects())
            todo = [
                p
                for p in projects
                if options["force"] or options["project"] or p.derived_version < DERIVED_VERSION
            ]
            results = []
            started = time.monotonic()
            for position, project in enumerate(todo, 1):
                if not quiet:
                    self._progress(position, len(todo), project.project_id, started)
                results.append(maintenance.recount_project(project))
        except NotFound as error:
            raise CommandError(str(error)) from error
        except RepositoryError as error:
            raise CommandError(f"recount stopped: {error}") from error
        skipped = len(projects) - len(todo)
        if quiet:
            document = {
                "stage": settings.ANCHOR_STAGE,
                "projects": [r.as_dict() for r in results],
                "skipped": skipped,
            }
            self.stdout.write(json.dumps(document, indent=2))
            return
        if todo and sys.stdout.isatty():
            self.stdout.write("")
        changed = [r for r in results if r.changed]
        deployments = sum(r.deployments for r in results)
        for result in changed:
            self.stdout.write(
                f"  {result.project_id}: {result.status_keys_set:,} status keys set, "
                f"{len(result.days_corrected):,} day counters corrected"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Recounted {len(results):,} project(s) ({deployments:,} deployments; "
                f"{len(changed):,} changed) in stage {settings.ANCHOR_STAGE}"
                + (f"; {skipped:,} already complete, skipped" if skipped else "")
                + "."
            )
        )

    def _progress(self, position: int, total: int, project_id: str, started: float) -> None:
        width = 30
        done = int(width * (position - 1) / max(total, 1))
        bar = "#" * done + "." * (width - done)
        elapsed = time.monotonic() - started
        line = f"[{bar}] {position - 1}/{total} projects, {elapsed:.0f}s — {project_id}"
        if sys.stdout.isatty():
            self.stdout.write("\r" + line, ending="")
        elif position == 1 or position == total or position % 50 == 0:
            self.stdout.write(line)
