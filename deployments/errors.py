"""The deployments' own errors, on the kernel's shared base classes (infra.core.errors)."""

from __future__ import annotations

from datetime import datetime

from infra.core.errors import RepositoryError

__all__ = ["InvalidTransition"]


class InvalidTransition(RepositoryError):
    """A deployment status change that the status machine does not allow from its current state;
    `current_status` and `current_started_at` are the stored status and startedAt that refused
    it, when DynamoDB returned them."""

    def __init__(
        self,
        message: str,
        *,
        cause: BaseException | None = None,
        current_status: str | None = None,
        current_started_at: datetime | None = None,
    ) -> None:
        super().__init__(message, cause=cause)
        self.current_status = current_status
        self.current_started_at = current_started_at
