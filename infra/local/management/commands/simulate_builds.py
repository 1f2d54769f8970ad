"""`manage.py simulate_builds`: a build that runs in the local stack, for `make run`'s
`--simulate-builds`: a new deployment of the first demo tenant's first project goes queued ->
building, its log grows by a line every few seconds, and it ends ready; then the next one."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from deployments import artifactstore, logstore
from deployments import repository as deployments
from deployments.schemas import DeploymentStatus
from infra.core.errors import RepositoryError
from infra.core.resources import PRODUCTION_STAGE
from infra.local import demo
from infra.local.management.commands.seed_demo import DEFAULT_SEED, DEFAULT_TENANTS

STEPS = (
    "Cloning repository",
    "Installing dependencies (npm ci)",
    "added 1,284 packages in 21s",
    "Running build script: next build",
    "Creating an optimized production build",
    "Compiled successfully",
    "Collecting page data",
    "Generating static pages",
    "Finalizing page optimization",
    "Uploading artifacts",
)


class Command(BaseCommand):
    help = (
        "Simulate builds in the local stack: a deployment stays building while its log grows a "
        "line every --interval seconds, then ends ready. Runs until stopped (or --cycles)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=3.0, help="seconds between lines")
        parser.add_argument("--lines", type=int, default=40, help="log lines per build")
        parser.add_argument("--cycles", type=int, default=0, help="builds to run (0: forever)")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.ANCHOR_STAGE == PRODUCTION_STAGE:
            raise CommandError("refusing to simulate builds in the production stage")
        interval, lines, cycles = options["interval"], options["lines"], options["cycles"]
        if interval <= 0 or lines < 1 or cycles < 0:
            raise CommandError("--interval must be positive, --lines at least 1, --cycles >= 0")
        plan = demo.plan_tenants(DEFAULT_SEED, DEFAULT_TENANTS)[0]
        user_id, project_id = plan.user_id, plan.projects[0].project_id
        done = 0
        try:
            while cycles == 0 or done < cycles:
                self._one_build(user_id, project_id, interval, lines)
                done += 1
        except RepositoryError as error:
            raise CommandError(f"simulated build stopped: {error}") from error

    def _one_build(self, user_id: str, project_id: str, interval: float, lines: int) -> None:
        push = {"commit_sha": f"{int(time.time()):x}".ljust(7, "0")[:40], "message": "Live demo"}
        deployment = deployments.create_deployment(user_id, project_id, push)
        deployment = deployments.update_deployment_status(
            deployment.deployment_id, DeploymentStatus.BUILDING
        )
        self.stdout.write(f"building {deployment.deployment_id} ({user_id}/{project_id})")
        text = ""
        for number in range(lines):
            step = STEPS[number % len(STEPS)]
            text += f"[{time.strftime('%H:%M:%S')}] {step} ({number + 1}/{lines})\n"
            logstore.put_build_log(deployment, text)  # S3 has no append: the log is replaced
            time.sleep(interval)
        artifactstore.put_artifact(deployment, "index.html", b"<!doctype html><title>live</title>")
        deployments.update_deployment_status(deployment.deployment_id, DeploymentStatus.READY)
        self.stdout.write(f"ready {deployment.deployment_id}")
