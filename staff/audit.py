"""The audit trail: staff actions and cross-tenant look-ups in the admin's own action log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType

from infra.core.errors import NotFound
from infra.core.scope import cross_tenant

T = TypeVar("T")


def audit(
    user: AbstractBaseUser,
    *,
    action: str,
    object_id: str,
    object_repr: str,
    model: type,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> LogEntry:
    """Record a staff action in the admin's own action log: who, when, what, before → after."""
    before, after = before or {}, after or {}
    changes = [
        f"{key}: {before.get(key, '—')} → {after.get(key, '—')}"
        for key in sorted(set(before) | set(after))
    ]
    message = f"{action}" + (f" ({'; '.join(changes)})" if changes else "")
    return LogEntry.objects.create(
        user_id=user.pk,
        content_type=ContentType.objects.get_for_model(model, for_concrete_model=False),
        object_id=object_id,
        object_repr=object_repr[:200],
        action_flag=CHANGE,
        change_message=message,
    )


def audited_lookup(
    user: AbstractBaseUser,
    record_id: str,
    model: type,
    resolve: Callable[[str], T],
    *,
    via: str = "",
) -> T:
    """CROSS-TENANT: `resolve(record_id)` (an id's owner), recorded in the audit trail whatever
    the outcome — found, not found, or failed because AWS could not be reached."""
    outcome = "failed: the data plane could not be reached"
    try:
        with cross_tenant(f"audited look-up of {record_id}"):
            owner = resolve(record_id)
        outcome = f"owned by tenant {owner if isinstance(owner, str) else owner[0]}"
        return owner
    except NotFound:
        outcome = "not found"
        raise
    finally:
        audit(
            user,
            action=f"Cross-tenant look-up of {record_id}{via}: {outcome}",
            object_id=record_id,
            object_repr=f"look-up {record_id}",
            model=model,
        )
