"""The needs-attention feed as a use case: a cross-tenant read, audited as a visit."""

from __future__ import annotations

from django.conf import settings

from deployments import attention as feed
from staff.audit import audit
from staff.lookups import staff_account
from staff.models import AuditKind, RecordType
from staff.permissions import VIEW, Actor, require


def attention_feed(
    staff: Actor | str,
    *,
    limit: int = 25,
    cursor: str | None = None,
    kind: str | None = None,
    record_visit: bool = True,
) -> feed.AttentionPage:
    """CROSS-TENANT: stuck builds, long-queued deployments and recent errors of every tenant,
    newest first (deployments.attention). Needs VIEW. With `record_visit` (the default) the
    read is recorded in the audit trail as a visit of the feed; the dashboard records one
    per visit (not for its pages, reloads and refreshes), the shell one per call."""
    staff = require(staff_account(staff), VIEW)
    page = feed.attention_feed(
        stuck_after=settings.STUCK_BUILD_AFTER,
        queued_after=settings.LONG_QUEUED_AFTER,
        limit=limit,
        cursor=cursor,
        kind=kind,
    )
    if record_visit:
        audit(
            staff,
            action="Opened the needs-attention feed (across all tenants)",
            object_id="attention",
            object_repr="needs-attention feed",
            kind=AuditKind.ATTENTION,
            record_type=RecordType.NONE,
        )
    return page
