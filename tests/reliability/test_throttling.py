"""30 % throttling on every call — transactions cancelled for throttling included — across a
mix of dashboard pages and writes: no server error, no acknowledged write lost, ≤ 1 % of pages
answered 503."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from django.test import Client
from django.urls import reverse

from deployments import repository as deployments
from deployments.errors import InvalidTransition
from deployments.schemas import DeploymentStatus
from infra.core import aws
from infra.core.errors import RepositoryError
from projects import repository as projects
from staff import actions
from tests.factories import PUSH
from tests.faults import inject, mixed, sometimes
from tests.reliability.conftest import scale, stored_statuses

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws_stage")]

S = DeploymentStatus
TENANT = "tenant-throttled"


def test_thirty_percent_throttling_costs_no_page_and_no_acknowledged_write(operations_user):
    operations = scale(ci=300, full=1200)
    rng = random.Random(11)
    project = projects.create_project(
        TENANT, {"name": "throttled", "repo_url": "https://github.com/t/throttled"}
    )
    seeded = [deployments.create_deployment(TENANT, project.project_id, PUSH) for _ in range(30)]
    client = Client()
    client.force_login(operations_user)
    pages: Counter[int] = Counter()
    writes: Counter[str] = Counter()
    acknowledged: dict[str, S] = {d.deployment_id: S.QUEUED for d in seeded}
    unavailable = 0
    throttled = mixed(
        sometimes(0.3, "txn-throttle", only={"TransactWriteItems"}, seed=3),
        sometimes(0.3, "throttle", seed=5),
    )
    with inject(aws.dynamodb(), throttled) as log:
        for _ in range(operations):
            kind = rng.choice(["page", "page", "page", "create", "move", "cancel"])
            ids = list(acknowledged)
            if kind == "page":
                target = rng.choice(ids)
                url = rng.choice(
                    [
                        reverse("admin:tenant_detail", args=[TENANT]),
                        reverse("admin:projects_project_detail", args=[TENANT, project.project_id]),
                        reverse("admin:projects_project_detail", args=[TENANT, project.project_id])
                        + "?status=queued",
                        reverse("admin:deployments_deployment_detail", args=[TENANT, target]),
                    ]
                )
                pages[client.get(url).status_code] += 1
                continue
            try:
                if kind == "create":
                    made = deployments.create_deployment(TENANT, project.project_id, PUSH)
                    acknowledged[made.deployment_id] = S.QUEUED
                elif kind == "move":
                    target = rng.choice(ids)
                    to = {S.QUEUED: S.BUILDING, S.BUILDING: S.READY}.get(acknowledged[target])
                    if to is None:
                        continue
                    deployments.update_deployment_status(target, to)
                    acknowledged[target] = to
                else:
                    target = rng.choice(ids)
                    if acknowledged[target] not in (S.QUEUED, S.BUILDING):
                        continue
                    actions.cancel_deployment(
                        operations_user, TENANT, target, reason="test: stop this build"
                    )
                    acknowledged[target] = S.CANCELED
                writes[kind] += 1
            except InvalidTransition:
                pytest.fail("a single writer lost a race it cannot have had")
            except RepositoryError:
                unavailable += 1
    total_pages = sum(pages.values())
    failed_pages = pages[503]
    throttles = sum(log.injected.values())
    attempts = sum(log.attempts.values())
    print(
        f"\n{total_pages} pages {dict(pages)}, {sum(writes.values())} writes {dict(writes)}, "
        f"{unavailable} writes refused as unavailable; {throttles} of {attempts} calls "
        f"throttled ({throttles / attempts:.0%})"
    )
    assert throttles / attempts >= 0.2
    assert not [code for code in pages if code >= 500 and code != 503]
    assert failed_pages <= total_pages * 0.01
    # Every acknowledged write is stored as acknowledged.
    stored = stored_statuses(TENANT, project.project_id)
    assert {k: stored.get(k) for k in acknowledged} == acknowledged
