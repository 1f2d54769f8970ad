"""Permission holders only: business data never goes through the ORM, so no table is created."""

from django.db import models


class ProjectAccess(models.Model):
    """Carries the console's project permissions; unmanaged, it has no table and no rows."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_tenant_data", "Can view tenants, projects, deployments and build logs"),
            ("find_by_id", "Can look up which tenant owns a project or deployment id"),
            ("edit_project", "Can edit a tenant's project"),
        ]

    def __str__(self) -> str:
        return "project permissions"
