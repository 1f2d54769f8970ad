"""The chaos run: simulated staff (pages, edits, cancels) and a simulated build orchestrator
(creates, status changes) at once, against DynamoDB Local, with about 30 % of calls meeting a
fault (throttling, a 500 before or after the write took effect, a timeout after it took effect)
and 15 % of the audit trail's writes in Django's database failing. Staff cancel and redeploy
through the pages and edit through the use case, and send a quarter of their requests twice (same
key). After the audit sweeper has run, every staff action stored in DynamoDB (its action receipt,
or a redeploy's request guard) must have exactly one audit entry that says done, and every such
entry an action. It ends with an
anomaly table, which must be all zeros. `make chaos` runs 10,000 operations; `make test` a
smaller count."""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.messages import constants as message_levels
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from deployments import derived, maintenance
from deployments import repository as deployments
from deployments.errors import InvalidTransition
from deployments.schemas import DeploymentStatus
from infra.core import aws
from infra.core.errors import Conflict, RepositoryError
from infra.core.receipts import RECEIPT_PREFIX
from infra.core.resources import DEPLOYMENTS
from projects import repository as projects
from staff import actions, outbox
from staff.models import AuditEntry, AuditKind, Outcome
from tests.factories import PUSH
from tests.faults import inject, mixed, sometimes
from tests.reliability.conftest import scale

pytestmark = [
    pytest.mark.contract,
    # Committed rows: the staff thread writes the audit trail from its own connection. The
    # serialized rollback restores the migrations' groups an earlier transactional test flushed.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.usefixtures("aws_stage"),
    pytest.mark.parametrize("aws_stage", ["ddblocal"], indirect=True),
]

S = DeploymentStatus
NEXT = {S.QUEUED: [S.BUILDING, S.CANCELED], S.BUILDING: [S.READY, S.ERROR, S.CANCELED]}
TENANTS = ("chaos-a", "chaos-b", "chaos-c")
AUDIT_FAULT_RATE = 0.15  # of the audit trail's INSERT / UPDATE / DELETE statements
DONE_LEVELS = {message_levels.SUCCESS, message_levels.WARNING}  # done (entry confirmed or pending)


class AuditStoreFaults:
    """Django's `execute_wrapper`: fails about `rate` of the audit trail's writes."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate, self.rng = rate, random.Random(seed)
        self.writes = self.failed = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        text = sql.lstrip().upper()
        if "STAFF_AUDITENTRY" in text and text.startswith(("INSERT", "UPDATE", "DELETE")):
            self.writes += 1
            if self.rng.random() < self.rate:
                self.failed += 1
                raise OperationalError("injected: the audit store refused the write")
        return execute(sql, params, many, context)


def stored_suffixes(project_id: str, prefix: str) -> set[str]:
    """The sort keys starting with `prefix` in the project's partition, without it: the tokens
    of the staff actions' receipts (ACTION#), the keys of the redeploys' guards (REQUEST#)."""
    paginator = aws.dynamodb().get_paginator("query")
    pages = paginator.paginate(
        TableName=DEPLOYMENTS.name(),
        KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues={":pk": {"S": project_id}, ":prefix": {"S": prefix}},
        ConsistentRead=True,
    )
    return {item["SK"]["S"][len(prefix) :] for page in pages for item in page.get("Items", [])}


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
    acked_keys: set[str] = set()  # requests staff were told were done
    audit_faults = AuditStoreFaults(AUDIT_FAULT_RATE, seed=5)
    failed: list[str] = []
    anomalies: Counter[str] = Counter()
    pages: Counter[int] = Counter()
    actions_answered: Counter[int] = Counter()
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

    def acknowledge(key: str, what: str, audit_key: tuple[str, str], **told: str) -> None:
        with lock:
            if key in acked_keys:
                return  # a replay of a request already acknowledged
            acked_keys.add(key)
            if "canceled" in told:
                acknowledged[told["canceled"]] = S.CANCELED
                ok_moves[told["canceled"]].append(S.CANCELED)
            if "created" in told:  # a redeploy: a new deployment of the project, queued
                owned[told["project"]].append(told["created"])
                acknowledged[told["created"]] = S.QUEUED
            staff_acked[what] += 1
            audit_expected[audit_key] += 1

    def redeploy_on_the_page(
        client: Client, tenant: str, project_id: str, source: str, key: str
    ) -> None:
        url = reverse("admin:deployments_deployment_redeploy", args=[tenant, source])
        response = client.post(url, {"reason": "test: build it again", "request_key": key})
        actions_answered[response.status_code] += 1
        if response.status_code == 302 and "/deployments/dpl_" in response["Location"]:
            created = response["Location"].rstrip("/").rsplit("/", 1)[-1]
            if created != source:
                title = f"Redeployed {source} as {created}"
                acknowledge(key, "redeploy", (created, title), created=created, project=project_id)
                return
        done[f"redeploy answered {response.status_code}"] += 1

    def cancel_on_the_page(client: Client, tenant: str, deployment_id: str, key: str) -> None:
        url = reverse("admin:deployments_deployment_cancel", args=[tenant, deployment_id])
        response = client.post(url, {"reason": "test: stop this build", "request_key": key})
        actions_answered[response.status_code] += 1
        if response.status_code == 302:
            levels = {m.level for m in response.wsgi_request._messages._queued_messages}
            if levels & DONE_LEVELS:
                if message_levels.WARNING in levels:
                    done["cancel done, audit entry pending"] += 1
                title = f"{actions.CANCEL_TITLE} {deployment_id}"
                acknowledge(key, "cancel", (deployment_id, title), canceled=deployment_id)
            else:
                done["cancel refused (already moved)"] += 1
        elif response.status_code == 503:
            done["cancel refused: 503"] += 1

    def edit(tenant: str, project_id: str, branch: str, version: int, key: str) -> None:
        try:
            actions.edit_project(
                operations_user,
                tenant,
                project_id,
                {"branch": branch},
                expected_version=version,
                reason="test: tenant asked for it",
                request_key=key,
            )
        except outbox.AuditPending:
            done["edit done, audit entry pending"] += 1
        except outbox.AuditUnavailable:
            done["edit refused: audit store down"] += 1
            return
        except Conflict:  # a stale edit is a fair refusal
            return
        acknowledge(key, "edit", (project_id, f"Edited project {project_id}"))

    def staff() -> None:
        rng = random.Random(99)
        client = Client(raise_request_exception=False)
        client.force_login(operations_user)
        with connection.execute_wrapper(audit_faults):
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
                key = secrets.token_urlsafe(24)
                sends = 2 if rng.random() < 0.25 else 1  # a quarter sent twice: replays
                try:
                    if roll < 0.75:
                        deployment_id = rng.choice(mine[-15:])
                        for _send in range(sends):
                            cancel_on_the_page(client, tenant, deployment_id, key)
                    elif roll < 0.85:
                        source = rng.choice(mine[-15:])
                        for _send in range(sends):
                            redeploy_on_the_page(client, tenant, project_id, source, key)
                    else:
                        version = projects.get_project(tenant, project_id).version
                        branch = f"release-{rng.randint(1, 10**6)}"
                        for _send in range(sends):
                            edit(tenant, project_id, branch, version, key)
                except RepositoryError as error:
                    anomalies[f"staff call failed: {type(error).__name__}"] += 1
                    failed.append(f"staff: {error}")
        connection.close()

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
    # The audit trail against DynamoDB, once the sweeper has settled what was left pending.
    pending_before_sweep = AuditEntry.objects.filter(outcome=Outcome.PENDING).count()
    swept = outbox.resolve_pending(older_than=timedelta(0))
    staff_entries = list(
        AuditEntry.objects.filter(
            kind__in=[AuditKind.CANCEL, AuditKind.EDIT_PROJECT, AuditKind.REDEPLOY]
        )
    )
    done_entries = [e for e in staff_entries if e.outcome == Outcome.DONE]
    entries = Counter((e.object_id, e.change_message.split(" of tenant")[0]) for e in done_entries)
    anomalies["staff action audited twice"] += sum((entries - audit_expected).values())
    anomalies["staff action missing from the audit"] += sum((audit_expected - entries).values())
    # A cancel or an edit is stored as its receipt (the entry's token), a redeploy as its
    # request guard (the entry's key): one set of "what happened in DynamoDB" for all three.
    stored = set().union(
        *(stored_suffixes(project_id, RECEIPT_PREFIX) for project_id in owned),
        *(stored_suffixes(project_id, "REQUEST#") for project_id in owned),
    )
    done_tokens = Counter(
        e.request_key if e.kind == AuditKind.REDEPLOY else e.write_token for e in done_entries
    )
    keys = Counter(e.request_key for e in staff_entries)
    done_keys = {e.request_key for e in done_entries}
    anomalies["action without entry"] += len(stored - set(done_tokens))
    anomalies["action without entry"] += len(acked_keys - done_keys)  # told done, no entry
    anomalies["entry for no action"] += len(set(done_tokens) - stored)
    anomalies["entry twice"] += sum(n - 1 for n in done_tokens.values() if n > 1) + sum(
        n - 1 for n in keys.values() if n > 1
    )
    anomalies["unresolved after the sweep"] += AuditEntry.objects.filter(
        outcome=Outcome.PENDING
    ).count()
    anomalies["page answered 5xx"] += sum(n for code, n in pages.items() if code >= 500)
    anomalies["page answered 500 to an action"] += actions_answered[500]

    injected = sum(log.injected.values())
    attempts = sum(log.attempts.values())
    print(
        f"\nchaos: {sum(done.values()) + sum(staff_acked.values()) + sum(pages.values()):,} "
        f"operations in {took:.0f} s by {orchestrators} orchestrators and 1 staff member; "
        f"{injected:,} of {attempts:,} calls met a fault ({injected / attempts:.0%}): "
        f"{dict(Counter(f for _op, f in log.injected.elements()))}"
    )
    print(f"  orchestrator {dict(done)}; staff {dict(staff_acked)}; pages {dict(pages)}")
    print(
        f"  Django's database: {audit_faults.failed:,} of {audit_faults.writes:,} audit writes "
        f"failed ({audit_faults.failed / max(audit_faults.writes, 1):.0%}); action answers "
        f"{dict(actions_answered)}; {pending_before_sweep} entries pending before the sweep, "
        f"swept {dict(swept)}; {len(stored)} actions stored, {len(done_entries)} entries done"
    )
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
        "action without entry",
        "entry for no action",
        "entry twice",
        "unresolved after the sweep",
    ]
    for name in names + sorted(set(anomalies) - set(names)):
        print(f"  {name:<48} {anomalies[name]:>5}")
    for line in failed[:10]:
        print("  failed:", line)
    assert injected / attempts >= 0.25
    assert audit_faults.failed / audit_faults.writes >= 0.10
    assert sum(anomalies.values()) == 0, dict(+anomalies)
