"""The demo generator: reproducible from its seed, and shaped like a real platform's data."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from deployments.schemas import DeploymentStatus
from infra.core.ids import USER_ID_PATTERN
from infra.local import demo
from projects.repository import ID_PATTERN as PROJECT_ID

ANCHOR = datetime(2026, 11, 25, 8, 0, 0, tzinfo=UTC)
S = DeploymentStatus


@pytest.fixture(scope="module")
def default_demo() -> list[demo.DemoTenant]:
    """The full default data set (8 tenants, up to 2,500 deployments a project), built once."""
    return [
        demo.build_tenant(plan, anchor=ANCHOR, max_deployments=2500)
        for plan in demo.plan_tenants(42, 8)
    ]


def all_deployments(tenants: list[demo.DemoTenant]) -> list[demo.DemoDeployment]:
    return [d for t in tenants for p in t.projects for d in p.deployments]


def test_the_same_seed_gives_the_same_ids_and_another_seed_does_not() -> None:
    def ids(seed: int) -> list[str]:
        tenants = [
            demo.build_tenant(plan, anchor=ANCHOR, max_deployments=20)
            for plan in demo.plan_tenants(seed, 3)
        ]
        return [d.record.deployment_id for d in all_deployments(tenants)]

    assert ids(7) == ids(7)
    assert set(ids(7)).isdisjoint(ids(8))


def test_fewer_tenants_are_a_prefix_of_more() -> None:
    assert demo.plan_tenants(42, 3) == demo.plan_tenants(42, 8)[:3]


def test_project_identities_do_not_depend_on_the_anchor() -> None:
    # The command finds the anchor again from the first project's createdAt minus its age.
    plan = demo.plan_tenants(42, 1)[0]
    later = ANCHOR + timedelta(days=9)
    first = demo.build_tenant(plan, anchor=ANCHOR, max_deployments=10).projects[0].record
    again = demo.build_tenant(plan, anchor=later, max_deployments=10).projects[0].record
    assert first.project_id == again.project_id
    assert again.created_at - first.created_at == timedelta(days=9)
    assert first.created_at + plan.projects[0].age == ANCHOR


def test_the_default_data_set_has_about_eight_tenants_with_two_to_six_projects(
    default_demo: list[demo.DemoTenant],
) -> None:
    assert len(default_demo) == 8
    assert len({t.user_id for t in default_demo}) == 8
    for tenant in default_demo:
        assert USER_ID_PATTERN.match(tenant.user_id)
        assert 2 <= len(tenant.projects) <= 6
        for project in tenant.projects:
            assert PROJECT_ID.match(project.record.project_id)
            assert project.record.repo_url.startswith("https://github.com/")


def test_one_project_has_at_least_two_thousand_deployments_and_others_a_few_to_hundreds(
    default_demo: list[demo.DemoTenant],
) -> None:
    sizes = sorted(len(p.deployments) for t in default_demo for p in t.projects)
    assert sizes[-1] >= 2000
    assert sizes[0] >= 3
    assert 100 <= sizes[-2] < 2000


def test_statuses_are_mostly_ready_with_some_errors_and_a_few_running(
    default_demo: list[demo.DemoTenant],
) -> None:
    deployments = all_deployments(default_demo)
    statuses = Counter(d.record.status for d in deployments)
    assert statuses[S.READY] / len(deployments) > 0.75
    assert 0.05 < statuses[S.ERROR] / len(deployments) < 0.2
    assert statuses[S.CANCELED] > 10
    assert 1 <= statuses[S.QUEUED] <= 10
    assert 2 <= statuses[S.BUILDING] <= 10
    assert all(d.record.error for d in deployments if d.record.status is S.ERROR)
    assert not any(d.record.error for d in deployments if d.record.status is not S.ERROR)


def test_every_deployment_lies_in_the_last_120_days_and_no_build_ends_in_the_future(
    default_demo: list[demo.DemoTenant],
) -> None:
    for deployment in all_deployments(default_demo):
        record = deployment.record
        assert ANCHOR - timedelta(days=120) <= record.created_at < ANCHOR
        assert record.started_at is None or record.created_at < record.started_at < ANCHOR
        assert record.ended_at is None or record.ended_at <= ANCHOR
        assert (record.ended_at is not None) == record.status.is_final


def test_exactly_one_build_has_been_stuck_in_building_for_hours(
    default_demo: list[demo.DemoTenant],
) -> None:
    running = [d.record for d in all_deployments(default_demo) if d.record.status is S.BUILDING]
    stuck = [r for r in running if r.started_at and ANCHOR - r.started_at > timedelta(hours=1)]
    assert len(stuck) == 1
    assert ANCHOR - stuck[0].started_at > timedelta(hours=4)


def test_exactly_one_finished_deployment_has_no_build_log(
    default_demo: list[demo.DemoTenant],
) -> None:
    started_without_log = [
        d for d in all_deployments(default_demo) if d.record.started_at and d.log is None
    ]
    assert len(started_without_log) == 1
    assert started_without_log[0].record.status.is_final


def test_a_failed_build_log_ends_with_the_error_and_a_ready_one_with_ready(
    default_demo: list[demo.DemoTenant],
) -> None:
    deployments = all_deployments(default_demo)
    failed = next(d for d in deployments if d.record.status is S.ERROR and d.log)
    ready = next(d for d in deployments if d.record.status is S.READY)
    assert failed.log.splitlines()[0].endswith(f"Commit: {failed.record.commit_sha[:7]})"), (
        failed.log
    )
    assert "exited with" in failed.log or "maximum duration" in failed.log
    assert ready.log.rstrip().endswith("Status: Ready")


def test_only_recent_ready_deployments_carry_artifacts(
    default_demo: list[demo.DemoTenant],
) -> None:
    with_artifacts = [d for d in all_deployments(default_demo) if d.artifacts]
    assert with_artifacts
    for deployment in with_artifacts:
        assert deployment.record.status is S.READY
        assert ANCHOR - deployment.record.created_at <= timedelta(days=demo.ARTIFACT_DAYS)
        assert {a.name for a in deployment.artifacts} == {"build-manifest.json", "output.tar.gz"}


def test_ids_statuses_and_errors_do_not_depend_on_the_anchor() -> None:
    # So the ids the seed prints (and docs/support-recipes.md quotes) are the same on every
    # machine; only the times move with the moment of the first seed.
    def shape(anchor: datetime) -> list[tuple[str, str, str | None]]:
        tenants = [
            demo.build_tenant(plan, anchor=anchor, max_deployments=60)
            for plan in demo.plan_tenants(42, 3)
        ]
        return [
            (d.record.deployment_id, d.record.status.value, d.record.error)
            for d in all_deployments(tenants)
        ]

    assert shape(ANCHOR) == shape(ANCHOR + timedelta(days=3, hours=5, minutes=7))
