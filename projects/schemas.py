"""pydantic schemas for projects: what is stored, what may be created, what may be changed."""

from __future__ import annotations

import ipaddress
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    HttpUrl,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from infra.core.schemas import GitRef, InputModel, StoredModel, Timestamp, refuse_deceptive

ProjectName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=50),
    AfterValidator(lambda value: refuse_deceptive(value, "name")),
]

# Host names that never name a public git host: the machine itself and private namespaces.
_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".intranet", ".lan", ".home.arpa")


def _check_host(host: str, port: int | None) -> None:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        raise ValueError("repository URL must use a host name, not an IP address")
    labels = host.split(".")
    if (
        host == "localhost"
        or host.endswith(_PRIVATE_SUFFIXES)
        or len(labels) < 2
        or not labels[-1].isalpha()
    ):
        raise ValueError("repository URL needs a public git host name such as github.com")
    if any(not label or len(label) > 63 for label in labels) or len(host) > 253:
        raise ValueError("repository URL's host name has an empty or over-long label")
    if port == 0:
        raise ValueError("repository URL must not use port 0")


def _check_repo_url(value: HttpUrl) -> str:
    text = refuse_deceptive(str(value), "repository URL")
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    path = [p for p in parts.path.split("/") if p]
    try:
        port = parts.port
    except ValueError as error:
        raise ValueError("repository URL has an invalid port") from error
    _check_host(host, port)
    if len(path) < 2:
        raise ValueError(
            "repository URL must name the repository, e.g. https://github.com/owner/repo"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("repository URL must not carry credentials, a query or a fragment")
    return str(value).rstrip("/")


# Validated as a URL by pydantic, then kept (and stored) as plain text without a trailing slash.
RepoUrl = Annotated[HttpUrl, AfterValidator(_check_repo_url), PlainSerializer(str, return_type=str)]


class LatestDeployment(StoredModel):
    """The summary of a project's newest deployment, kept on the project item by the repository."""

    deployment_id: str
    status: str
    commit_sha: str
    created_at: Timestamp


class ProjectSchema(StoredModel):
    """A project as stored in the projects table."""

    project_id: str
    user_id: str
    name: str
    repo_url: str
    branch: str
    created_at: Timestamp
    updated_at: Timestamp
    latest_deployment: LatestDeployment | None = None
    version: int = 1
    # How far the project's deployments carry the derived keys and counters (projectStatus, per-day
    # counts): infra.core.resources.DERIVED_VERSION once complete; 0 for a project stored before
    # they existed, until `manage.py recount_deployments` has filled them in.
    derived_version: int = 0


class CreateProjectSchema(InputModel):
    """What a tenant gives to create a project."""

    name: ProjectName
    repo_url: RepoUrl
    branch: GitRef = "main"


class UpdateProjectSchema(InputModel):
    """A partial change to a project; with `expected_version` the write is conditional on it."""

    name: ProjectName | None = None
    repo_url: RepoUrl | None = None
    branch: GitRef | None = None
    expected_version: int | None = Field(default=None, ge=1, le=2**53)

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateProjectSchema:
        if not self.changes():
            raise ValueError("nothing to change: give a name, repo_url or branch")
        return self

    def changes(self) -> dict[str, str]:
        """The stored attributes this update sets (camelCase)."""
        return self.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"expected_version"}
        )
