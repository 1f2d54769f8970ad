"""`manage.py seed_demo` on moto in-process: what a newcomer sees, and that re-runs are safe."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from deployments.artifactstore import list_artifacts
from deployments.logstore import get_build_log
from deployments.repository import (
    get_deployment,
    list_project_deployments,
    list_user_deployments,
    resolve_deployment_tenant,
    transition_deployment,
)
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.resources import ARTIFACTS, LOGS, log_key
from infra.local import demo
from infra.local.management.commands import seed_demo
from projects.repository import get_project, list_user_projects
from tests.conftest import build_stage

# One writer: moto in-process is not safe under threads.
SMALL = ("--tenants", "2", "--max-deployments", "30", "--workers", "1")
S = DeploymentStatus


@pytest.fixture
def stage(mocked_aws: None) -> None:
    """The test stage on moto in-process only (seeding is measured there, not on each engine)."""
    build_stage()


def seed(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("seed_demo", *SMALL, *args, "--json", stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def everything(user_id: str) -> list[DeploymentSchema]:
    """All of a tenant's deployments, page by page through next_cursor."""
    rows: list[DeploymentSchema] = []
    cursor = None
    while True:
        page = list_user_deployments(user_id, limit=100, cursor=cursor)
        rows += page.items
        cursor = page.next_cursor
        if cursor is None:
            return rows


def tenants_of(summary: dict[str, Any]) -> list[str]:
    return [plan.user_id for plan in demo.plan_tenants(summary["seed"], summary["tenants"])]


@pytest.mark.usefixtures("stage")
def test_seeding_prints_progress_per_tenant_and_ids_to_paste_into_find() -> None:
    out = StringIO()
    started = time.monotonic()
    call_command("seed_demo", *SMALL, stdout=out)
    elapsed = time.monotonic() - started
    text = out.getvalue()

    assert "[1/2]" in text and "[2/2]" in text
    assert "Ids to paste into Find:" in text
    for label in ("a build stuck in building", "a deployment whose log is missing"):
        assert label in text
    assert "Done in " in text
    # Measured on moto in-process: about 1.5 s for this size on the team's 2-core machine.
    assert elapsed < 20, f"seeding 2 small tenants took {elapsed:.1f}s"


@pytest.mark.usefixtures("stage")
def test_what_the_summary_counts_is_what_the_repository_returns() -> None:
    summary = seed()

    user_ids = tenants_of(summary)
    projects = [p for u in user_ids for p in list_user_projects(u, limit=100).items]
    deployments = [d for u in user_ids for d in everything(u)]
    assert len(projects) == summary["projects"]
    assert len(deployments) == summary["deployments"]
    assert len({d.deployment_id for d in deployments}) == len(deployments)
    assert summary["statuses"][S.READY] > summary["statuses"][S.ERROR] > 0


@pytest.mark.usefixtures("stage")
def test_a_second_run_adds_nothing_even_days_later(monkeypatch: pytest.MonkeyPatch) -> None:
    first = seed()
    user_ids = tenants_of(first)
    before = {d.deployment_id: d.created_at for u in user_ids for d in everything(u)}

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:
            return datetime.now(tz) + timedelta(days=3)

    monkeypatch.setattr(seed_demo, "datetime", Later)
    second = seed()

    after = {d.deployment_id: d.created_at for u in user_ids for d in everything(u)}
    assert after == before
    assert second["newProjects"] == 0
    assert second["anchor"] == first["anchor"]


def empty_buckets() -> None:
    """What a restart of the in-memory S3 emulator does to the objects (provision re-creates the
    buckets themselves before seed_demo runs)."""
    s3 = aws.s3()
    for bucket in (LOGS.name(), ARTIFACTS.name()):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=item["Key"])


@pytest.fixture
def s3_puts(stage: None) -> Iterator[list[str]]:
    """The keys of every S3 PutObject made during the test."""
    keys: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        keys.append(params["Key"])

    events = aws.s3().meta.events
    events.register("provide-client-params.s3.PutObject", record, unique_id="seed-puts")
    yield keys
    events.unregister("provide-client-params.s3.PutObject", unique_id="seed-puts")


@pytest.mark.usefixtures("stage")
def test_a_second_run_restores_build_logs_the_s3_emulator_lost() -> None:
    summary = seed()
    failed = get_deployment(tenants_of(summary)[0], summary["tryInFind"]["failed"])
    empty_buckets()
    assert get_build_log(failed.user_id, failed).missing

    again = seed()

    log = get_build_log(failed.user_id, failed)
    assert again["objectsWritten"] is True
    assert log.available
    assert "exited with" in log.text or "maximum duration" in log.text


def test_a_second_run_skips_s3_objects_still_there_unless_told(s3_puts: list[str]) -> None:
    first = seed()
    written = len(s3_puts)
    # ... and the lifecycle and reconcile cases (infra.local.demo.lifecycle) once more.
    assert written == first["buildLogs"] + first["artifacts"] + first["lifecycleObjects"]
    failed = get_deployment(tenants_of(first)[0], first["tryInFind"]["failed"])

    s3_puts.clear()
    assert seed()["objectsWritten"] is False
    assert s3_puts == []

    aws.s3().delete_object(Bucket=LOGS.name(), Key=log_key(failed.project_id, failed.deployment_id))
    assert seed("--rewrite-objects")["objectsWritten"] is True
    assert len(s3_puts) == written
    assert get_build_log(failed.user_id, failed).available


@pytest.mark.usefixtures("stage")
def test_the_highlighted_ids_show_what_support_meets() -> None:
    summary = seed()
    found = summary["tryInFind"]
    owner = {d.deployment_id: d.user_id for u in tenants_of(summary) for d in everything(u)}

    stuck = get_deployment(owner[found["stuck"]], found["stuck"])
    assert stuck.status is S.BUILDING
    assert datetime.now(UTC) - stuck.started_at > timedelta(hours=4)
    assert get_build_log(stuck.user_id, stuck).available

    lost = get_deployment(owner[found["missing_log"]], found["missing_log"])
    assert lost.status.is_final
    assert get_build_log(lost.user_id, lost).missing

    failed = get_deployment(owner[found["failed"]], found["failed"])
    assert failed.status is S.ERROR and failed.error

    queued = get_deployment(owner[found["queued"]], found["queued"])
    assert queued.status is S.QUEUED and queued.started_at is None


@pytest.mark.usefixtures("stage")
def test_each_project_shows_its_newest_deployment_as_latest() -> None:
    summary = seed()
    for user_id in tenants_of(summary):
        for project in list_user_projects(user_id).items:
            newest = list_project_deployments(user_id, project.project_id, limit=1).items[0]
            assert project.latest_deployment is not None
            assert project.latest_deployment.deployment_id == newest.deployment_id
            assert get_project(user_id, project.project_id).created_at < newest.created_at


@pytest.mark.usefixtures("stage")
def test_recent_ready_deployments_have_artifacts_to_download() -> None:
    summary = seed()
    recent_ready = [
        d
        for u in tenants_of(summary)
        for d in everything(u)
        if d.status is S.READY and datetime.now(UTC) - d.created_at < timedelta(days=13)
    ]
    assert recent_ready
    names = {a.name for a in list_artifacts(recent_ready[0].user_id, recent_ready[0])}
    assert names == {"build-manifest.json", "output.tar.gz"}


@pytest.mark.usefixtures("mocked_aws")
def test_an_unprovisioned_stage_is_one_clear_line_naming_provision() -> None:
    with pytest.raises(CommandError, match="provision --stage test"):
        call_command("seed_demo", *SMALL, stdout=StringIO())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--tenants", "0"), "--tenants must be between"),
        (("--max-deployments", "0"), "--max-deployments must be at least 1"),
    ],
)
def test_impossible_sizes_are_refused(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *args, stdout=StringIO())


def test_demo_data_is_never_loaded_into_production(settings: Any) -> None:
    settings.ANCHOR_STAGE = "production"
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo", *SMALL, stdout=StringIO())


def test_a_second_run_on_data_in_place_writes_nothing_and_rereads_the_hints(
    s3_puts: list[str],
) -> None:
    first = seed()
    queued = first["tryInFind"]["queued"]
    user_id = resolve_deployment_tenant(queued)[0]
    transition_deployment(user_id, queued, S.CANCELED)  # staff cancel it meanwhile
    writes: list[str] = []

    def record(model: Any, **_: Any) -> None:
        if not model.name.startswith(("Get", "Query", "Scan", "Describe", "BatchGet")):
            writes.append(model.name)

    events = aws.dynamodb().meta.events
    events.register("before-parameter-build.dynamodb", record, unique_id="seed-writes")
    s3_puts.clear()
    try:
        second = seed()
    finally:
        events.unregister("before-parameter-build.dynamodb", unique_id="seed-writes")

    assert second["written"] is False
    assert writes == [] and s3_puts == []
    assert get_deployment(user_id, queued).status is S.CANCELED  # the staff change stays
    assert second["tryInFind"].get("queued") != queued
