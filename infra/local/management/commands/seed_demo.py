"""Load demo data into the configured stage through the repository: tenants, projects, deployments
over the last 120 days, build logs and artifacts. Deterministic from --seed and idempotent:
running it again rewrites the same records and restores lost S3 objects.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from textwrap import shorten
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments.artifactstore import put_artifact
from deployments.logstore import get_build_log, put_build_log
from deployments.repository import get_deployment, import_deployments, list_project_deployments
from deployments.schemas import DeploymentStatus
from infra.core.errors import NotFound, RepositoryError, Unavailable, aws_errors
from infra.core.resources import PRODUCTION_STAGE
from infra.local import demo
from infra.local.demo import lifecycle
from projects.repository import get_project, import_project

DEFAULT_SEED = 42
DEFAULT_TENANTS = 8
DEFAULT_MAX_DEPLOYMENTS = 2500
MAX_TENANTS = 100
IMPORT_CHUNK = 250  # deployments per import_deployments call (calls run in parallel)
S = DeploymentStatus
SINGAPORE = ZoneInfo("Asia/Singapore")


@dataclass
class Totals:
    tenants: int = 0
    projects: int = 0
    new_projects: int = 0
    deployments: int = 0
    logs: int = 0
    artifacts: int = 0
    statuses: dict[str, int] = field(default_factory=lambda: {s.value: 0 for s in S})

    def add(self, other: Totals) -> None:
        for name in ("tenants", "projects", "new_projects", "deployments", "logs", "artifacts"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for status, count in other.statuses.items():
            self.statuses[status] += count


class Command(BaseCommand):
    help = __doc__  # the module's docstring is the command's --help

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"default {DEFAULT_SEED}"
        )
        parser.add_argument(
            "--tenants",
            type=int,
            default=DEFAULT_TENANTS,
            help=f"how many tenants (1-{MAX_TENANTS}, default {DEFAULT_TENANTS})",
        )
        parser.add_argument(
            "--max-deployments",
            type=int,
            default=DEFAULT_MAX_DEPLOYMENTS,
            help=f"at most this many deployments per project (default {DEFAULT_MAX_DEPLOYMENTS})",
        )
        parser.add_argument("--workers", type=int, default=8, help="parallel writers (default 8)")
        parser.add_argument(
            "--rewrite-objects",
            action="store_true",
            help="write every build log and artifact even when S3 already holds them",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="print only a JSON summary on stdout (progress goes to stderr)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        seed, tenants = options["seed"], options["tenants"]
        max_deployments, workers = options["max_deployments"], options["workers"]
        as_json, rewrite = options["json"], options["rewrite_objects"]
        verbose = options["verbosity"] >= 1
        if settings.ANCHOR_STAGE == PRODUCTION_STAGE:
            raise CommandError("refusing to load demo data into the production stage")
        if not 1 <= tenants <= MAX_TENANTS:
            raise CommandError(f"--tenants must be between 1 and {MAX_TENANTS}, not {tenants}")
        if max_deployments < 1:
            raise CommandError(f"--max-deployments must be at least 1, not {max_deployments}")
        if not 1 <= workers <= 64:
            raise CommandError(f"--workers must be between 1 and 64, not {workers}")
        out = self.stderr if as_json else self.stdout

        def say(message: str, style: Callable[[str], str] | None = None) -> None:
            if verbose:
                out.write(style(message) if style else message)

        started = time.monotonic()
        plans = demo.plan_tenants(seed, tenants)
        try:
            anchor, found = self._anchor(plans[0])
            say(
                f"Seeding demo data into stage {settings.ANCHOR_STAGE} (seed {seed}, "
                f"{tenants} tenants, at most {max_deployments:,} deployments a project)"
            )
            say(
                f"  times are relative to {_singapore(anchor)} "
                + ("(the first seed's, found in the data)" if found else "(now: a first seed)")
            )
            built = [
                demo.build_tenant(plan, anchor=anchor, max_deployments=max_deployments)
                for plan in plans
            ]
            say(f"  generated in {time.monotonic() - started:.1f}s")
            # Everything is written in tenant order and the last tenant's last log (the
            # sentinel) once more at the very end: if DynamoDB holds the sentinel deployment and
            # S3 its log, an earlier run wrote it all and both stores kept it, so nothing is
            # written (staff changes made since stay as they are). An S3 emulator that lost its
            # data lost the sentinel too.
            sentinel = _sentinel(built[-1])
            objects = rewrite or sentinel is None or not _log_stored(sentinel)
            in_place = found and not objects and _deployment_stored(sentinel)
            totals = Totals()
            highlights = Highlights()
            if in_place:
                say("  demo data already in place (DynamoDB and S3): nothing written")
                for tenant in built:
                    totals.add(_counted(tenant))
                    highlights.collect(tenant, datetime.now(UTC))
            else:
                say(
                    "  build logs and artifacts: "
                    + (
                        "writing them"
                        if objects
                        else "S3 still holds them (--rewrite-objects writes them)"
                    )
                )
                self._write_all(plans, built, totals, highlights, objects, sentinel, say, workers)
            highlights.refresh(built, datetime.now(UTC))
            with aws_errors():  # the lifecycle and reconcile cases (infra.local.demo.lifecycle)
                planted, planted_objects = lifecycle.plant(built, write=objects)
        except Unavailable as error:
            raise CommandError(
                f"{error} (is stage {settings.ANCHOR_STAGE} provisioned and reachable? "
                f"manage.py provision --stage {settings.ANCHOR_STAGE})"
            ) from error
        except RepositoryError as error:
            raise CommandError(str(error)) from error
        elapsed = time.monotonic() - started
        summary = {
            "stage": settings.ANCHOR_STAGE,
            "seed": seed,
            "anchor": anchor.isoformat().replace("+00:00", "Z"),
            "tenants": totals.tenants,
            "projects": totals.projects,
            "newProjects": totals.new_projects,
            "deployments": totals.deployments,
            "statuses": totals.statuses,
            "buildLogs": totals.logs,
            "artifacts": totals.artifacts,
            "objectsWritten": objects,
            "written": not in_place,
            "seconds": round(elapsed, 1),
            "tryInFind": highlights.as_dict(),
            "lifecycleCases": {label: value for label, value, _ in planted},
            "lifecycleObjects": planted_objects,
        }
        if as_json:
            self.stdout.write(json.dumps(summary, indent=2))
            return
        self._print_summary(summary, highlights)
        for label, value, note in planted:
            self.stdout.write(f"  {label:<34} {value:<22} {note}")

    # --- steps ---------------------------------------------------------------------------------

    def _write_all(
        self,
        plans: list[demo.TenantPlan],
        built: list[demo.DemoTenant],
        totals: Totals,
        highlights: Highlights,
        objects: bool,
        sentinel: demo.DemoDeployment | None,
        say: Callable[[str], None],
        workers: int,
    ) -> None:
        tenants = len(plans)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seed") as pool:
            for plan, tenant in zip(plans, built, strict=True):
                tenant_started = time.monotonic()
                counts = self._write_tenant(pool, tenant, objects=objects, last=sentinel)
                totals.add(counts)
                highlights.collect(tenant, datetime.now(UTC))
                say(
                    f"  [{plan.index + 1}/{tenants}] {plan.user_id:<18} {plan.company:<22} "
                    f"{counts.projects} projects ({counts.new_projects} new), "
                    f"{counts.deployments:,} deployments, {counts.logs:,} logs, "
                    f"{counts.artifacts:,} artifacts  "
                    f"{time.monotonic() - tenant_started:.1f}s"
                )
        if objects and sentinel is not None and sentinel.log is not None:
            put_build_log(sentinel.record, sentinel.log)

    def _anchor(self, first: demo.TenantPlan) -> tuple[datetime, bool]:
        """The moment demo times are relative to: found from the first project if seeded before."""
        project = first.projects[0]
        try:
            stored = get_project(first.user_id, project.project_id)
        except NotFound:
            return datetime.now(UTC).replace(microsecond=0), False
        return stored.created_at + project.age, True

    def _write_tenant(
        self,
        pool: ThreadPoolExecutor,
        tenant: demo.DemoTenant,
        *,
        objects: bool,
        last: demo.DemoDeployment | None,
    ) -> Totals:
        """Write one tenant: projects, then deployments and (if `objects`) S3 objects in parallel.

        `last` (the sentinel) is left for the caller to write after everything else.
        """
        counts = Totals(tenants=1)
        for project in tenant.projects:
            counts.projects += 1
            counts.new_projects += import_project(project.record)
        jobs: list[Future[Any]] = []
        for project in tenant.projects:
            records = [d.record for d in project.deployments]
            for chunk in _chunks(records, IMPORT_CHUNK):
                jobs.append(
                    pool.submit(
                        import_deployments, tenant.user_id, project.record.project_id, chunk
                    )
                )
            for deployment in project.deployments:
                counts.deployments += 1
                counts.statuses[deployment.record.status.value] += 1
                counts.logs += deployment.log is not None
                counts.artifacts += len(deployment.artifacts)
                if not objects:
                    continue
                if deployment.log is not None and deployment is not last:
                    jobs.append(pool.submit(put_build_log, deployment.record, deployment.log))
                for artifact in deployment.artifacts:
                    jobs.append(
                        pool.submit(
                            put_artifact,
                            deployment.record,
                            artifact.name,
                            artifact.body,
                            content_type=artifact.content_type,
                        )
                    )
        for job in jobs:
            job.result()  # re-raises the first failure (the project's own exceptions)
        return counts

    def _print_summary(self, summary: dict[str, Any], highlights: Highlights) -> None:
        if not summary["written"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data already in place, nothing written ({summary['seconds']}s): "
                    f"{summary['tenants']} tenants, {summary['projects']} projects, "
                    f"{summary['deployments']:,} deployments as seeded, "
                    f"{summary['buildLogs']:,} build logs, {summary['artifacts']:,} artifacts."
                )
            )
        else:
            statuses = ", ".join(f"{n:,} {name}" for name, n in summary["statuses"].items())
            self.stdout.write(
                self.style.SUCCESS(
                    f"Done in {summary['seconds']}s: {summary['tenants']} tenants, "
                    f"{summary['projects']} projects ({summary['newProjects']} new), "
                    f"{summary['deployments']:,} deployments ({statuses}), "
                    f"{summary['buildLogs']:,} build logs, {summary['artifacts']:,} artifacts"
                    + ("." if summary["objectsWritten"] else " (already in S3).")
                )
            )
        self.stdout.write("Ids to paste into Find: (as the data stands now)")
        for label, value, note in highlights.rows():
            self.stdout.write(f"  {label:<34} {value:<22} {note}")


def _singapore(moment: datetime) -> str:
    """A moment as Singapore time, labelled (the one zone the console shows)."""
    return f"{moment.astimezone(SINGAPORE):%Y-%m-%d %H:%M:%S} Singapore time"


def _log_stored(deployment: demo.DemoDeployment) -> bool:
    record = deployment.record
    return get_build_log(record.user_id, record, tail_lines=0).available


def _deployment_stored(deployment: demo.DemoDeployment | None) -> bool:
    if deployment is None:
        return False
    try:
        get_deployment(deployment.record.user_id, deployment.record.deployment_id)
    except NotFound:
        return False
    return True


def _counted(tenant: demo.DemoTenant) -> Totals:
    """What seeding this tenant wrote (as generated; staff may have changed statuses since)."""
    counts = Totals(tenants=1, projects=len(tenant.projects))
    for project in tenant.projects:
        for deployment in project.deployments:
            counts.deployments += 1
            counts.statuses[deployment.record.status.value] += 1
            counts.logs += deployment.log is not None
            counts.artifacts += len(deployment.artifacts)
    return counts


def _sentinel(tenant: demo.DemoTenant) -> demo.DemoDeployment | None:
    """The tenant's newest deployment that has a build log."""
    for project in reversed(tenant.projects):
        for deployment in reversed(project.deployments):
            if deployment.log is not None:
                return deployment
    return None


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Highlights:
    """The records a newcomer should look at first, gathered while seeding."""

    def __init__(self) -> None:
        self.found: dict[str, tuple[str, str]] = {}

    def _keep(self, key: str, value: str, note: str) -> None:
        self.found.setdefault(key, (value, note))

    def collect(self, tenant: demo.DemoTenant, moment: datetime) -> None:
        if tenant.plan.index == 0:
            self._keep("tenant", tenant.user_id, tenant.plan.company)
        for project in tenant.projects:
            plan, deployments = project.plan, project.deployments
            if plan.big:
                self._keep(
                    "big_project",
                    plan.project_id,
                    f"{plan.name}: {len(deployments):,} deployments ({tenant.user_id})",
                )
            for deployment in reversed(deployments):
                record = deployment.record
                if plan.stuck and record.status is S.BUILDING and record.started_at:
                    hours = (moment - record.started_at).total_seconds() / 3600
                    self._keep("stuck", record.deployment_id, f"building for {hours:.1f} h")
                if plan.missing_log and deployment.log is None and record.status.is_final:
                    self._keep("missing_log", record.deployment_id, f"{record.status}, no log")
                if record.status is S.ERROR and deployment.log is not None:
                    self._keep("failed", record.deployment_id, shorten(record.error or "", 60))
                if record.status is S.QUEUED:
                    self._keep("queued", record.deployment_id, f"{tenant.user_id}/{plan.name}")

    def refresh(self, tenants: list[demo.DemoTenant], moment: datetime) -> None:
        """Re-read the hints whose state staff can change (a stuck or a queued build) from the
        data, so a later start never describes a build someone has since cancelled or failed."""
        for key, status in (("stuck", S.BUILDING), ("queued", S.QUEUED)):
            self.found.pop(key, None)
            for tenant in tenants:
                for project in tenant.projects:
                    if key == "stuck" and not project.plan.stuck:
                        continue
                    if key in self.found:
                        break
                    page = list_project_deployments(
                        tenant.user_id, project.record.project_id, status=status, limit=1
                    )
                    for record in page.items:
                        if key == "stuck" and record.started_at:
                            hours = (moment - record.started_at).total_seconds() / 3600
                            self._keep(key, record.deployment_id, f"building for {hours:.1f} h")
                        elif key == "queued":
                            note = f"{tenant.user_id}/{project.plan.name}"
                            self._keep(key, record.deployment_id, note)

    LABELS = {
        "tenant": "a tenant (userId)",
        "big_project": "a project with a long history",
        "stuck": "a build stuck in building",
        "missing_log": "a deployment whose log is missing",
        "failed": "a failed build",
        "queued": "a deployment queued right now",
    }

    def rows(self) -> list[tuple[str, str, str]]:
        return [
            (label, *self.found[key]) for key, label in self.LABELS.items() if key in self.found
        ]

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, (value, _note) in self.found.items()}
