"""Support helpers for `manage.py shell`: cross-tenant look-ups that leave an audit entry."""

from __future__ import annotations

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType

from deployments.models import DeploymentAccess
from deployments.repository import resolve_deployment_tenant
from infra.errors import NotFound
from projects.models import ProjectAccess
from projects.repository import resolve_project_tenant

SHELL_NOTE = (
    "Whose is an id? Ask lookup_deployment_owner(id, staff='you') / lookup_project_owner(...): "
    "they record the look-up in the audit trail, as the dashboard's Find does."
)


def lookup_deployment_owner(deployment_id: str, *, staff: str) -> tuple[str, str]:
    """CROSS-TENANT, audited: (userId, projectId) owning a deployment id.

    Writes the same kind of audit entry as the dashboard's Find (found or not), in the name of
    the staff account `staff` (a username), then returns the owner or raises NotFound.
    """
    user = _staff(staff)
    try:
        owner = resolve_deployment_tenant(deployment_id)
    except NotFound:
        _audit(user, deployment_id, DeploymentAccess, None)
        raise
    _audit(user, deployment_id, DeploymentAccess, owner[0])
    return owner


def lookup_project_owner(project_id: str, *, staff: str) -> str:
    """CROSS-TENANT, audited: the userId owning a project id (see lookup_deployment_owner)."""
    user = _staff(staff)
    try:
        owner = resolve_project_tenant(project_id)
    except NotFound:
        _audit(user, project_id, ProjectAccess, None)
        raise
    _audit(user, project_id, ProjectAccess, owner)
    return owner


def _staff(username: str) -> AbstractBaseUser:
    user = get_user_model().objects.filter(username=username, is_staff=True).first()
    if user is None:
        raise ValueError(f"no staff account named {username!r}: audit entries need a real one")
    return user


def _audit(user: AbstractBaseUser, record_id: str, model: type, owner: str | None) -> LogEntry:
    # The entry the dashboard's Find writes (anchor_site.dashboard.audit), marked as coming from
    # the shell; that helper needs a request, which a shell session does not have.
    outcome = f"owned by tenant {owner}" if owner else "not found"
    return LogEntry.objects.create(
        user_id=user.pk,
        content_type=ContentType.objects.get_for_model(model, for_concrete_model=False),
        object_id=record_id,
        object_repr=f"look-up {record_id}"[:200],
        action_flag=CHANGE,
        change_message=f"Cross-tenant look-up of {record_id} from manage.py shell: {outcome}",
    )
