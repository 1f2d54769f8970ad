"""The staff permissions (app_label.codename), created by the projects/deployments migrations, and
the one place a staff member's permission is decided."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Grant:
    """A permission decided for this request: `staff` holds `permission`.

    Only `authorize` makes one. The dashboard's views are decorated with their permission
    (web.common.dashboard.dashboard_view), which authorizes once and hands the Grant to the use
    case, so the use case does not ask again; the shell and the tests pass the user itself,
    and the use case authorizes it then."""

    staff: AbstractBaseUser
    permission: str


Actor = AbstractBaseUser | Grant


def authorize(staff: AbstractBaseUser, permission: str) -> Grant:
    """The Grant of `permission` to `staff`; PermissionDenied unless `staff` is an active staff
    member holding it. Django's database, where roles live, unreachable: AuditUnavailable
    (nothing is done)."""
    try:
        allowed = staff.is_active and staff.is_staff and staff.has_perm(permission)
    except DatabaseError as error:
        raise AuditUnavailable(
            "the console's database cannot be read right now, so nothing was done", cause=error
        ) from error
    if not allowed:
        raise PermissionDenied(f"{staff.get_username()} does not have the {permission} permission")
    return Grant(staff, permission)


def require(actor: Actor, permission: str) -> AbstractBaseUser:
    """The staff user acting with `permission`: from a Grant of it, as decided; otherwise
    authorized now (the shell's and the tests' calls, or a Grant of another permission).

    Every use case starts with this, so no caller can act beyond a role."""
    if isinstance(actor, Grant):
        if actor.permission == permission:
            return actor.staff
        actor = actor.staff
    return authorize(actor, permission).staff
