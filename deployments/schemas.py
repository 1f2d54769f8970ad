"""pydantic schemas for deployments, and the deployment status machine."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from infra.core.schemas import CommitSha, GitRef, InputModel, StoredModel, Timestamp


class DeploymentStatus(StrEnum):
    QUEUED = "queued"
    BUILDING = "building"
    READY = "ready"
    ERROR = "error"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES

    def allowed_sources(self) -> frozenset[DeploymentStatus]:
        """The statuses from which a deployment may move to this one."""
        return frozenset(s for s, targets in TRANSITIONS.items() if self in targets)


S = DeploymentStatus
# queued → building → ready | error; queued | building → canceled; final states go nowhere.
TRANSITIONS: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {
    S.QUEUED: frozenset({S.BUILDING, S.CANCELED}),
    S.BUILDING: frozenset({S.READY, S.ERROR, S.CANCELED}),
    S.READY: frozenset(),
    S.ERROR: frozenset(),
    S.CANCELED: frozenset(),
}
FINAL_STATUSES = frozenset({S.READY, S.ERROR, S.CANCELED})


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
