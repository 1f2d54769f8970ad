"""Marks the one kind of read allowed to cross tenants: an audited staff look-up of an id's owner.

`cross_tenant()` wraps the resolver call inside staff.audit.audited_lookup (and the offline
recount). Nothing here grants anything: the repository's tenant conditions stay as they are; the
mark lets the test suite's spy tell an audited look-up from a tenant-scoped read that forgot its
`userId` condition.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_reason: ContextVar[str | None] = ContextVar("anchor_cross_tenant", default=None)


@contextmanager
def cross_tenant(reason: str) -> Iterator[None]:
    """Inside the block, reads are an audited cross-tenant look-up (`reason` says which)."""
    token = _reason.set(reason)
    try:
        yield
    finally:
        _reason.reset(token)


def current_cross_tenant_reason() -> str | None:
    return _reason.get()
