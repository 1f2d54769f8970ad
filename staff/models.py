"""The audit trail's table: one row per staff action, cross-tenant look-up and export."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditKind(models.TextChoices):
    """What kind of thing a staff member did (the audit page filters on it)."""

    CANCEL = "cancel", "Cancel deployment"
    FAIL = "fail", "Mark deployment as error"
    REDEPLOY = "redeploy", "Redeploy"
    EDIT_PROJECT = "edit_project", "Edit project"
    RESTORE_LOG = "restore_log", "Restore archived log"
    LOOKUP = "lookup", "Cross-tenant look-up"
    ATTENTION = "attention", "Needs-attention visit"
    EXPORT = "export", "CSV export"
    SSO_LOGIN = "sso_login", "Single sign-on login"
    GROUP_CHANGE = "group_change", "Group change"
    OTHER = "other", "Other"


class Outcome(models.TextChoices):
    """Whether the action an entry records took effect. Entries of staff actions are written
    pending before the AWS write and confirmed after it (staff.outbox); look-ups, visits and
    exports are recorded done, whatever their own outcome (their message says it)."""

    DONE = "done", "Done"
    PENDING = "pending", "Pending: outcome not yet known"
    NOT_DONE = "not_done", "Did not happen"


class RecordType(models.TextChoices):
    TENANT = "tenant", "Tenant"
    PROJECT = "project", "Project"
    DEPLOYMENT = "deployment", "Deployment"
    NONE = "", "—"


class AuditEntry(models.Model):
    """Who did what, when, to which tenant's record, why, and what changed (before → after).

    Written only by staff.audit and staff.outbox; nobody edits or deletes a row (the admin
    offers neither). The one exception is the outbox's own: a pending entry is confirmed or
    resolved in place, and one whose action was refused on the spot (nothing written) removed.
    Indexed for the audit page's filters, each newest first.
    """

    action_time = models.DateTimeField(default=timezone.now, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150)  # kept when the account is deleted
    kind = models.CharField(max_length=20, choices=AuditKind.choices, default=AuditKind.OTHER)
    tenant = models.CharField(max_length=64, blank=True)
    record_type = models.CharField(max_length=12, choices=RecordType.choices, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    change_message = models.TextField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.DONE)
    # The request's idempotency key (one entry per key, whatever the retries) and the token of
    # its AWS write, which the sweeper looks up; `intent` is what the key was made for (action,
    # record) and where the write's trace is found.
    request_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    write_token = models.CharField(max_length=64, blank=True)
    intent = models.JSONField(default=dict, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-id",)
        default_permissions = ("view",)
        verbose_name = "audit entry"
        verbose_name_plural = "audit trail"
        indexes = [
            models.Index(fields=["action_time"], name="audit_time"),
            models.Index(fields=["user", "-id"], name="audit_user"),
            models.Index(fields=["kind", "-id"], name="audit_kind"),
            models.Index(fields=["tenant", "-id"], name="audit_tenant"),
            models.Index(fields=["outcome", "id"], name="audit_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.username}: {self.change_message}"
