"""The staff permissions (app_label.codename), created by the projects/deployments migrations."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError

from staff.audit import AuditUnavailable

VIEW = "projects.view_tenant_data"
FIND = "projects.find_by_id"
EDIT_PROJECT = "projects.edit_project"
CANCEL = "deployments.cancel_deployment"
FAIL = "deployments.fail_deployment"
REDEPLOY = "deployments.redeploy_deployment"
VIEW_AUDIT = "staff.view_auditentry"
RESTORE_LOG = "deployments.restore_log"


def require(staff: AbstractBaseUser, permission: str) -> None:
    """Raise PermissionDenied unless `staff` is an active staff member holding `permission`.

    Every use case checks this itself, so the shell and the tests cannot act beyond a role
    either (the dashboard views check it first, to answer with the admin's 403 page). Django's
    database, where roles live, unreachable: AuditUnavailable (nothing is done)."""
    try:
        allowed = staff.is_active and staff.is_staff and staff.has_perm(permission)
    except DatabaseError as error:
        raise AuditUnavailable(
            "the console's database cannot be read right now, so nothing was done", cause=error
        ) from error
    if not allowed:
        raise PermissionDenied(f"{staff.get_username()} does not have the {permission} permission")
