"""Whose is this id? The audited cross-tenant look-ups, for the dashboard's Find and the shell."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser

from deployments.models import DeploymentAccess
from deployments.repository import resolve_deployment_tenant
from projects.models import ProjectAccess
from projects.repository import resolve_project_tenant
from staff.audit import audited_lookup
from staff.permissions import Actor

SHELL = " from manage.py shell"
SHELL_NOTE = (
    "Whose is an id? Ask lookup_deployment_owner(id, staff='you') / lookup_project_owner(...): "
    "they record the look-up in the audit trail, as the dashboard's Find does."
)


def deployment_owner(
    staff: AbstractBaseUser, deployment_id: str, *, via: str = ""
) -> tuple[str, str]:
    """CROSS-TENANT, audited: (userId, projectId) owning a deployment id.

    Writes an audit entry whatever the outcome (found, not found or failed), then returns the
    owner or raises NotFound / Unavailable. The dashboard's Find asks for the FIND permission
    first; the shell only for a staff account (its users already hold the server)."""
    return audited_lookup(
        staff, deployment_id, DeploymentAccess, resolve_deployment_tenant, via=via
    )


def project_owner(staff: AbstractBaseUser, project_id: str, *, via: str = "") -> str:
    """CROSS-TENANT, audited: the userId owning a project id (see deployment_owner)."""
    return audited_lookup(staff, project_id, ProjectAccess, resolve_project_tenant, via=via)


def lookup_deployment_owner(deployment_id: str, *, staff: str) -> tuple[str, str]:
    """CROSS-TENANT, audited, for the shell: deployment_owner in the name of the staff account
    `staff` (a username)."""
    return deployment_owner(_staff(staff), deployment_id, via=SHELL)


def lookup_project_owner(project_id: str, *, staff: str) -> str:
    """CROSS-TENANT, audited, for the shell: project_owner in the name of `staff` (a username)."""
    return project_owner(_staff(staff), project_id, via=SHELL)


def staff_account(staff: Actor | str) -> Actor:
    """The staff user itself (or its Grant), or the active staff account named `staff` (the
    shell's way of saying who acts); ValueError when there is none, since audit entries need a
    real one."""
    if not isinstance(staff, str):
        return staff
    return _staff(staff)


def _staff(username: str) -> AbstractBaseUser:
    user = get_user_model().objects.filter(username=username, is_staff=True).first()
    if user is None:
        raise ValueError(f"no staff account named {username!r}: audit entries need a real one")
    return user
