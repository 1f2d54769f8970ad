"""The project pages' shared data: tenants' projects, their pushes and their history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client

from deployments import repository as deployments
from deployments.schemas import DeploymentSchema
from deployments.schemas import DeploymentStatus as S
from infra.core.dynamo import now
from projects import repository as projects
from projects.schemas import ProjectSchema

ClientAs = Callable[[str], Client]
SHA = "0123456789abcdef0123456789abcdef01234567"
MISSING_PROJECT = "prj_0000000000000000"


# --- data ---------------------------------------------------------------------------------------


def make_project(user_id: str, name: str = "Storefront") -> ProjectSchema:
    slug = name.lower().replace(" ", "-")
    return projects.create_project(
        user_id, {"name": name, "repo_url": f"https://github.com/{user_id}/{slug}"}
    )


def push(project: ProjectSchema, message: str = "Fix the checkout button") -> DeploymentSchema:
    return deployments.create_deployment(
        project.user_id, project.project_id, {"commit_sha": SHA, "message": message}
    )


def history(project: ProjectSchema, *rows: tuple[float, S]) -> list[DeploymentSchema]:
    """Import past deployments: one per (days ago, status), each built for 90 seconds."""
    made = []
    for days_ago, status in rows:
        created = now() - timedelta(days=days_ago)
        final = status in (S.READY, S.ERROR, S.CANCELED)
        made.append(
            DeploymentSchema(
                deployment_id=deployments.new_deployment_id(),
                project_id=project.project_id,
                user_id=project.user_id,
                commit_sha=SHA,
                message=f"{status.value} {days_ago} days ago",
                branch="main",
                status=status,
                created_at=created,
                updated_at=created,
                started_at=created + timedelta(seconds=10) if status != S.QUEUED else None,
                ended_at=created + timedelta(seconds=100) if final else None,
            )
        )
    deployments.import_deployments(project.user_id, project.project_id, made)
    return made


def rows_of(html: str) -> str:
    """The rows of the page's deployments table (the chart's table of counts comes before it)."""
    return html.split('id="deployments"')[1].split("<tbody>")[1].split("</tbody>")[0]


@pytest.fixture
def shop() -> ProjectSchema:
    """Tenant usr_alice's project with one queued deployment."""
    project = make_project("usr_alice")
    push(project)
    return projects.get_project("usr_alice", project.project_id)
