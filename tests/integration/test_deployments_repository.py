"""The deployments repository: creation, listing, the status machine and orchestrator updates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from deployments import history
from deployments import repository as deployments
from deployments.errors import InvalidTransition
from deployments.schemas import TRANSITIONS, DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import format_timestamp
from infra.core.errors import Conflict, InvalidCursor, NotFound, ValidationError
from infra.core.resources import DEPLOYMENTS
from projects import repository as projects
from tests.factories import PUSH, TENANT

pytestmark = pytest.mark.usefixtures("aws_stage")

S = DeploymentStatus


def _stored(deployment: DeploymentSchema) -> dict:
    key = {"PK": {"S": deployment.project_id}}
    items = aws.dynamodb().query(
        TableName=DEPLOYMENTS.name(),
        KeyConditionExpression="PK = :pk AND begins_with(SK, :deployment)",
        ExpressionAttributeValues={":pk": key["PK"], ":deployment": {"S": "DEPLOYMENT#"}},
    )["Items"]
    return next(i for i in items if i["deploymentId"]["S"] == deployment.deployment_id)


def test_create_deployment_queues_it_under_the_designed_key(project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    item = _stored(deployment)
    assert deployment.deployment_id.startswith("dpl_")
    assert deployment.status is S.QUEUED
    created = format_timestamp(deployment.created_at)
    assert item["SK"]["S"] == f"DEPLOYMENT#{created}#{deployment.deployment_id}"
    assert item["userId"]["S"] == TENANT
    assert deployments.get_deployment(TENANT, deployment.deployment_id) == deployment


def test_create_deployment_sets_the_projects_latest_deployment(project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    latest = projects.get_project(TENANT, project.project_id).latest_deployment
    assert latest.deployment_id == deployment.deployment_id
    assert latest.status == "queued"
    assert latest.commit_sha == PUSH["commit_sha"]


def test_create_deployment_for_a_missing_project_is_not_found():
    with pytest.raises(NotFound):
        deployments.create_deployment(TENANT, "prj_0000000000000000", PUSH)


def test_create_deployment_refuses_invalid_input_without_writing(project):
    with pytest.raises(ValidationError):
        deployments.create_deployment(TENANT, project.project_id, {"commit_sha": "zz"})
    assert deployments.list_project_deployments(TENANT, project.project_id).items == []


def test_create_deployment_is_conditional_on_the_key_being_new(project, monkeypatch):
    first = deployments.create_deployment(TENANT, project.project_id, PUSH)
    monkeypatch.setattr(deployments, "new_deployment_id", lambda: first.deployment_id)
    monkeypatch.setattr(deployments, "now", lambda: first.created_at)
    with pytest.raises(Conflict):
        deployments.create_deployment(TENANT, project.project_id, {**PUSH, "message": "dupe"})
    assert deployments.get_deployment(TENANT, first.deployment_id).message == PUSH["message"]


def _walk_to(deployment_id: str, status: S) -> None:
    path = {
        S.QUEUED: [],
        S.BUILDING: [S.BUILDING],
        S.READY: [S.BUILDING, S.READY],
        S.ERROR: [S.BUILDING, S.ERROR],
        S.CANCELED: [S.CANCELED],
    }[status]
    for step in path:
        deployments.update_deployment_status(deployment_id, step)


@pytest.mark.parametrize("source", list(S))
@pytest.mark.parametrize("target", list(S))
def test_every_status_pair_follows_the_machine(project, source, target):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    _walk_to(deployment.deployment_id, source)
    before = _stored(deployment)
    if target in TRANSITIONS[source]:
        moved = deployments.update_deployment_status(deployment.deployment_id, target)
        assert moved.status is target
        assert (moved.started_at is not None) == (target is S.BUILDING or source is S.BUILDING)
        assert (moved.ended_at is not None) == target.is_final
        assert projects.get_project(TENANT, project.project_id).latest_deployment.status == target
    else:
        with pytest.raises(InvalidTransition):
            deployments.update_deployment_status(deployment.deployment_id, target)
        assert _stored(deployment) == before


def test_a_late_duplicate_transition_leaves_the_item_untouched(project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    deployments.update_deployment_status(deployment.deployment_id, "building")
    deployments.update_deployment_status(deployment.deployment_id, "canceled")
    before = _stored(deployment)
    with pytest.raises(InvalidTransition):
        deployments.update_deployment_status(deployment.deployment_id, "ready")
    with pytest.raises(InvalidTransition):
        deployments.update_deployment_status(deployment.deployment_id, "canceled")
    assert _stored(deployment) == before


def test_an_error_transition_records_the_error_message(project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    deployments.update_deployment_status(deployment.deployment_id, "building")
    failed = deployments.update_deployment_status(
        deployment.deployment_id, "error", error="npm ERR! missing script: build"
    )
    assert failed.error == "npm ERR! missing script: build"
    assert failed.ended_at >= failed.started_at


def test_an_unknown_status_is_a_validation_error(project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    with pytest.raises(ValidationError):
        deployments.update_deployment_status(deployment.deployment_id, "exploded")


def test_a_status_change_of_an_older_deployment_does_not_overwrite_the_latest_summary(project):
    older = deployments.create_deployment(TENANT, project.project_id, PUSH)
    newer = deployments.create_deployment(TENANT, project.project_id, PUSH)
    deployments.update_deployment_status(older.deployment_id, "canceled")
    latest = projects.get_project(TENANT, project.project_id).latest_deployment
    assert (latest.deployment_id, latest.status) == (newer.deployment_id, "queued")


def test_marking_a_build_failed_requires_it_to_have_started_before_the_cutoff(project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    deployments.update_deployment_status(deployment.deployment_id, "building")
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with pytest.raises(InvalidTransition, match="not long enough ago"):
        deployments.transition_deployment(
            TENANT, deployment.deployment_id, "error", started_before=an_hour_ago
        )
    deployments.update_deployment(
        deployment.deployment_id, started_at=datetime.now(UTC) - timedelta(hours=3)
    )
    failed = deployments.transition_deployment(
        TENANT, deployment.deployment_id, "error", error="stuck", started_before=an_hour_ago
    )
    assert (failed.status, failed.error) == (S.ERROR, "stuck")


def test_update_deployment_sets_orchestrator_fields(project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    updated = deployments.update_deployment(deployment.deployment_id, build_id="build-42")
    assert updated.build_id == "build-42"
    assert updated.status is S.QUEUED
    assert deployments.get_deployment(TENANT, deployment.deployment_id).build_id == "build-42"


def test_update_deployment_refuses_unknown_fields_and_status(project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    with pytest.raises(ValidationError):
        deployments.update_deployment(deployment.deployment_id, status="ready")
    with pytest.raises(ValidationError):
        deployments.update_deployment(deployment.deployment_id, colour="blue")


def test_update_of_a_missing_deployment_is_not_found():
    with pytest.raises(NotFound):
        deployments.update_deployment("dpl_0000000000000000", build_id="x")
    with pytest.raises(NotFound):
        deployments.update_deployment_status("dpl_0000000000000000", "building")


def _import(
    project, count: int, *, start: datetime, statuses=(S.READY,), new: int | None = None
) -> list[DeploymentSchema]:
    batch = [
        DeploymentSchema(
            deployment_id=f"dpl_{i:016d}",
            project_id=project.project_id,
            user_id=project.user_id,
            commit_sha=f"{i:07x}",
            message=f"commit {i}",
            branch="main",
            status=statuses[i % len(statuses)],
            created_at=start + timedelta(minutes=i),
            updated_at=start + timedelta(minutes=i),
        )
        for i in range(count)
    ]
    written = deployments.import_deployments(project.user_id, project.project_id, batch)
    assert written == (count if new is None else new)
    return batch


def test_list_project_deployments_pages_newest_first_without_duplicates_or_gaps(project):
    made = _import(project, 13, start=datetime(2026, 1, 1, tzinfo=UTC))
    seen, cursor, pages = [], None, 0
    while True:
        page = deployments.list_project_deployments(
            TENANT, project.project_id, limit=5, cursor=cursor
        )
        pages += 1
        assert page.items
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert [d.deployment_id for d in seen] == [d.deployment_id for d in reversed(made)]


def test_a_status_filtered_page_keeps_reading_until_it_is_full(project):
    made = _import(
        project, 60, start=datetime(2026, 1, 1, tzinfo=UTC), statuses=(S.READY,) * 9 + (S.ERROR,)
    )
    errors = [d.deployment_id for d in reversed(made) if d.status is S.ERROR]
    first = deployments.list_project_deployments(
        TENANT, project.project_id, limit=4, status="error"
    )
    assert [d.deployment_id for d in first.items] == errors[:4]
    second = deployments.list_project_deployments(
        TENANT, project.project_id, limit=4, status="error", cursor=first.next_cursor
    )
    assert [d.deployment_id for d in second.items] == errors[4:]
    assert second.next_cursor is None


def test_a_bad_status_filter_is_a_validation_error(project):
    with pytest.raises(ValidationError):
        deployments.list_project_deployments(TENANT, project.project_id, status="done")


def test_a_cursor_from_a_filtered_list_is_refused_by_the_unfiltered_list(project):
    _import(project, 6, start=datetime(2026, 1, 1, tzinfo=UTC), statuses=(S.ERROR,))
    cursor = deployments.list_project_deployments(
        TENANT, project.project_id, limit=2, status="error"
    ).next_cursor
    with pytest.raises(InvalidCursor):
        deployments.list_project_deployments(TENANT, project.project_id, limit=2, cursor=cursor)


def test_a_project_with_no_deployments_lists_an_empty_page(project):
    page = deployments.list_project_deployments(TENANT, project.project_id)
    assert (page.items, page.next_cursor) == ([], None)


def test_list_user_deployments_spans_projects_newest_first(project):
    other = projects.create_project(TENANT, {"name": "api", "repo_url": "https://github.com/a/api"})
    a = _import(project, 4, start=datetime(2026, 1, 1, tzinfo=UTC))
    b = [
        d.model_copy(
            update={
                "project_id": other.project_id,
                "deployment_id": d.deployment_id.replace("dpl_0", "dpl_b"),
                "created_at": d.created_at + timedelta(seconds=30),
            }
        )
        for d in a
    ]
    deployments.import_deployments(TENANT, other.project_id, b)
    seen, cursor = [], None
    while True:
        page = deployments.list_user_deployments(TENANT, limit=3, cursor=cursor)
        seen += page.items
        cursor = page.next_cursor
        if not cursor:
            break
    expected = sorted(a + b, key=lambda d: d.created_at, reverse=True)
    assert [d.deployment_id for d in seen] == [d.deployment_id for d in expected]


def test_import_is_idempotent_and_sets_the_newest_as_latest(project):
    made = _import(project, 130, start=datetime(2026, 1, 1, tzinfo=UTC))
    _import(project, 130, start=datetime(2026, 1, 1, tzinfo=UTC), new=0)
    page = deployments.list_project_deployments(TENANT, project.project_id, limit=100)
    assert len(page.items) == 100 and page.next_cursor
    latest = projects.get_project(TENANT, project.project_id).latest_deployment
    assert latest.deployment_id == made[-1].deployment_id


def test_a_second_import_never_undoes_a_change_made_since(project):
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    made = _import(project, 3, start=an_hour_ago, statuses=(S.QUEUED,))
    deployments.transition_deployment(TENANT, made[-1].deployment_id, "canceled")
    _import(project, 3, start=an_hour_ago, statuses=(S.QUEUED,), new=0)
    assert deployments.get_deployment(TENANT, made[-1].deployment_id).status is S.CANCELED
    latest = projects.get_project(TENANT, project.project_id).latest_deployment
    assert (latest.deployment_id, latest.status) == (made[-1].deployment_id, "canceled")


def test_day_counts_of_imported_history_are_one_query_of_the_window(project):
    start = datetime(2026, 1, 1, 4, tzinfo=UTC)  # 12:00 in Singapore: 60 minutes stay one day
    _import(project, 40, start=start, statuses=(S.READY, S.ERROR))
    _import(project, 20, start=start + timedelta(days=1))
    calls = []
    aws.dynamodb().meta.events.register(
        "before-call.dynamodb", lambda model, **kw: calls.append(model.name)
    )
    counts = history.list_project_day_counts(
        TENANT, project.project_id, first_day=date(2025, 12, 25), last_day=date(2026, 1, 2)
    )
    assert calls == ["Query"]
    assert [(c.day, c.counts) for c in counts] == [
        (date(2026, 1, 1), {"ready": 20, "error": 20}),
        (date(2026, 1, 2), {"ready": 20}),
    ]


def test_day_counts_follow_creates_and_transitions_on_the_singapore_day(project):
    made = deployments.create_deployment(TENANT, project.project_id, PUSH)
    deployments.update_deployment_status(made.deployment_id, "building")
    deployments.update_deployment_status(made.deployment_id, "error", error="exit 1")
    other = deployments.create_deployment(TENANT, project.project_id, PUSH)
    day = made.created_at.astimezone(ZoneInfo("Asia/Singapore")).date()
    counts = history.list_project_day_counts(
        TENANT, project.project_id, first_day=day - timedelta(days=1), last_day=day
    )
    assert other.created_at.astimezone(ZoneInfo("Asia/Singapore")).date() == day
    assert [(c.day, c.counts) for c in counts] == [(day, {"error": 1, "queued": 1})]


def test_day_counts_of_another_tenants_project_are_empty(project):
    _import(project, 3, start=datetime(2026, 1, 1, tzinfo=UTC))
    window = {"first_day": date(2025, 12, 1), "last_day": date(2026, 1, 31)}
    assert history.list_project_day_counts("usr_b", project.project_id, **window) == []
    assert len(history.list_project_day_counts(TENANT, project.project_id, **window)) == 1


def test_a_status_filter_reads_the_status_index_in_one_query_whatever_the_density(project):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    _import(project, 300, start=start, statuses=(S.READY,) * 99 + (S.ERROR,))  # 3 errors
    calls = []
    aws.dynamodb().meta.events.register(
        "before-call.dynamodb", lambda model, **kw: calls.append(model.name)
    )
    page = deployments.list_project_deployments(
        TENANT, project.project_id, limit=25, status="error"
    )
    none = deployments.list_project_deployments(
        TENANT, project.project_id, limit=25, status="canceled", owner_checked=True
    )
    assert [d.deployment_id for d in page.items] == [f"dpl_{i:016d}" for i in (299, 199, 99)]
    assert (page.next_cursor, none.items, none.next_cursor) == (None, [], None)
    assert calls == ["Query", "Query"]


def test_a_staff_transition_with_the_record_in_hand_costs_one_transaction(project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    calls = []
    aws.dynamodb().meta.events.register(
        "before-call.dynamodb", lambda model, **kw: calls.append(model.name)
    )
    canceled = deployments.transition_deployment(
        TENANT, deployment.deployment_id, "canceled", known=deployment
    )
    assert canceled.status is S.CANCELED
    # The deployment with its day counter (one transaction), then the project's summary.
    assert calls == ["TransactWriteItems", "UpdateItem"]


def test_a_refused_transition_says_which_status_refused_it(project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    deployments.update_deployment_status(deployment.deployment_id, "canceled")
    with pytest.raises(InvalidTransition) as caught:
        deployments.transition_deployment(
            TENANT, deployment.deployment_id, "error", known=deployment
        )
    assert caught.value.current_status == "canceled"


def test_create_deployment_once_queues_one_deployment_per_request_key(project):
    key = "form-key-0123456789abcdef"
    first, created = deployments.create_deployment_once(
        TENANT, project.project_id, PUSH, request_key=key
    )
    again, created_again = deployments.create_deployment_once(
        TENANT, project.project_id, PUSH, request_key=key
    )
    other, created_other = deployments.create_deployment_once(
        TENANT, project.project_id, PUSH, request_key=key + "-2"
    )

    assert (created, created_again, created_other) == (True, False, True)
    assert again == first
    assert other.deployment_id != first.deployment_id
    listed = deployments.list_project_deployments(TENANT, project.project_id).items
    assert {d.deployment_id for d in listed} == {first.deployment_id, other.deployment_id}
    # The guard item is in no index: the tenant's list and the id look-up see deployments only.
    recent = deployments.list_user_deployments(TENANT).items
    assert {d.deployment_id for d in recent} == {first.deployment_id, other.deployment_id}
    counts = history.list_project_day_counts(
        TENANT, project.project_id, first_day=date(2000, 1, 1), last_day=date(2100, 1, 1)
    )
    assert sum(c.counts.get("queued", 0) for c in counts) == 2


def test_create_deployment_once_refuses_a_malformed_key_and_another_tenant(project):
    with pytest.raises(ValidationError):
        deployments.create_deployment_once(TENANT, project.project_id, PUSH, request_key="x")
    with pytest.raises(NotFound):
        deployments.create_deployment_once(
            "usr_b", project.project_id, PUSH, request_key="form-key-0123456789abcdef"
        )
    assert deployments.list_project_deployments(TENANT, project.project_id).items == []
