"""The deployments' own errors, on the kernel's shared base classes (infra.core.errors)."""

from __future__ import annotations

from infra.core.errors import RepositoryError

__all__ = ["InvalidTransition"]


class InvalidTransition(RepositoryError):
    """A deployment status change that the status machine does not allow from its current state;
    `current_status` is the stored status that refused it, when DynamoDB returned it."""

    def __init__(
        self,
        message: str,
        *,
        cause: BaseException | None = None,
        current_status: str | None = None,
    ) -> None:
        super().__init__(message, cause=cause)
        self.current_status = current_status
