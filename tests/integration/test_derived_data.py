"""The status index, the day counters and the two-way cursors, on moto and DynamoDB Local."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from deployments import derived, maintenance
from deployments import repository as deployments
from deployments.errors import InvalidTransition
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import from_item
from infra.core.resources import DEPLOYMENTS, DERIVED_VERSION, PROJECTS
from projects import repository as projects
from tests.factories import PUSH, TENANT

pytestmark = pytest.mark.usefixtures("aws_stage")

S = DeploymentStatus


def _history(project, count: int, *, statuses=(S.READY,)) -> list[DeploymentSchema]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = [
        DeploymentSchema(
            deployment_id=f"dpl_{i:016d}",
            project_id=project.project_id,
            user_id=project.user_id,
            commit_sha=f"{i:07x}",
            branch="main",
            status=statuses[i % len(statuses)],
            created_at=start + timedelta(hours=i * 7),
            updated_at=start + timedelta(hours=i * 7),
        )
        for i in range(count)
    ]
    deployments.import_deployments(project.user_id, project.project_id, batch)
    return batch


def _walk(project, *, limit: int, status: str | None = None):
    """Every page forwards, then back again from the last; returns both lists of id lists."""
    forwards, pages, cursor = [], [], None
    while True:
        page = deployments.list_project_deployments(
            TENANT, project.project_id, limit=limit, cursor=cursor, status=status
        )
        pages.append(page)
        forwards.append([d.deployment_id for d in page.items])
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    backwards, page = [forwards[-1]], pages[-1]
    while page.previous_cursor:
        page = deployments.list_project_deployments(
            TENANT, project.project_id, limit=limit, cursor=page.previous_cursor, status=status
        )
        backwards.append([d.deployment_id for d in page.items])
    return forwards, backwards[::-1]


@pytest.mark.parametrize("count", [25, 27])  # exactly five full pages, and a short last one
def test_pages_go_forwards_then_backwards_without_gaps_or_empty_pages(project, count):
    made = _history(project, count)
    newest_first = [d.deployment_id for d in reversed(made)]
    forwards, backwards = _walk(project, limit=5)
    assert [i for page in forwards for i in page] == newest_first
    assert all(forwards) and len(forwards) == -(-count // 5)
    assert backwards == forwards


def test_a_status_filtered_list_pages_both_ways_from_the_index(project):
    made = _history(project, 60, statuses=(S.READY, S.ERROR, S.READY))  # 20 errors
    errors = [d.deployment_id for d in reversed(made) if d.status is S.ERROR]
    forwards, backwards = _walk(project, limit=4, status="error")
    assert [i for page in forwards for i in page] == errors
    assert len(forwards) == 5 and backwards == forwards


def test_the_cursor_of_a_deep_page_is_no_longer_than_that_of_the_second(project):
    _history(project, 45)
    page = deployments.list_project_deployments(TENANT, project.project_id, limit=1)
    sizes = []
    for _ in range(41):
        sizes.append(len(page.next_cursor))
        page = deployments.list_project_deployments(
            TENANT, project.project_id, limit=1, cursor=page.next_cursor
        )
    assert max(sizes) <= sizes[0] + 2 and max(sizes) < 300
    assert len(page.previous_cursor) < 300


def _counters(project_id: str) -> dict:
    items = aws.dynamodb().query(
        TableName=DEPLOYMENTS.name(),
        KeyConditionExpression="PK = :pk AND begins_with(SK, :c)",
        ExpressionAttributeValues={":pk": {"S": project_id}, ":c": {"S": "COUNTS#"}},
        ConsistentRead=True,
    )["Items"]
    return {
        row["day"]: +derived.counts_of(row)
        for row in map(from_item, items)
        if +derived.counts_of(row)
    }


def _recounted(project_id: str) -> dict:
    rows = list(maintenance._rows(project_id))
    return {day.isoformat(): +c for day, c in derived.day_counts(rows).items()}


def test_random_creates_and_transitions_leave_every_counter_equal_to_a_recount(project):
    rng = random.Random(7)
    made = [deployments.create_deployment(TENANT, project.project_id, PUSH) for _ in range(6)]
    made += _history(project, 30, statuses=(S.QUEUED, S.BUILDING, S.READY))
    ids = [d.deployment_id for d in made]
    for _ in range(120):
        target = rng.choice(list(S))
        deployment_id = rng.choice(ids)
        with contextlib.suppress(InvalidTransition):  # refusals are part of the sequence
            deployments.update_deployment_status(deployment_id, target)
        if rng.random() < 0.1:
            ids.append(
                deployments.create_deployment(TENANT, project.project_id, PUSH).deployment_id
            )
    assert _counters(project.project_id) == _recounted(project.project_id)
    by_status = Counter(
        d.status.value
        for d in deployments.list_project_deployments(TENANT, project.project_id, limit=100).items
    )
    for status, count in by_status.items():
        page = deployments.list_project_deployments(
            TENANT, project.project_id, limit=100, status=status
        )
        assert len(page.items) == count and all(d.status.value == status for d in page.items)


def _strip_derived(project) -> None:
    """Make the project look as stored before this release: no projectStatus, no counters."""
    client = aws.dynamodb()
    for item in client.query(
        TableName=DEPLOYMENTS.name(),
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": project.project_id}},
    )["Items"]:
        key = {"PK": item["PK"], "SK": item["SK"]}
        if item["SK"]["S"].startswith("COUNTS#"):
            client.delete_item(TableName=DEPLOYMENTS.name(), Key=key)
        else:
            client.update_item(
                TableName=DEPLOYMENTS.name(), Key=key, UpdateExpression="REMOVE projectStatus"
            )
    client.update_item(
        TableName=PROJECTS.name(),
        Key={"PK": {"S": project.project_id}, "SK": {"S": "METADATA"}},
        UpdateExpression="REMOVE derivedVersion",
    )


def test_the_recount_fills_in_old_data_marks_the_project_and_changes_nothing_twice(project):
    _history(project, 40, statuses=(S.READY, S.ERROR))
    expected = _counters(project.project_id)
    _strip_derived(project)
    assert projects.get_project(TENANT, project.project_id).derived_version == 0
    assert (
        deployments.list_project_deployments(TENANT, project.project_id, status="error").items == []
    )

    out = StringIO()
    call_command("recount_deployments", stdout=out)

    assert "Recounted 1 project(s) (40 deployments; 1 changed)" in out.getvalue()
    assert _counters(project.project_id) == expected
    assert projects.get_project(TENANT, project.project_id).derived_version == DERIVED_VERSION
    errors = deployments.list_project_deployments(TENANT, project.project_id, status="error")
    assert len(errors.items) == 20
    again = StringIO()
    call_command("recount_deployments", stdout=again)
    assert "Recounted 0 project(s)" in again.getvalue() and "1 already complete" in again.getvalue()
    forced = StringIO()
    call_command("recount_deployments", "--project", project.project_id, stdout=forced)
    assert "(40 deployments; 0 changed)" in forced.getvalue()


@pytest.mark.django_db
def test_a_project_not_yet_recounted_says_so_instead_of_showing_wrong_rows(project, client_as):
    _history(project, 12, statuses=(S.READY, S.ERROR))
    _strip_derived(project)
    client = client_as("support")
    url = reverse("admin:projects_project_detail", args=[TENANT, project.project_id])

    filtered = client.get(url + "?status=error").content.decode()
    unfiltered = client.get(url).content.decode()

    assert "The status filter is not available for this project yet" in filtered
    assert "<tbody>" not in filtered  # no rows rather than wrong (missing) rows
    assert "The chart is not available for this project yet" in unfiltered
    rows = unfiltered.split('id="deployments"')[1].split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("badge-error") == 6  # the plain list still shows every row
    call_command("recount_deployments", stdout=StringIO())
    after = client.get(url + "?status=error").content.decode()
    rows = after.split('id="deployments"')[1].split("<tbody>")[1].split("</tbody>")[0]
    assert rows.count("badge-error") == 6 and "not available" not in after
