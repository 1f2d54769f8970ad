"""pydantic schemas for deployments (the status machine itself is deployments.rules)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from deployments.rules import FINAL_STATUSES, TRANSITIONS, DeploymentStatus
from infra.core.schemas import CommitSha, GitRef, InputModel, StoredModel, Timestamp

__all__ = [
    "FINAL_STATUSES",
    "TRANSITIONS",
    "CreateDeploymentSchema",
    "DeploymentSchema",
    "DeploymentStatus",
    "UpdateDeploymentSchema",
]


class DeploymentSchema(StoredModel):
    """A deployment as stored in the deployments table."""

    deployment_id: str
    project_id: str
    user_id: str
    commit_sha: str
    message: str = ""
    branch: str
    status: DeploymentStatus
    created_at: Timestamp
    updated_at: Timestamp
    started_at: Timestamp | None = None
    ended_at: Timestamp | None = None
    build_id: str | None = None
    error: str | None = None

    @property
    def duration_seconds(self) -> float | None:
        """Build time: started → ended, or started → now while building."""
        if self.started_at is None:
            return None
        end = self.ended_at or (
            datetime.now(self.started_at.tzinfo) if not self.status.is_final else None
        )
        return None if end is None else max(0.0, (end - self.started_at).total_seconds())


class CreateDeploymentSchema(InputModel):
    """What a push gives to create a deployment."""

    commit_sha: CommitSha
    message: str = Field(default="", max_length=1000)
    branch: GitRef = "main"


class UpdateDeploymentSchema(InputModel):
    """Fields the build orchestrator may set on a deployment (status goes through the machine)."""

    build_id: str | None = Field(default=None, min_length=1, max_length=128)
    error: str | None = Field(default=None, max_length=4000)
    started_at: Timestamp | None = None
    ended_at: Timestamp | None = None
    message: str | None = Field(default=None, max_length=1000)
