"""The name of a deployment's project, for the pages about the deployment (breadcrumbs, the
summary on a confirmation page): one tenant-scoped read, and None when the project is gone or
cannot be read, so the page shows the project's id instead and never fails for a name."""

from __future__ import annotations

import logging

from deployments.schemas import DeploymentSchema
from infra.core.errors import NotFound, RepositoryError
from projects import repository as projects

logger = logging.getLogger("anchor.dashboard")


def project_name(deployment: DeploymentSchema) -> str | None:
    """The project's name (one DynamoDB read), or None (logged unless the project is gone)."""
    try:
        return projects.get_project(deployment.user_id, deployment.project_id).name
    except NotFound:
        return None
    except RepositoryError as error:
        logger.warning(
            "deployment %s: its project could not be read: %s", deployment.deployment_id, error
        )
        return None
