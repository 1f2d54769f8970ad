"""What every deployment page shares: its URL, its context and how many log lines it shows."""

from __future__ import annotations

import logging

from django.urls import reverse

from deployments.schemas import DeploymentSchema

LOG_LINES = 200
LOG_POLL_SECONDS = 3  # how often the deployment page's live tail asks for new lines
LOG_SEARCH_MATCHES = 100  # the most matches one search page lists
LOG_QUERY_MAX = 200  # characters of a search
logger = logging.getLogger("anchor.dashboard")


def detail_url(deployment: DeploymentSchema) -> str:
    return reverse(
        "admin:deployments_deployment_detail", args=[deployment.user_id, deployment.deployment_id]
    )


def page_context(deployment: DeploymentSchema, **extra: object) -> dict[str, object]:
    return {"user_id": deployment.user_id, "deployment": deployment, **extra}
