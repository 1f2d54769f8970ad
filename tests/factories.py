"""Test data factories: the one place that knows what a valid push, project and deployment are.

factory_boy's idea with plain functions: every value has a valid default and a test names only
what it is about (`create_deployment(project, S.BUILDING, started_ago=timedelta(hours=3))`).
When a schema changes, this module changes and the tests that build data through it do not.

The functions that write go through the repositories, as the console does, so the data they
make carries every derived key and counter; call them inside a test that has `aws_stage`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core.dynamo import now
from projects import repository as projects
from projects.schemas import ProjectSchema

S = DeploymentStatus

# The tenant a test acts for, and another one (to prove what it must not see).
TENANT, OTHER = "tenant-a", "tenant-b"

# A push as the platform's webhook gives it: what `create_deployment` needs.
PUSH: dict[str, str] = {
    "commit_sha": "0123456789abcdef0123456789abcdef01234567",
    "message": "Add pricing page",
}

# What a valid new project needs (CreateProjectSchema).
PROJECT: dict[str, str] = {"name": "storefront", "repo_url": "https://github.com/a/storefront"}

# A fixed creation time for records built in memory (import tests compare it to the stored one).
CREATED = datetime(2026, 3, 1, 4, 5, 6, 789000, tzinfo=UTC)


def push(**changes: Any) -> dict[str, Any]:
    """PUSH with some fields changed: `push(branch="release-7")`."""
    return {**PUSH, **changes}


def create_project(user_id: str = TENANT, **changes: Any) -> ProjectSchema:
    """A new project of `user_id`, stored through the projects repository."""
    return projects.create_project(user_id, {**PROJECT, **changes})


def create_deployment(
    project: ProjectSchema,
    status: DeploymentStatus = S.QUEUED,
    *,
    started_ago: timedelta | None = None,
    error: str | None = None,
    **changes: Any,
) -> DeploymentSchema:
    """A deployment of `project` (PUSH with `changes`) moved along the status machine to `status`,
    as the orchestrator would move it; `started_ago` backdates its build's start (a building one
    started hours ago is a stuck build)."""
    made = deployments.create_deployment(project.user_id, project.project_id, push(**changes))
    if status is S.QUEUED:
        return made
    if status is S.CANCELED:  # canceled while queued, as staff cancel most often
        return deployments.update_deployment_status(made.deployment_id, S.CANCELED)
    deployments.update_deployment_status(made.deployment_id, S.BUILDING)
    if started_ago is not None:
        deployments.update_deployment(made.deployment_id, started_at=now() - started_ago)
    if status is S.BUILDING:
        return deployments.get_deployment(project.user_id, made.deployment_id)
    return deployments.update_deployment_status(made.deployment_id, status, error=error)


def project_record(**changes: Any) -> ProjectSchema:
    """A project as the projects table holds it, built in memory (for imports and rendering)."""
    fields: dict[str, Any] = {
        "project_id": "prj_0123456789abcdef",
        "user_id": TENANT,
        **PROJECT,
        "branch": "main",
        "created_at": CREATED,
        "updated_at": CREATED,
        "version": 1,
    }
    return ProjectSchema(**{**fields, **changes})
