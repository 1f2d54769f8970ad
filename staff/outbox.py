"""Staff actions and their audit entries as one outcome: the entry is written pending before the
AWS write, confirmed after it, and resolved by a sweeper (or the request's replay) when not.

DynamoDB and Django's database cannot share a transaction, so every staff action runs as an
outbox (docs/architecture.md, "An action and its audit entry"):

1. `perform` inserts the entry as *pending*, with the request's idempotency key (unique) and a
   fresh write token. If Django's database refuses, the action is refused (AuditUnavailable, the
   503 page) before anything is written to AWS.
2. The AWS write stores that token, and for DynamoDB an action receipt keyed by it in the same
   transaction (infra.core.receipts); a redeploy's trace is its request guard. A refusal
   (a lost race, a stale edit) removes the entry: nothing happened.
3. The entry is confirmed (*done*). If Django's database fails now, the action stands and the
   caller gets AuditPending: the page says it happened and that its entry is pending.
4. `resolve_pending` (the `resolve_pending_audit` command) looks each pending entry's trace up
   in AWS: found, it is done; absent once the entry is older than PENDING_GRACE (longer than any
   request's AWS calls can take), it "did not happen". A replay of the same request (same key)
   resolves its entry in place, and completes the write with the same token when it is missing.

A key is bound to what it was made for (action, tenant, record and parameters): presented for
anything else it raises RequestKeyReused (409) and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from deployments import logstore
from deployments import repository as deployments
from infra.core.errors import NotFound, RepositoryError, RequestKeyReused, Unavailable
from infra.core.ids import new_write_token, valid_user_id
from infra.core.receipts import find_receipt
from staff.audit import AuditUnavailable, change_message, record_type_of
from staff.models import AuditEntry, Outcome

T = TypeVar("T")
logger = logging.getLogger("anchor.audit")

# A pending entry whose write left no trace is called "did not happen" only once it is older than
# this: by then the request that wrote it has finished (AWS calls end within the clients'
# timeouts and attempts, well under a minute), so its write can no longer land.
PENDING_GRACE = timedelta(minutes=2)

# How the sweeper finds an action's write in AWS.
RECEIPT, GUARD, RESTORE = "receipt", "guard", "restore"


class AuditPending(Exception):
    """The action took effect, but its audit entry could not be confirmed: the entry stays
    pending (the audit page says so) until the sweeper or a replay of the request resolves it.
    `result` is what the action returned."""

    def __init__(self, result: Any, entry_id: int) -> None:
        super().__init__(
            f"the action took effect; its audit entry {entry_id} is pending and will be resolved "
            "by the sweeper (manage.py resolve_pending_audit)"
        )
        self.result = result
        self.entry_id = entry_id


@dataclass(frozen=True)
class Entry:
    """What a staff action's audit entry says while pending (the confirmation may change it):
    its kind, the tenant and record it acts on, and the words of the trail."""

    kind: str
    tenant: str
    action: str
    object_id: str
    object_repr: str
    reason: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_deployment(
        cls, kind: str, deployment: Any, action: str, reason: str, **changes: dict[str, Any]
    ) -> Entry:
        """The entry of an action on a deployment (a DeploymentSchema), "… of tenant …"."""
        return cls(
            kind=kind,
            tenant=deployment.user_id,
            action=f"{action} {deployment.deployment_id} of tenant {deployment.user_id}",
            object_id=deployment.deployment_id,
            object_repr=f"deployment {deployment.deployment_id} ({deployment.project_id})",
            reason=reason,
            **changes,
        )


@dataclass(frozen=True)
class Trace:
    """Where the action's write is looked up: a receipt or request guard in the project's
    partition, or the restore state of the deployment's log."""

    check: str
    project_id: str
    deployment_id: str = ""


def new_request_key() -> str:
    """A fresh idempotency key (for a call that brings none: the shell, the tests)."""
    return secrets.token_urlsafe(24)


def perform(
    staff: AbstractBaseUser,
    entry: Entry,
    *,
    params: dict[str, Any],
    request_key: str | None,
    trace: Trace,
    write: Callable[[str], T],
    confirmed: Callable[[T], dict[str, Any]],
    replayed: Callable[[AuditEntry], T],
) -> T:
    """Run one staff action as an outbox (see the module's docstring) and return its result.

    `entry` says what is done to which record (its object_id) of which tenant; `params` are
    what else the request asked (they fingerprint its key). `write(token)` makes the AWS write
    with that token; `confirmed(result)` gives the entry's fields that only the write's result
    knows (a redeploy's new id); `replayed(entry)` is the result to return when a replay finds
    the action already done.
    """
    key = request_key or new_request_key()
    row, fresh = _open(staff, params, key, entry, trace)
    if not fresh:
        if row.outcome == Outcome.DONE:
            return replayed(row)
        found = _trace(row) if row.outcome == Outcome.PENDING else None
        if found is not None:  # the first try did it: complete its entry in place
            try:
                _confirm(row, found)
            except DatabaseError as error:
                raise AuditPending(replayed(row), row.pk) from error
            return replayed(row)
        if row.outcome == Outcome.NOT_DONE:
            _reopen(row)
        # Pending with no trace: the write is made now, with the entry's own token.
    try:
        result = write(row.write_token)
    except Unavailable:
        raise  # the outcome is unknown (a timeout after the write?): the entry stays pending
    except Exception:
        if fresh:
            _discard(row)
        else:
            _settle_refused_replay(row)
        raise
    try:
        _confirm(row, confirmed(result))
    except DatabaseError as error:
        logger.error(
            "audit entry %s could not be confirmed after its action took effect; it stays "
            "pending for the sweeper: %s",
            row.pk,
            error,
        )
        raise AuditPending(result, row.pk) from error
    return result


def _fingerprint(params: dict[str, Any]) -> str:
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _open(
    staff: AbstractBaseUser, params: dict[str, Any], key: str, entry: Entry, trace: Trace
) -> tuple[AuditEntry, bool]:
    """The pending entry of this request: inserted now (True), or the one an earlier try with
    the same key inserted (False). RequestKeyReused when the key was made for another request;
    AuditUnavailable when Django's database refuses."""
    kind, tenant, record_id = entry.kind, entry.tenant, entry.object_id
    intent = {
        "record": record_id,
        "params": _fingerprint({"kind": kind, "tenant": tenant, "record": record_id, **params}),
        "check": trace.check,
        "project": trace.project_id,
        "deployment": trace.deployment_id,
    }
    try:
        try:
            with transaction.atomic():
                row = AuditEntry.objects.create(
                    user_id=staff.pk,
                    username=staff.get_username(),
                    kind=kind,
                    tenant=tenant if valid_user_id(tenant) else "",
                    record_type=record_type_of(entry.object_id),
                    object_id=entry.object_id[:64],
                    object_repr=(entry.object_repr or entry.object_id)[:200],
                    reason=entry.reason,
                    before=dict(entry.before),
                    after=dict(entry.after),
                    change_message=change_message(entry.action, entry.before, entry.after),
                    outcome=Outcome.PENDING,
                    request_key=key,
                    write_token=new_write_token(),
                    intent=intent,
                )
            return row, True
        except IntegrityError:
            existing = AuditEntry.objects.filter(request_key=key).first()
            if existing is None:
                raise
    except DatabaseError as error:
        raise AuditUnavailable(
            "the audit trail cannot be written right now, so nothing was done", cause=error
        ) from error
    same = (
        existing.kind == kind
        and existing.user_id == staff.pk
        and existing.intent.get("params") == intent["params"]
    )
    if not same:
        raise RequestKeyReused(
            f"this form was already used for another request ({existing.get_kind_display()} "
            f"of {existing.intent.get('record') or existing.object_id}); nothing was done for "
            "this one. Open the form again to make a new request."
        )
    return existing, False


def _update(row: AuditEntry, **fields: Any) -> None:
    AuditEntry.objects.filter(pk=row.pk).update(**fields)
    for name, value in fields.items():
        setattr(row, name, value)


def _confirm(row: AuditEntry, fields: dict[str, Any]) -> None:
    """The action happened: the entry says done, with what only its result knew."""
    before = fields.get("before", row.before)
    after = fields.get("after", row.after)
    action = fields.pop("action", None)
    if action is not None:
        fields["change_message"] = change_message(action, before, after)
    if "object_id" in fields:
        fields["record_type"] = record_type_of(fields["object_id"])
    _update(row, outcome=Outcome.DONE, resolved_at=timezone.now(), **fields)


def _discard(row: AuditEntry) -> None:
    """The action was refused on the spot (nothing written): its pending entry goes. If even
    that fails, the sweeper finds no trace and marks it "did not happen"."""
    try:
        AuditEntry.objects.filter(pk=row.pk, outcome=Outcome.PENDING).delete()
    except DatabaseError:
        logger.warning("pending audit entry %s of a refused action is left to the sweeper", row.pk)


def _reopen(row: AuditEntry) -> None:
    try:
        _update(row, outcome=Outcome.PENDING, resolved_at=None)
    except DatabaseError as error:
        raise AuditUnavailable(
            "the audit trail cannot be written right now, so nothing was done", cause=error
        ) from error


def _settle_refused_replay(row: AuditEntry) -> None:
    """A replay refused now (the record moved on meanwhile) may still have been done by the
    first try: look once more, and leave the rest to the sweeper."""
    try:
        _resolve(row, final=False)
    except (RepositoryError, DatabaseError):
        logger.warning("pending audit entry %s is left to the sweeper", row.pk)


# --- resolution ---------------------------------------------------------------------------------


def _trace(row: AuditEntry) -> dict[str, Any] | None:
    """The entry's fields once done when its write is found in AWS, else None."""
    intent = row.intent or {}
    check, project_id = intent.get("check"), intent.get("project", "")
    if check == RECEIPT:
        return {} if find_receipt(project_id, row.write_token) else None
    if check == GUARD:
        guard = deployments.request_guard(project_id, row.request_key or "")
        if not guard or guard.get("requestUserId") != row.tenant:
            return None
        stored = guard.get("requestPurpose", "")
        if stored.split(" commit ")[0] != f"redeploy {intent.get('record')}":
            return None  # the guard of another request (a key reused): not this action
        new_id = guard["requestSortKey"].rsplit("#", 1)[-1]
        return redeployed(intent.get("record", ""), new_id, project_id, row.tenant, "queued")
    if check == RESTORE:
        try:
            deployment = deployments.get_deployment(row.tenant, intent.get("deployment", ""))
            log = logstore.get_build_log(row.tenant, deployment, tail_lines=0)
        except NotFound:
            return None
        return {} if log.restore is not None else None
    return None


def redeployed(
    old_id: str, new_id: str, project_id: str, tenant: str, status: str
) -> dict[str, Any]:
    """A redeploy entry's fields once done: about the new deployment, "old as new"."""
    return {
        "action": f"Redeployed {old_id} as {new_id} of tenant {tenant}",
        "object_id": new_id,
        "object_repr": f"deployment {new_id} ({project_id})",
        "before": {"deployment": old_id},
        "after": {"deployment": new_id, "status": status},
    }


def _resolve(row: AuditEntry, *, final: bool, grace: timedelta = PENDING_GRACE) -> str:
    """Settle one pending entry by looking its write up: done when found; "did not happen"
    when not found and (`final`) the entry is older than `grace`; else it stays pending."""
    found = _trace(row)
    if found is not None:
        _confirm(row, found)
    elif final and row.action_time <= timezone.now() - grace:
        _update(row, outcome=Outcome.NOT_DONE, resolved_at=timezone.now())
    return row.outcome


def settle(staff: AbstractBaseUser, request_key: str) -> AuditEntry | None:
    """The staff member's entry of the request with this key, resolved now if pending (a replay
    that has nothing left to write, e.g. an edit whose change is already stored); None when no
    such request was made. AuditUnavailable when Django's database cannot be read."""
    try:
        row = AuditEntry.objects.filter(request_key=request_key, user_id=staff.pk).first()
        if row is not None and row.outcome == Outcome.PENDING:
            _resolve(row, final=False)
    except DatabaseError as error:
        raise AuditUnavailable("the audit trail cannot be read right now", cause=error) from error
    return row


def resolve_pending(*, older_than: timedelta = PENDING_GRACE) -> Counter[str]:
    """The sweeper: settle every pending entry of a staff action (oldest first), and count the
    outcomes by value ("done", "not_done", "pending" for those still too young or whose trace
    could not be read). Callable from the shell and the tests; `manage.py resolve_pending_audit`
    runs it."""
    outcomes: Counter[str] = Counter()
    for row in AuditEntry.objects.filter(outcome=Outcome.PENDING).order_by("id").iterator():
        try:
            outcomes[str(_resolve(row, final=True, grace=older_than))] += 1
        except RepositoryError as error:
            logger.warning("pending audit entry %s could not be resolved: %s", row.pk, error)
            outcomes[str(Outcome.PENDING)] += 1
    return outcomes


__all__ = [
    "GUARD",
    "PENDING_GRACE",
    "RECEIPT",
    "RESTORE",
    "AuditPending",
    "AuditUnavailable",
    "Entry",
    "Trace",
    "new_request_key",
    "perform",
    "redeployed",
    "resolve_pending",
    "settle",
]
