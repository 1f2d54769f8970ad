"""The chaos run: simulated staff (pages, edits, cancels) and a simulated build orchestrator
(creates, status changes) at once, against DynamoDB Local, with about 30 % of calls meeting a
fault (throttling, a 500 before or after the write took effect, a timeout after it took effect).
It ends with an anomaly table, which must be all zeros. `make chaos` runs 10,000 operations;
`make test` a smaller count."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client
from django.urls import reverse

from deployments import derived, maintenance
from deployments import repository as deployments
from deployments.schemas import DeploymentStatus
from infra.core import aws
from infra.core.errors import InvalidTransition, RepositoryError
from projects import repository as projects
from staff import actions
from staff.models import AuditEntry
from tests.faults import inject, mixed, sometimes
from tests.reliability.conftest import scale

pytestmark = [
    pytest.mark.contract,
    # Committed rows: the staff thread writes the audit trail from its own connection.
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("aws_stage"),
    pytest.mark.parametrize("aws_stage", ["ddblocal"], indirect=True),
]

S = DeploymentStatus
PUSH = {"commit_sha": "0123456789abcdef0123456789abcdef01234567", "message": "chaos"}
NEXT = {S.QUEUED: [S.BUILDING, S.CANCELED], S.BUILDING: [S.READY, S.ERROR, S.CANCELED]}
TENANTS = ("chaos-a", "chaos-b", "chaos-c")


def test_ten_thousand_operations_under_thirty_percent_faults_end_with_no_anomaly(
    operations_user,
):
    operations = scale(ci=1_500, full=15_000)  # about 2/3 are counted (the rest had no move)
    orchestrators = 6
    faults = mixed(
        sometimes(0.12, "throttle", seed=1),
        sometimes(0.12, "500-before", seed=2, spare_last=True),
        sometimes(0.09, "500-after", seed=3, spare_last=True),
        sometimes(0.04, "timeout-after", seed=4, spare_last=True),
    )
    owned: dict[str, list[str]] = {}  # project id -> its deployment ids (acknowledged creates)
    tenant_of: dict[str, str] = {}
    for tenant in TENANTS:
        for n in range(2):
            project = projects.create_project(
                tenant, {"name": f"{tenant}-{n}", "repo_url": f"https://github.com/c/{tenant}{n}"}
            )
            owned[project.project_id] = []
            tenant_of[project.project_id] = tenant
    lock = threading.Lock()
    acknowledged: dict[str, S] = {}  # deployment id -> status the callers were told
    ok_moves: dict[str, list[S]] = defaultdict(list)
    staff_acked: Counter[str] = Counter()
    audit_expected: Counter[tuple[str, str]] = Counter()
    failed: list[str] = []
    anomalies: Counter[str] = Counter()
    pages: Counter[int] = Counter()
    done: Counter[str] = Counter()

    def orchestrator(process: int) -> None:
        rng = random.Random(process)
        for _ in range(operations * 3 // 4 // orchestrators):
            project_id = rng.choice(list(owned))
            with lock:
                mine = list(owned[project_id])
            try:
                if not mine or rng.random() < 0.25:
                    made = deployments.create_deployment(tenant_of[project_id], project_id, PUSH)
                    with lock:
                        owned[project_id].append(made.deployment_id)
                        acknowledged[made.deployment_id] = S.QUEUED
                    done["create"] += 1
                    continue
                deployment_id = rng.choice(mine[-15:])
                with lock:
                    current = acknowledged[deployment_id]
                if current not in NEXT:
                    continue
                to = rng.choice(NEXT[current])
                deployments.update_deployment_status(deployment_id, to)
                with lock:
                    acknowledged[deployment_id] = to
                    ok_moves[deployment_id].append(to)
                done["transition"] += 1
            except InvalidTransition:
                done["transition refused (lost a race)"] += 1
            except RepositoryError as error:
                with lock:
                    anomalies[f"orchestrator call failed: {type(error).__name__}"] += 1
                    failed.append(f"orchestrator: {error}")

    def staff() -> None:
        rng = random.Random(99)
        client = Client()
        client.force_login(operations_user)
        for _ in range(operations // 4):
            project_id = rng.choice(list(owned))
            tenant = tenant_of[project_id]
            with lock:
                mine = list(owned[project_id])
            roll = rng.random()
            if roll < 0.6 or not mine:
                url = rng.choice(
                    [
                        reverse("admin:tenant_detail", args=[tenant]),
                        reverse("admin:projects_project_detail", args=[tenant, project_id]),
                        reverse("admin:projects_project_detail", args=[tenant, project_id])
                        + "?status=building",
                    ]
                )
                pages[client.get(url).status_code] += 1
                continue
            try:
                if roll < 0.85:
                    deployment_id = rng.choice(mine[-15:])
                    changed = actions.cancel_deployment(
                        operations_user, tenant, deployment_id, reason="test: stop this build"
                    )
                    with lock:
                        acknowledged[deployment_id] = changed.status
                        ok_moves[deployment_id].append(S.CANCELED)
                    staff_acked["cancel"] += 1
                    audit_expected[(deployment_id, f"{actions.CANCEL_TITLE} {deployment_id}")] += 1
                else:
                    project = projects.get_project(tenant, project_id)
                    actions.edit_project(
                        operations_user,
                        tenant,
                        project_id,
                        {"branch": f"release-{rng.randint(1, 10**6)}"},
                        expected_version=project.version,
                        reason="test: tenant asked for it",
                    )
                    staff_acked["edit"] += 1
                    audit_expected[(project_id, f"Edited project {project_id}")] += 1
            except InvalidTransition:
                done["cancel refused (already moved)"] += 1
            except RepositoryError as error:
                if type(error).__name__ != "Conflict":  # a stale edit is a fair refusal
                    anomalies[f"staff call failed: {type(error).__name__}"] += 1
                    failed.append(f"staff: {error}")

    began = time.monotonic()
    with inject(aws.dynamodb(), faults) as log, ThreadPoolExecutor(orchestrators + 1) as pool:
        futures = [pool.submit(orchestrator, n) for n in range(orchestrators)]
        futures.append(pool.submit(staff))
        for future in futures:
            future.result()
    took = time.monotonic() - began

    # --- the checks ------------------------------------------------------------------------
    for project_id, ids in owned.items():
        tenant = tenant_of[project_id]
        stored, cursor = {}, None
        while True:
            page = deployments.list_project_deployments(
                tenant, project_id, limit=100, cursor=cursor
            )
            for d in page.items:
                if d.deployment_id in stored:
                    anomalies["duplicated deployment"] += 1
                stored[d.deployment_id] = d.status
            if not page.next_cursor:
                break
            cursor = page.next_cursor
        anomalies["lost deployment"] += len(set(ids) - set(stored))
        anomalies["deployment nobody created"] += len(set(stored) - set(ids))
        for deployment_id in ids:
            moves = ok_moves.get(deployment_id, [])
            finals = [m for m in moves if m.is_final]
            if len(finals) > 1 or moves.count(S.BUILDING) > 1:
                anomalies["illegal state (two winners)"] += 1
            # What the acknowledged moves add up to (the machine only moves forwards, so the
            # order in which racing callers heard back does not matter).
            told = finals[0] if finals else S.BUILDING if S.BUILDING in moves else S.QUEUED
            if stored.get(deployment_id) != told:
                anomalies["stored status differs from the acknowledged one"] += 1
        rows = list(maintenance._rows(project_id))
        counted = {d: +c for d, c in derived.day_counts(rows).items()}
        counters = {d: +c for d, (_r, c) in maintenance._counter_revs(project_id).items() if +c}
        if counters != counted:
            anomalies["counter differs from a recount"] += 1
        newest = deployments.list_project_deployments(tenant, project_id, limit=1).items
        latest = projects.get_project(tenant, project_id).latest_deployment
        if newest and (
            latest is None
            or (latest.deployment_id, latest.status)
            != (
                newest[0].deployment_id,
                newest[0].status.value,
            )
        ):
            anomalies["summary differs from the newest deployment"] += 1
    entries = Counter(
        (e.object_id, e.change_message.split(" of tenant")[0]) for e in AuditEntry.objects.all()
    )
    anomalies["staff action audited twice"] += sum((entries - audit_expected).values())
    anomalies["staff action missing from the audit"] += sum((audit_expected - entries).values())
    anomalies["page answered 5xx"] += sum(n for code, n in pages.items() if code >= 500)

    injected = sum(log.injected.values())
    attempts = sum(log.attempts.values())
    print(
        f"\nchaos: {sum(done.values()) + sum(staff_acked.values()) + sum(pages.values()):,} "
        f"operations in {took:.0f} s by {orchestrators} orchestrators and 1 staff member; "
        f"{injected:,} of {attempts:,} calls met a fault ({injected / attempts:.0%}): "
        f"{dict(Counter(f for _op, f in log.injected.elements()))}"
    )
    print(f"  orchestrator {dict(done)}; staff {dict(staff_acked)}; pages {dict(pages)}")
    print("  anomaly                                          count")
    names = [
        "lost deployment",
        "duplicated deployment",
        "deployment nobody created",
        "illegal state (two winners)",
        "stored status differs from the acknowledged one",
        "counter differs from a recount",
        "summary differs from the newest deployment",
        "staff action audited twice",
        "staff action missing from the audit",
        "page answered 5xx",
    ]
    for name in names + sorted(set(anomalies) - set(names)):
        print(f"  {name:<48} {anomalies[name]:>5}")
    for line in failed[:10]:
        print("  failed:", line)
    assert injected / attempts >= 0.25
    assert sum(anomalies.values()) == 0, dict(+anomalies)
