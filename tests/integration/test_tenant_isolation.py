"""Tenant isolation: no repository call returns, changes or reveals another tenant's data."""

from __future__ import annotations

import pytest

from deployments import artifactstore, logstore
from deployments import repository as deployments
from infra.core import aws
from infra.core.errors import InvalidCursor, NotFound, ValidationError
from projects import repository as projects
from tests.factories import PUSH

pytestmark = pytest.mark.usefixtures("aws_stage")


@pytest.fixture
def victim():
    """Tenant A's project with three deployments; every test attacks it as tenant B."""
    project = projects.create_project(
        "tenant-a", {"name": "secret", "repo_url": "https://github.com/a/s"}
    )
    made = [deployments.create_deployment("tenant-a", project.project_id, PUSH) for _ in range(3)]
    return project, made


def _error_text(call) -> str:
    with pytest.raises(NotFound) as caught:
        call()
    return str(caught.value)


def test_get_project_of_another_tenant_is_the_same_not_found_as_a_missing_one(victim):
    project, _ = victim
    theirs = _error_text(lambda: projects.get_project("tenant-b", project.project_id))
    missing = _error_text(lambda: projects.get_project("tenant-b", "prj_0000000000000000"))
    assert theirs == missing.replace("prj_0000000000000000", project.project_id)


def test_update_project_of_another_tenant_is_not_found_and_changes_nothing(victim):
    project, _ = victim
    with pytest.raises(NotFound):
        projects.update_project("tenant-b", project.project_id, {"name": "pwned"})
    with pytest.raises(NotFound):
        projects.update_project(
            "tenant-b", project.project_id, {"name": "pwned", "expected_version": 1}
        )
    assert projects.get_project("tenant-a", project.project_id) == project.model_copy(
        update={
            "latest_deployment": projects.get_project(
                "tenant-a", project.project_id
            ).latest_deployment
        }
    )


def test_list_user_projects_shows_only_the_tenants_own(victim):
    projects.create_project("tenant-b", {"name": "mine", "repo_url": "https://github.com/b/m"})
    names = [p.name for p in projects.list_user_projects("tenant-b").items]
    assert names == ["mine"]


def test_get_deployment_of_another_tenant_is_not_found(victim):
    _, made = victim
    with pytest.raises(NotFound):
        deployments.get_deployment("tenant-b", made[0].deployment_id)


def test_list_project_deployments_of_another_tenants_project_is_not_found(victim):
    project, _ = victim
    with pytest.raises(NotFound):
        deployments.list_project_deployments("tenant-b", project.project_id)
    with pytest.raises(NotFound):
        deployments.list_project_deployments("tenant-b", project.project_id, status="queued")


def test_list_user_deployments_shows_only_the_tenants_own(victim):
    assert deployments.list_user_deployments("tenant-b").items == []


def test_create_deployment_refuses_another_tenants_project_and_writes_nothing(victim):
    project, made = victim
    with pytest.raises(NotFound):
        deployments.create_deployment("tenant-b", project.project_id, PUSH)
    listed = deployments.list_project_deployments("tenant-a", project.project_id).items
    assert {d.deployment_id for d in listed} == {d.deployment_id for d in made}
    latest = projects.get_project("tenant-a", project.project_id).latest_deployment
    assert latest.deployment_id == made[-1].deployment_id


def test_a_tenant_scoped_transition_of_another_tenants_deployment_is_not_found(victim):
    _, made = victim
    with pytest.raises(NotFound):
        deployments.transition_deployment("tenant-b", made[0].deployment_id, "canceled")
    assert deployments.get_deployment("tenant-a", made[0].deployment_id).status == "queued"


def test_a_transition_handed_another_tenants_record_is_still_refused_by_dynamodb(victim):
    _, made = victim
    forged = made[0].model_copy(update={"user_id": "tenant-b"})
    with pytest.raises(NotFound):
        deployments.transition_deployment(
            "tenant-b", made[0].deployment_id, "canceled", known=forged
        )
    assert deployments.get_deployment("tenant-a", made[0].deployment_id).status == "queued"


def test_a_cursor_of_another_tenant_is_refused_and_reads_nothing(victim):
    project, _ = victim
    cursor = deployments.list_project_deployments(
        "tenant-a", project.project_id, limit=1
    ).next_cursor
    calls = []
    aws.dynamodb().meta.events.register("before-call.dynamodb", lambda **kw: calls.append(kw))
    with pytest.raises(InvalidCursor):
        deployments.list_project_deployments("tenant-b", project.project_id, limit=1, cursor=cursor)
    assert calls == []
    user_cursor = deployments.list_user_deployments("tenant-a", limit=1).next_cursor
    calls.clear()
    with pytest.raises(InvalidCursor):
        deployments.list_user_deployments("tenant-b", limit=1, cursor=user_cursor)
    with pytest.raises(InvalidCursor):
        projects.list_user_projects("tenant-a", cursor=user_cursor)
    assert calls == []


@pytest.mark.parametrize("user_id", ["", "a" * 65, "tenant a", "tenant-a/../x", None])
def test_a_malformed_tenant_id_never_reaches_another_tenants_data(victim, user_id):
    project, made = victim
    with pytest.raises(NotFound):
        projects.get_project(user_id, project.project_id)
    with pytest.raises(NotFound):
        deployments.get_deployment(user_id, made[0].deployment_id)
    assert projects.list_user_projects(user_id).items == []


def test_logs_and_artifacts_of_another_tenants_deployment_are_not_found(victim):
    _, made = victim
    logstore.put_build_log(made[0], "secret build output")
    artifactstore.put_artifact(made[0], "site.tar.gz", b"secret")
    for read in (logstore.get_build_log, logstore.build_log_url, artifactstore.list_artifacts):
        with pytest.raises(NotFound):
            read("tenant-b", made[0])
    assert logstore.get_build_log("tenant-a", made[0]).available


def test_import_refuses_deployments_into_another_tenants_project(victim):
    project, made = victim
    with pytest.raises(NotFound):
        deployments.import_deployments(
            "tenant-b", project.project_id, [made[0].model_copy(update={"user_id": "tenant-b"})]
        )
    with pytest.raises(ValidationError):
        deployments.import_deployments(
            "tenant-a",
            project.project_id,
            [
                made[0].model_copy(
                    update={"deployment_id": "dpl_0000000000000001", "user_id": "tenant-b"}
                )
            ],
        )
