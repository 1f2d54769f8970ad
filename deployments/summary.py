"""The project's latestDeployment summary: moved forwards after every create and status change,
never backwards (one conditional write; the deployments repository calls it)."""

from __future__ import annotations

import logging
from typing import Any

from deployments.rules import FINAL_STATUSES, IN_FLIGHT
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import format_timestamp, to_value
from infra.core.errors import RepositoryError, condition_check
from infra.core.resources import PROJECTS
from projects.repository import owned_project

logger = logging.getLogger("anchor.repository")


def _summary(deployment: DeploymentSchema) -> dict[str, Any]:
    return {
        "deploymentId": deployment.deployment_id,
        "status": deployment.status.value,
        "commitSha": deployment.commit_sha,
        "createdAt": format_timestamp(deployment.created_at),
    }


_EARLIER = {  # for one deployment, the statuses its summary may move on from to this one
    DeploymentStatus.BUILDING: ("queued",),
    **{final: tuple(sorted(IN_FLIGHT, reverse=True)) for final in FINAL_STATUSES},
}


def advance_summary(deployment: DeploymentSchema) -> None:
    """Move the project's latestDeployment summary forward to `deployment`, never backwards.

    One conditional write, made after every create and every status change: the summary takes
    this deployment when it is newer than the one shown (createdAt, then deploymentId), or when
    it is the one shown and its status is further along (queued → building → final). So however
    writes interleave, the summary ends on the newest deployment in its latest status, and a
    delayed write never moves it back. Losing the condition is not an error; the write is
    best-effort (the deployment itself is stored): if AWS fails here, a warning is logged and the
    summary catches up with the deployment's next change.
    """
    key, owned, values = owned_project(deployment.project_id, deployment.user_id)
    summary = _summary(deployment)
    values = {
        **values,
        ":summary": to_value(summary),
        ":createdAt": to_value(summary["createdAt"]),
        ":deploymentId": to_value(deployment.deployment_id),
    }
    newer = (
        "attribute_not_exists(latestDeployment)"
        " OR latestDeployment.createdAt < :createdAt"
        " OR (latestDeployment.createdAt = :createdAt"
        " AND latestDeployment.deploymentId < :deploymentId)"
    )
    earlier = _EARLIER.get(deployment.status, ())
    if earlier:
        placeholders = [f":earlier{i}" for i in range(len(earlier))]
        values.update({p: to_value(v) for p, v in zip(placeholders, earlier, strict=True)})
        newer += (
            " OR (latestDeployment.deploymentId = :deploymentId"
            f" AND latestDeployment.#status IN ({', '.join(placeholders)}))"
        )
    request: dict[str, Any] = {
        "TableName": PROJECTS.name(),
        "Key": key,
        "UpdateExpression": "SET latestDeployment = :summary",
        "ConditionExpression": f"{owned} AND ({newer})",
        "ExpressionAttributeValues": values,
    }
    if earlier:
        request["ExpressionAttributeNames"] = {"#status": "status"}
    try:
        with condition_check():  # a newer summary already there is not an error
            aws.dynamodb().update_item(**request)
    except RepositoryError as error:
        logger.warning(
            "project %s: latestDeployment summary not moved to %s (%s): %s",
            deployment.project_id,
            deployment.deployment_id,
            deployment.status.value,
            error,
        )
