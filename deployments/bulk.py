"""Bulk loading of historical deployments (demo data, migrations), counters included."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from deployments import derived
from deployments.schemas import DeploymentSchema
from deployments.summary import advance_summary
from infra.core import aws
from infra.core.dynamo import to_item
from infra.core.errors import ValidationError, condition_check
from infra.core.ids import new_write_token
from infra.core.resources import DEPLOYMENTS
from infra.core.transactions import BATCH_SIZE, batch_write, chunks, existing_sort_keys
from projects import repository as projects_repository

__all__ = [
    "import_deployments",
]


IMPORT_CHUNK = 1000  # deployments whose existence one keys-only range Query checks


def import_deployments(
    user_id: str, project_id: str, deployments: Iterable[DeploymentSchema]
) -> int:
    """Bulk-load historical deployments of the tenant's project (demo data, migrations); returns
    how many were new.

    Deployments already stored are left exactly as they are (a re-run never undoes a status
    change made since): each chunk's keys are looked up with one keys-only range Query (falling
    back to BatchGetItem when the range holds many other items), and only the missing items are
    put with BatchWriteItem (25 per call, unprocessed items retried). Every item carries its
    projectStatus and, when queued, building or failed, its attention keys (derived.py), and the
    day counters are added for exactly the items written, so imported data
    looks as if created one by one. Batch writes cannot be conditional or transactional, so a
    live push never comes this way (use create_deployment); should the process die between a
    batch and its counters, `manage.py recount_deployments --project` puts them right.
    The project's latestDeployment summary then moves to the newest new deployment, if newer.
    """
    projects_repository.get_project(user_id, project_id)
    newest: DeploymentSchema | None = None
    written = 0
    for chunk in chunks(deployments, IMPORT_CHUNK):
        rows: dict[str, tuple[DeploymentSchema, dict[str, Any]]] = {}
        for deployment in chunk:
            if deployment.user_id != user_id or deployment.project_id != project_id:
                raise ValidationError(
                    {"deployments": [f"{deployment.deployment_id} belongs elsewhere"]}
                )
            item = derived.with_derived_keys(deployment.to_stored())
            rows[item["SK"]] = (deployment, item)
        existing = existing_sort_keys(DEPLOYMENTS.name(), project_id, sorted(rows))
        new = [row for key, row in rows.items() if key not in existing]
        for requests in chunks(new, BATCH_SIZE):
            batch_write(
                DEPLOYMENTS.name(),
                [{"PutRequest": {"Item": to_item(item)}} for _, item in requests],
            )
        _add_counts(user_id, project_id, [item for _, item in new])
        written += len(new)
        for deployment, _ in new:
            if newest is None or deployment.created_at > newest.created_at:
                newest = deployment
    if newest is not None:
        advance_summary(newest)
    return written


def _add_counts(user_id: str, project_id: str, items: list[dict[str, Any]]) -> None:
    """Add stored deployment items to their days' counters (one UpdateItem per day, each
    idempotent under retries: a failed condition is this same update, already applied)."""
    for day, counts in sorted(derived.day_counts(items).items()):
        update = derived.counter_update(
            project_id, user_id, day, dict(counts), token=new_write_token()
        )
        with condition_check():
            aws.dynamodb().update_item(**update)
