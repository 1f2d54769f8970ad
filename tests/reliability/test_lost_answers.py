"""Writes whose answer is lost after they took effect: never reported as failed, never doubled.

Every kind of write (projects created, imported and edited; deployments created, imported and
moved by the orchestrator; staff cancels and mark-as-error) runs with 30 % of its attempts
answered by a 500 *after* the request took effect, below botocore's retries. Each call must
succeed, each write must be stored once, every counter must equal a recount, and every staff
action must be in the audit trail exactly once. On moto and on DynamoDB Local.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from deployments import derived, maintenance
from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import now
from infra.core.errors import RepositoryError
from projects import repository as projects
from projects.schemas import ProjectSchema
from staff import actions
from staff.models import AuditEntry
from tests.factories import PUSH
from tests.faults import inject, sometimes
from tests.reliability.conftest import scale, stored_statuses

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_stage")]

S = DeploymentStatus
WRITES = {"PutItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem"}
TENANT = "tenant-faults"


def _counters_match_rows(project_id: str) -> bool:
    rows = list(maintenance._rows(project_id))
    counted = {d: +c for d, c in derived.day_counts(rows).items()}
    stored = {d: +c for d, (_rev, c) in maintenance._counter_revs(project_id).items()}
    return {d: c for d, c in stored.items() if c} == counted


def test_thirty_percent_lost_answers_give_no_false_failure_and_no_double_write(
    operations_user,
):
    rounds = scale(ci=10, full=40)
    failures: Counter[str] = Counter()
    done: Counter[str] = Counter()
    expected_status: dict[str, S] = {}
    audited = Counter()

    def attempt(kind: str, call):
        try:
            result = call()
        except RepositoryError as error:
            failures[f"{kind}: {type(error).__name__}"] += 1
            return None
        done[kind] += 1
        return result

    with inject(aws.dynamodb(), sometimes(0.3, "500-after", only=WRITES, spare_last=True)) as log:
        made: list[ProjectSchema] = []
        for n in range(rounds * 2):
            project = attempt(
                "create_project",
                lambda n=n: projects.create_project(
                    TENANT, {"name": f"site-{n:03d}", "repo_url": f"https://github.com/f/s{n}"}
                ),
            )
            if project:
                made.append(project)
        for project in made[:rounds]:
            fresh = projects.get_project(TENANT, project.project_id)
            if attempt(
                "edit_project",
                lambda p=fresh: actions.edit_project(
                    operations_user,
                    TENANT,
                    p.project_id,
                    {"name": p.name + "-x"},
                    expected_version=p.version,
                    reason="test: tenant asked for it",
                ),
            ):
                audited["edit"] += 1
        for n in range(rounds):
            record = ProjectSchema(
                project_id=f"prj_imp{n:013d}",
                user_id=TENANT,
                name=f"imported-{n}",
                repo_url="https://github.com/f/imported",
                branch="main",
                created_at=now(),
                updated_at=now(),
            )
            attempt("import_project", lambda r=record: projects.import_project(r))
        target = made[0]
        pushed: list[DeploymentSchema] = []
        for _ in range(rounds * 6):
            deployment = attempt(
                "create_deployment",
                lambda: deployments.create_deployment(TENANT, target.project_id, PUSH),
            )
            if deployment:
                pushed.append(deployment)
                expected_status[deployment.deployment_id] = S.QUEUED
        history = [
            DeploymentSchema(
                deployment_id=f"dpl_hist{n:012d}",
                project_id=target.project_id,
                user_id=TENANT,
                commit_sha="abcdef1",
                branch="main",
                status=S.READY,
                created_at=now() - timedelta(days=2, minutes=n),
                updated_at=now() - timedelta(days=2, minutes=n),
            )
            for n in range(rounds * 4)
        ]
        for chunk in range(0, len(history), 8):
            attempt(
                "import_deployments",
                lambda c=chunk: deployments.import_deployments(
                    TENANT, target.project_id, history[c : c + 8]
                ),
            )
        for d in history:
            expected_status[d.deployment_id] = S.READY
        building = pushed[: rounds * 4]
        for d in building:
            if attempt(
                "update_deployment_status",
                lambda d=d: deployments.update_deployment_status(d.deployment_id, S.BUILDING),
            ):
                expected_status[d.deployment_id] = S.BUILDING
        for d in building[:rounds]:
            if attempt(
                "update_deployment_status",
                lambda d=d: deployments.update_deployment_status(d.deployment_id, S.READY),
            ):
                expected_status[d.deployment_id] = S.READY
        for d in pushed[rounds * 4 :]:
            if attempt(
                "cancel",
                lambda d=d: actions.cancel_deployment(
                    operations_user, TENANT, d.deployment_id, reason="test: stop this build"
                ),
            ):
                expected_status[d.deployment_id] = S.CANCELED
                audited["cancel"] += 1
        stuck = building[rounds : rounds * 2]
        for d in stuck:
            deployments.update_deployment(d.deployment_id, started_at=now() - timedelta(hours=2))
            if attempt(
                "mark_failed",
                lambda d=d: actions.mark_deployment_failed(
                    operations_user, TENANT, d.deployment_id, reason="test: the build is stuck"
                ),
            ):
                expected_status[d.deployment_id] = S.ERROR
                audited["fail"] += 1

    writes = sum(done.values())
    lost = sum(n for (op, fault), n in log.injected.items() if fault == "500-after")
    print(
        f"\n{writes} writes ({dict(done)}), {lost} answers lost after the write took effect "
        f"({sum(log.attempts[o] for o in WRITES)} write attempts): "
        f"{sum(failures.values())} false failures {dict(failures)}"
    )
    assert lost >= writes * 0.2  # the faults really happened
    assert writes >= scale(ci=150, full=500)
    assert not failures

    # Read back: each write stored exactly once, in the state the caller was told.
    stored = stored_statuses(TENANT, target.project_id)
    assert stored == expected_status
    names: Counter[str] = Counter()
    cursor = None
    while True:  # every project of the tenant, page by page
        listed = projects.list_user_projects(TENANT, limit=100, cursor=cursor)
        names.update(p.name for p in listed.items)
        if not (cursor := listed.next_cursor):
            break
    assert all(count == 1 for count in names.values())
    assert len(names) == len(made) + rounds
    assert _counters_match_rows(target.project_id)

    # The audit trail: every acknowledged staff action once, nothing else.
    entries = Counter(
        (e.object_id, e.change_message.split(" (")[0]) for e in AuditEntry.objects.all()
    )
    assert all(n == 1 for n in entries.values()), [k for k, n in entries.items() if n > 1]
    assert len(entries) == sum(audited.values())
    print(f"audit entries: {len(entries)} for {sum(audited.values())} acknowledged actions")
