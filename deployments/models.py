"""Permission holders only: business data never goes through the ORM, so no table is created."""

from django.db import models


class DeploymentAccess(models.Model):
    """Carries the console's deployment permissions; unmanaged, it has no table and no rows."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("cancel_deployment", "Can cancel a queued or building deployment"),
            ("fail_deployment", "Can mark a stuck build as error"),
            ("redeploy_deployment", "Can queue a new deployment of the same commit"),
            ("restore_log", "Can restore an archived build log from Glacier"),
        ]

    def __str__(self) -> str:
        return "deployment permissions"
