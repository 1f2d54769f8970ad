"""Each decision once per request: a staff action's permission, its reason and whether the record
allows it are each decided in one place on one request (issue 23), not again by every layer."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from deployments import rules
from deployments.schemas import DeploymentSchema, DeploymentStatus
from staff import actions, audit, permissions
from staff.models import AuditEntry
from tests import factories
from tests.pages import deployment_url, edit_url, text
from web.common import dashboard
from web.deployments import actions as action_pages

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]

S = DeploymentStatus
REASON = "The tenant asked support to stop it"


@pytest.fixture
def decisions(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts, per request, every time a layer decides: the permission (authorize), the reason
    (a Reason made from plain text), the status rules (in the pages and in the rules module)."""
    seen: Counter[str] = Counter()

    def counting(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def spy(*args: Any, **kwargs: Any) -> Any:
            seen[name] += 1
            return function(*args, **kwargs)

        return spy

    authorize = counting("permission", permissions.authorize)
    monkeypatch.setattr(permissions, "authorize", authorize)
    monkeypatch.setattr(dashboard, "authorize", authorize)

    class CountedReason(audit.Reason):
        def __new__(cls, text: str) -> CountedReason:
            seen["reason"] += 1
            return super().__new__(cls, text)

    monkeypatch.setattr(audit, "Reason", CountedReason)
    for name in ("can_cancel", "is_stuck"):
        monkeypatch.setattr(rules, name, counting("rules module", getattr(rules, name)))
    for name in ("CANCEL_ACTION", "FAIL_ACTION"):
        action = getattr(action_pages, name)
        monkeypatch.setattr(
            action_pages,
            name,
            dataclasses.replace(action, allowed=counting("page rule", action.allowed)),
        )
    return seen


def test_a_cancel_posted_from_the_page_is_decided_once(client_as, project, decisions):
    deployment = factories.create_deployment(project, S.BUILDING)
    client = client_as("operations")
    decisions.clear()

    response = client.post(deployment_url("cancel", deployment), {"reason": REASON})

    # The decorator's permission, the form's reason; whether a building deployment may be
    # canceled is the conditional write's to decide (neither the page nor the use case asks).
    assert decisions == {"permission": 1, "reason": 1}
    assert response.status_code == 302
    assert "Canceled deployment" in text(client.get(response["Location"]))
    assert AuditEntry.objects.get().outcome == "done"


def test_a_refused_cancel_is_refused_by_the_write_alone(client_as, project, decisions):
    deployment = factories.create_deployment(project, S.READY)
    client = client_as("operations")
    decisions.clear()

    response = client.post(deployment_url("cancel", deployment), {"reason": REASON})

    assert decisions == {"permission": 1, "reason": 1}
    response = client.get(response["Location"])
    assert "Only a queued or building deployment can be canceled; this one is ready." in text(
        response
    )
    assert not AuditEntry.objects.exists()


def test_the_confirmation_page_decides_what_it_shows_once(client_as, project, decisions):
    stuck = factories.create_deployment(project, S.BUILDING, started_ago=timedelta(hours=3))
    client = client_as("operations")
    decisions.clear()

    response = client.get(deployment_url("fail", stuck))

    assert response.status_code == 200
    assert decisions == {"permission": 1, "page rule": 1}


def test_a_stuck_build_marked_as_error_is_decided_by_its_condition(client_as, project, decisions):
    recent = factories.create_deployment(project, S.BUILDING, started_ago=timedelta(minutes=5))
    client = client_as("operations")
    decisions.clear()

    response = client.post(deployment_url("fail", recent), {"reason": REASON})

    assert decisions == {"permission": 1, "reason": 1}
    response = client.get(response["Location"])
    assert "this one is building and started 5 minutes ago" in text(response)
    assert not AuditEntry.objects.exists()


def test_an_edit_is_decided_once(client_as, project, decisions):
    client = client_as("operations")
    form = client.get(edit_url(project)).context["form"]
    decisions.clear()

    response = client.post(
        edit_url(project),
        {**form.initial, "name": "renamed", "reason": REASON},
    )

    assert response.status_code == 302, text(response)
    assert decisions == {"permission": 1, "reason": 1}


def test_the_shell_decides_in_the_use_case(operations_user, project, decisions):
    deployment: DeploymentSchema = factories.create_deployment(project, S.QUEUED)
    decisions.clear()

    actions.cancel_deployment(
        operations_user, deployment.user_id, deployment.deployment_id, reason=REASON
    )

    assert decisions == {"permission": 1, "reason": 1}
