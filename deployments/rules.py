"""The deployment status machine and its rules: final, in flight, cancelable, stuck (pure, no I/O).

Every module that asks "is this deployment final / in flight / cancelable / stuck" asks here:
the repository, the derived keys, reconcile, the staff use cases, the views and template tags.
Statuses are StrEnum members, so a stored string ("ready") is a member of these sets too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from django.conf import settings

from infra.core.dynamo import now


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
FINAL_STATUSES = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
IN_FLIGHT = frozenset({S.QUEUED, S.BUILDING})  # a build not over yet: the live tail polls it
CANCELABLE = S.CANCELED.allowed_sources()  # staff may cancel a queued or building deployment


class _Record(Protocol):
    @property
    def status(self) -> DeploymentStatus: ...

    @property
    def started_at(self) -> datetime | None: ...


def is_final(status: str) -> bool:
    """Whether a status (member or stored string) is final: ready, error or canceled."""
    return status in FINAL_STATUSES


def is_in_flight(status: str) -> bool:
    """Whether a status (member or stored string) is queued or building."""
    return status in IN_FLIGHT


def can_cancel(deployment: _Record, moment: datetime | None = None) -> bool:
    """Whether staff may cancel the deployment: it is queued or building."""
    return deployment.status in CANCELABLE


def stuck_after() -> timedelta:
    """How long a build may run before staff may mark it as error
    (settings.STUCK_BUILD_AFTER, from ANCHOR_STUCK_BUILD_MINUTES)."""
    return settings.STUCK_BUILD_AFTER


def stuck_since(moment: datetime) -> datetime:
    """A build started before this moment is stuck at `moment`."""
    return moment - stuck_after()


def is_stuck(deployment: _Record, moment: datetime | None = None) -> bool:
    """Whether the deployment is a stuck build: building, started over stuck_after() ago."""
    moment = moment or now()
    return (
        deployment.status is DeploymentStatus.BUILDING
        and deployment.started_at is not None
        and deployment.started_at < stuck_since(moment)
    )
