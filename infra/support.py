"""Support helpers for `manage.py shell`: cross-tenant look-ups that leave an audit entry."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser

from anchor_site.dashboard import audited_lookup
from deployments.models import DeploymentAccess
from deployments.repository import resolve_deployment_tenant
from projects.models import ProjectAccess
from projects.repository import resolve_project_tenant

SHELL = " from manage.py shell"
SHELL_NOTE = (
    "Whose is an id? Ask lookup_deployment_owner(id, staff='you') / lookup_project_owner(...): "
    "they record the look-up in the audit trail, as the dashboard's Find does."
)


def lookup_deployment_owner(deployment_id: str, *, staff: str) -> tuple[str, str]:
    """CROSS-TENANT, audited: (userId, projectId) owning a deployment id.

    Writes the same audit entry as the dashboard's Find (found, not found or failed), in the
    name of the staff account `staff` (a username), then returns the owner or raises NotFound.
    """
    return audited_lookup(
        _staff(staff), deployment_id, DeploymentAccess, resolve_deployment_tenant, via=SHELL
    )


def lookup_project_owner(project_id: str, *, staff: str) -> str:
    """CROSS-TENANT, audited: the userId owning a project id (see lookup_deployment_owner)."""
    return audited_lookup(
        _staff(staff), project_id, ProjectAccess, resolve_project_tenant, via=SHELL
    )


def _staff(username: str) -> AbstractBaseUser:
    user = get_user_model().objects.filter(username=username, is_staff=True).first()
    if user is None:
        raise ValueError(f"no staff account named {username!r}: audit entries need a real one")
    return user
