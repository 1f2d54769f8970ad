"""seed_demo plants one of each lifecycle and reconciliation case, so `make run` shows them all."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from deployments import archive
from deployments.logstore import get_build_log
from deployments.repository import get_deployment, resolve_deployment_tenant
from infra.core import aws
from infra.local.demo import lifecycle
from tests.conftest import build_stage
from tests.integration.test_seed_demo import seed

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(mocked_aws: None) -> dict[str, Any]:
    build_stage()
    return seed()


def _log(deployment_id: str):
    user_id, _project_id = resolve_deployment_tenant(deployment_id)
    deployment = get_deployment(user_id, deployment_id)
    return get_build_log(user_id, deployment, tail_lines=5)


def test_the_seed_plants_archived_restored_and_orphaned_objects(seeded):
    cases = seeded["lifecycleCases"]

    glacier = _log(cases["a log archived in GLACIER"])
    deep = _log(cases["a log archived in DEEP_ARCHIVE"])
    restored = _log(cases["a log restored from GLACIER"])

    assert glacier.archived and glacier.storage_class == "GLACIER" and glacier.restore is None
    assert deep.archived and deep.storage_class == "DEEP_ARCHIVE"
    assert restored.available and restored.storage_class == "GLACIER"
    assert restored.restore is not None and restored.restore.restored
    assert archive.log_retention("GLACIER", restored.last_modified).next_class == "DEEP_ARCHIVE"


def test_reconcile_finds_each_planted_inconsistency_in_the_demo_data(seeded):
    out = io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command("reconcile", "--stage", settings.ANCHOR_STAGE, "--json", stdout=out)

    assert error.value.returncode == 2
    document = json.loads(out.getvalue())
    kinds = {(f["kind"], f["deploymentId"]) for f in document["findings"]}
    assert ("orphan_log", lifecycle.ORPHAN_LOG_ID) in kinds
    assert ("orphan_artifacts", lifecycle.ORPHAN_ARTIFACTS_ID) in kinds
    assert {k for k, _ in kinds} == {
        "missing_log",
        "orphan_log",
        "orphan_artifacts",
        "foreign_object",
    }
    assert document["counts"]["missing_log"] >= 1


def test_simulated_builds_grow_a_log_line_by_line_then_end_ready(seeded):
    puts: list[str] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        puts.append(params["Key"])

    events = aws.s3().meta.events
    events.register("provide-client-params.s3.PutObject", record, unique_id="sim-puts")
    try:
        call_command(
            "simulate_builds",
            "--cycles",
            "1",
            "--lines",
            "3",
            "--interval",
            "0.01",
            stdout=(out := io.StringIO()),
        )
    finally:
        events.unregister("provide-client-params.s3.PutObject", unique_id="sim-puts")

    deployment_id = out.getvalue().split()[1]
    user_id, _ = resolve_deployment_tenant(deployment_id)
    deployment = get_deployment(user_id, deployment_id)
    log = get_build_log(user_id, deployment)
    assert deployment.status.value == "ready"
    assert len(log.lines) == 3 and log.lines[-1].endswith("(3/3)")
    assert sum(key.endswith(f"{deployment_id}/build.log") for key in puts) == 3
