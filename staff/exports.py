"""Audited exports as use cases: a tenant's deployments and the audit trail, for pages and shell.

Each checks the staff member's permission itself, reads the first rows before it records the
export (an unreachable store raises before anything is audited), then returns the rows as an
iterator that reads on page by page, so memory stays flat however many rows there are.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet

from deployments import history
from deployments.schemas import DeploymentSchema
from infra.core.errors import NotFound, Unreadable
from infra.core.ids import valid_user_id
from projects import repository as projects
from staff.audit import audit
from staff.lookups import staff_account
from staff.models import AuditEntry, AuditKind
from staff.permissions import VIEW, VIEW_AUDIT, Actor, require


def export_tenant_deployments(
    staff: Actor | str,
    user_id: str,
    *,
    project_id: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    filters: dict[str, str] | None = None,
) -> Iterator[DeploymentSchema | Unreadable]:
    """The tenant's deployments (optionally one project's, one status, a window of days),
    newest first, as an iterator; audited as an export with its filters. Needs VIEW. `staff`
    is the staff user, or in the shell the username of a staff account.

    Tenant-scoped: another tenant's project raises NotFound, like a missing one. `filters` is
    what the audit entry records (the form's values); by default the arguments given."""
    staff = require(staff_account(staff), VIEW)
    if not valid_user_id(user_id):
        raise NotFound(f"tenant {user_id} not found")
    if project_id:
        projects.get_project(user_id, project_id)  # another tenant's project: NotFound
    rows = history.iter_tenant_deployments(
        user_id, project_id=project_id, status=status, since=since, until=until
    )
    first = list(itertools.islice(rows, 1))  # an unreachable DynamoDB raises here, unaudited
    if filters is None:
        given = {"project": project_id, "status": status, "since": since, "until": until}
        filters = {key: str(value) for key, value in given.items() if value not in (None, "")}
    audit(
        staff,
        action=f"Exported the deployments of tenant {user_id} as CSV",
        object_id=project_id or user_id,
        kind=AuditKind.EXPORT,
        tenant=user_id,
        after={"filters": filters or "none"},
    )
    return itertools.chain(first, rows)


def export_audit_trail(
    staff: Actor | str,
    entries: QuerySet[AuditEntry] | None = None,
    *,
    tenant: str = "",
    filters: dict[str, str] | None = None,
) -> Iterator[AuditEntry]:
    """The audit entries (all, or the given filtered QuerySet), newest first, as an iterator
    read in chunks of 2,000; audited as an export with its filters. Needs VIEW_AUDIT.

    The export stops at the entries that existed when it began (its own entry comes after)."""
    staff = require(staff_account(staff), VIEW_AUDIT)
    entries = (AuditEntry.objects.all() if entries is None else entries).order_by("-id")
    last = entries.values_list("id", flat=True).first()
    entries = entries.filter(id__lte=last) if last is not None else entries.none()
    audit(
        staff,
        action="Exported the audit trail as CSV",
        kind=AuditKind.EXPORT,
        tenant=tenant,
        after={"filters": filters or "none"},
    )
    return entries.iterator(chunk_size=2000)
