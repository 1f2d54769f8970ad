"""The audit trail: staff actions, cross-tenant look-ups and exports, in Django's own database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser

from infra.core.errors import NotFound, Unavailable, ValidationError
from infra.core.ids import DEPLOYMENT_ID_PATTERN, PROJECT_ID_PATTERN, valid_user_id
from infra.core.scope import cross_tenant
from staff.models import AuditEntry, AuditKind, RecordType

T = TypeVar("T")

REASON_MIN, REASON_MAX = 3, 500


class AuditUnavailable(Unavailable):
    """Django's database (the audit trail) cannot be written: the action was refused before any
    AWS write."""


class Reason(str):
    """A staff member's reason for an action, already checked (clean_reason made it)."""

    __slots__ = ()


def clean_reason(reason: str | None) -> Reason:
    """The reason given for a staff action, trimmed; ValidationError unless 3 to 500 characters.

    Checked once per request: the form's field makes the Reason, and the use case, handed a
    Reason, takes it as it is (the shell and the tests hand plain text, checked then)."""
    if isinstance(reason, Reason):
        return reason
    text = " ".join(str(reason or "").split())
    if not REASON_MIN <= len(text) <= REASON_MAX:
        raise ValidationError(
            {
                "reason": [
                    f"Give a reason of {REASON_MIN} to {REASON_MAX} characters "
                    f"(this one has {len(text)})."
                ]
            }
        )
    return Reason(text)


def record_type_of(object_id: str) -> str:
    """What an id names: a project, a deployment, a tenant — or nothing the console links to."""
    if PROJECT_ID_PATTERN.match(object_id):
        return RecordType.PROJECT
    if DEPLOYMENT_ID_PATTERN.match(object_id):
        return RecordType.DEPLOYMENT
    if valid_user_id(object_id):
        return RecordType.TENANT
    return RecordType.NONE


def change_message(action: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    """An entry's one-line message: the action, then "key: before → after" for each change."""
    changes = [
        f"{key}: {before.get(key, '—')} → {after.get(key, '—')}"
        for key in sorted(set(before) | set(after))
    ]
    return f"{action}" + (f" ({'; '.join(changes)})" if changes else "")


def audit(
    user: AbstractBaseUser,
    *,
    action: str,
    object_id: str = "",
    object_repr: str = "",
    kind: str = AuditKind.OTHER,
    tenant: str = "",
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    record_type: str | None = None,
    model: type | None = None,  # accepted for older callers; the kind says what it was about
) -> AuditEntry:
    """Record what a staff member did, as done: who, when, what kind, which tenant and record,
    why, before → after. Look-ups, visits, exports and logins are recorded this way, whatever
    their own outcome; staff actions that write to AWS go through staff.outbox instead, whose
    entry is pending until the write is known to have happened."""
    before, after = dict(before or {}), dict(after or {})
    message = change_message(action, before, after)
    return AuditEntry.objects.create(
        user_id=user.pk,
        username=user.get_username(),
        kind=kind,
        tenant=tenant if valid_user_id(tenant) else "",
        record_type=record_type_of(object_id) if record_type is None else record_type,
        object_id=object_id[:64],
        object_repr=(object_repr or object_id)[:200],
        reason=reason,
        before=before,
        after=after,
        change_message=message,
    )


def audited_lookup(
    user: AbstractBaseUser,
    record_id: str,
    model: type | None,
    resolve: Callable[[str], T],
    *,
    via: str = "",
) -> T:
    """CROSS-TENANT: `resolve(record_id)` (an id's owner), recorded in the audit trail whatever
    the outcome — found, not found, or failed because AWS could not be reached."""
    outcome = "failed: the data plane could not be reached"
    owner_id = ""
    try:
        with cross_tenant(f"audited look-up of {record_id}"):
            owner = resolve(record_id)
        owner_id = owner if isinstance(owner, str) else owner[0]
        outcome = f"owned by tenant {owner_id}"
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
            kind=AuditKind.LOOKUP,
            tenant=owner_id,
            record_type=record_type_of(record_id) if owner_id else RecordType.NONE,
        )
