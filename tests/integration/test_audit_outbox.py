"""Every staff action and its audit entry are one outcome, with Django's database failing before
the AWS write, after it, or from the start; on moto and on DynamoDB Local (S3 on moto).

Faults are injected with Django's own `connection.execute_wrapper`, which sees every SQL
statement: "insert" fails the audit entry's INSERT (the audit store is down before the write),
"confirm" fails its UPDATE (down after the write), "all" fails every statement (down from the
start, sessions included). The tests run in autocommit, as the console does in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from django.core.management import call_command
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from deployments import repository as deployments
from deployments.schemas import DeploymentStatus
from infra.core import aws
from infra.core.dynamo import now
from infra.core.errors import RequestKeyReused, Unavailable
from infra.core.resources import LOGS, log_key
from projects import repository as projects
from staff import actions, outbox
from staff.models import AuditEntry, Outcome
from tests.factories import PUSH

pytestmark = [
    # Autocommit (no test-wide transaction), as in production; the staff groups the data
    # migrations made are restored after each test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

S = DeploymentStatus
TENANT = "tenant-a"
OTHER_PUSH = {"commit_sha": "fedcba9876543210fedcba9876543210fedcba98", "message": "Other"}
REASON = "test: the tenant asked for it"
ACTIONS = ["cancel", "fail", "edit", "redeploy", "restore"]


@contextmanager
def database_fails(what: str) -> Iterator[list[str]]:
    """Django's database refuses: "insert" / "confirm" (the audit entry's INSERT / UPDATE), or
    "all" statements. Yields the statements it refused."""
    refused: list[str] = []
    verb = {"insert": "INSERT", "confirm": "UPDATE"}.get(what, "")

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        text = sql.lstrip().upper()
        if what == "all" or ("STAFF_AUDITENTRY" in text and text.startswith(verb)):
            refused.append(sql)
            raise OperationalError("injected: the database is unavailable")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield refused


@contextmanager
def dynamodb_unreachable(operation: str) -> Iterator[None]:
    """DynamoDB's `operation` cannot be reached: every try fails before it is sent. (Not
    tests.faults' "500-before": on moto in-process every `before-send` handler runs, so moto's
    own stubber carries the request out even when the fault handler answers first.)"""

    def refuse(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.invalid")

    events = aws.dynamodb().meta.events
    events.register(f"before-call.dynamodb.{operation}", refuse, unique_id="test-unreachable")
    try:
        yield
    finally:
        events.unregister(f"before-call.dynamodb.{operation}", unique_id="test-unreachable")


@dataclass
class Plan:
    """One staff action ready to post: its URL, the form as the confirm page gave it, and how
    many times its effect can be seen in AWS."""

    url: str
    data: dict[str, str]
    effect: Callable[[], int]


@pytest.fixture
def client(operations_user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(operations_user)
    return client


def _form(client: Client, url: str) -> dict[str, str]:
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["form"]
    return {k: str(v) for k, v in form.initial.items()} | {"reason": REASON}


def _deployment(project, status: S):
    made = deployments.create_deployment(TENANT, project.project_id, PUSH)
    if status is S.QUEUED:
        return made
    deployments.update_deployment_status(made.deployment_id, S.BUILDING)
    if status is S.BUILDING:
        deployments.update_deployment(made.deployment_id, started_at=now() - timedelta(hours=3))
        return deployments.get_deployment(TENANT, made.deployment_id)
    return deployments.update_deployment_status(made.deployment_id, status)


def _count(project) -> int:
    return len(deployments.list_project_deployments(TENANT, project.project_id, limit=100).items)


def plan_for(name: str, client: Client, project) -> Plan:
    if name in ("cancel", "fail"):
        target = _deployment(project, S.QUEUED if name == "cancel" else S.BUILDING)
        url = reverse(f"admin:deployments_deployment_{name}", args=[TENANT, target.deployment_id])
        final = S.CANCELED if name == "cancel" else S.ERROR
        return Plan(
            url,
            _form(client, url),
            lambda: int(deployments.get_deployment(TENANT, target.deployment_id).status is final),
        )
    if name == "edit":
        url = reverse("admin:projects_project_edit", args=[TENANT, project.project_id])
        data = _form(client, url) | {"name": "shopfront"}
        return Plan(
            url,
            data,
            lambda: int(projects.get_project(TENANT, project.project_id).name == "shopfront"),
        )
    if name == "redeploy":
        source = _deployment(project, S.READY)
        url = reverse("admin:deployments_deployment_redeploy", args=[TENANT, source.deployment_id])
        return Plan(url, _form(client, url), lambda: _count(project) - 1)
    source = _deployment(project, S.READY)
    key = log_key(source.project_id, source.deployment_id)
    aws.s3().put_object(Bucket=LOGS.name(), Key=key, Body=b"old log\n", StorageClass="GLACIER")
    url = reverse("admin:deployments_deployment_restore_log", args=[TENANT, source.deployment_id])

    def restored() -> int:
        return int("Restore" in aws.s3().head_object(Bucket=LOGS.name(), Key=key))

    return Plan(url, _form(client, url), restored)


def _messages(response: Any) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


# --- the audit store down before the write ------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_the_audit_store_down_before_the_write_refuses_with_the_503_and_writes_nothing(
    client, project, action
):
    plan = plan_for(action, client, project)

    with database_fails("insert") as refused:
        response = client.post(plan.url, plan.data)

    assert refused, "the audit entry was never attempted"
    assert response.status_code == 503
    page = response.content.decode()
    assert "nothing was done" in page and "anchor/dashboard.css" in page  # admin-styled
    assert plan.effect() == 0
    assert not AuditEntry.objects.exists()


def test_the_database_down_from_the_start_is_the_503_page_and_nothing_is_written(client, project):
    plan = plan_for("cancel", client, project)

    with database_fails("all"):
        response = client.post(plan.url, plan.data)

    assert response.status_code == 503
    page = response.content.decode()
    assert "nothing was done" in page and "anchor/dashboard.css" in page  # admin-styled
    assert plan.effect() == 0
    assert not AuditEntry.objects.exists()


def test_the_use_case_from_the_shell_is_refused_before_any_write_when_the_database_is_down(
    project, operations_user
):
    queued = _deployment(project, S.QUEUED)

    with database_fails("all"), pytest.raises(outbox.AuditUnavailable):
        actions.cancel_deployment(operations_user, TENANT, queued.deployment_id, reason=REASON)

    assert deployments.get_deployment(TENANT, queued.deployment_id).status is S.QUEUED


# --- the audit store down after the write -------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_the_confirmation_failing_after_the_write_says_it_happened_and_the_entry_is_pending(
    client, project, action
):
    plan = plan_for(action, client, project)

    with database_fails("confirm") as refused:
        response = client.post(plan.url, plan.data, follow=True)

    assert refused
    assert response.status_code == 200  # never a 500 about something that was done
    said = _messages(response)
    assert "audit entry could not be confirmed just now" in said and "pending" in said
    assert plan.effect() == 1
    entry = AuditEntry.objects.get()
    assert entry.outcome == Outcome.PENDING

    audit_page = client.get(reverse("admin:audit"))
    assert "Pending: outcome not yet known" in audit_page.content.decode()

    assert outbox.resolve_pending(older_than=timedelta(0))["done"] == 1
    entry.refresh_from_db()
    assert entry.outcome == Outcome.DONE
    assert AuditEntry.objects.count() == 1
    assert "Pending" not in client.get(reverse("admin:audit")).content.decode()


@pytest.mark.parametrize("action", ACTIONS)
def test_a_replay_of_the_same_form_completes_the_pending_entry_and_writes_no_second(
    client, project, action
):
    plan = plan_for(action, client, project)
    with database_fails("confirm"):
        client.post(plan.url, plan.data)
    assert AuditEntry.objects.get().outcome == Outcome.PENDING

    again = client.post(plan.url, plan.data, follow=True)

    assert again.status_code == 200
    assert plan.effect() == 1  # done once, not twice
    entry = AuditEntry.objects.get()  # still one entry, resolved in place
    assert entry.outcome == Outcome.DONE
    if action == "redeploy":
        assert entry.change_message.startswith("Redeployed ")
        assert entry.after["deployment"] in again.redirect_chain[-1][0]


def test_a_replay_after_a_refused_audit_insert_does_the_action_once(client, project):
    plan = plan_for("redeploy", client, project)
    with database_fails("insert"):
        assert client.post(plan.url, plan.data).status_code == 503

    client.post(plan.url, plan.data)
    client.post(plan.url, plan.data)

    assert plan.effect() == 1
    assert AuditEntry.objects.get().outcome == Outcome.DONE


def test_a_replay_whose_confirmation_fails_again_still_says_done_and_a_later_one_settles_it(
    project, operations_user
):
    queued = _deployment(project, S.QUEUED)
    key = outbox.new_request_key()

    def cancel() -> Any:
        return actions.cancel_deployment(
            operations_user, TENANT, queued.deployment_id, reason=REASON, request_key=key
        )

    for _try in range(2):  # the first try and its replay: done, the entry stays pending
        with database_fails("confirm"), pytest.raises(outbox.AuditPending) as pending:
            cancel()
        assert pending.value.result.status is S.CANCELED
    assert AuditEntry.objects.get().outcome == Outcome.PENDING

    assert cancel().status is S.CANCELED
    assert AuditEntry.objects.get().outcome == Outcome.DONE


# --- the sweeper ---------------------------------------------------------------------------------


def test_the_sweeper_calls_an_entry_without_a_write_did_not_happen_once_its_request_is_over(
    project, operations_user
):
    queued = _deployment(project, S.QUEUED)
    # DynamoDB cannot be reached for the transaction: the caller cannot know whether it took
    # effect, so the entry stays pending.
    with dynamodb_unreachable("TransactWriteItems"), pytest.raises(Unavailable):
        actions.cancel_deployment(operations_user, TENANT, queued.deployment_id, reason=REASON)
    entry = AuditEntry.objects.get()
    assert entry.outcome == Outcome.PENDING

    swept = outbox.resolve_pending()
    assert swept["pending"] == 1, swept  # too young to judge: left pending
    entry.refresh_from_db()
    assert entry.outcome == Outcome.PENDING

    assert outbox.resolve_pending(older_than=timedelta(0))["not_done"] == 1
    entry.refresh_from_db()
    assert entry.outcome == Outcome.NOT_DONE
    assert deployments.get_deployment(TENANT, queued.deployment_id).status is S.QUEUED


def test_the_sweeper_command_resolves_both_outcomes_and_says_how_many(
    project, operations_user, capsys
):
    done = _deployment(project, S.QUEUED)
    lost = _deployment(project, S.QUEUED)
    with database_fails("confirm"), pytest.raises(outbox.AuditPending):
        actions.cancel_deployment(operations_user, TENANT, done.deployment_id, reason=REASON)
    with dynamodb_unreachable("TransactWriteItems"), pytest.raises(Unavailable):
        actions.cancel_deployment(operations_user, TENANT, lost.deployment_id, reason=REASON)

    call_command("resolve_pending_audit", "--older-than", "0")

    assert capsys.readouterr().out.strip() == "1 done, 1 did not happen, 0 still pending"
    outcomes = dict(AuditEntry.objects.values_list("object_id", "outcome"))
    assert outcomes == {done.deployment_id: Outcome.DONE, lost.deployment_id: Outcome.NOT_DONE}


# --- an idempotency key belongs to one request ---------------------------------------------------


def test_a_redeploy_key_reused_for_another_deployment_is_a_409_and_queues_nothing(client, project):
    first = _deployment(project, S.READY)
    other = deployments.create_deployment(TENANT, project.project_id, OTHER_PUSH)
    url = reverse("admin:deployments_deployment_redeploy", args=[TENANT, first.deployment_id])
    data = _form(client, url)
    assert client.post(url, data).status_code == 302
    count = _count(project)

    reused = client.post(
        reverse("admin:deployments_deployment_redeploy", args=[TENANT, other.deployment_id]),
        data,
    )

    assert reused.status_code == 409
    assert "already used for another request" in reused.content.decode()
    assert _count(project) == count
    assert AuditEntry.objects.count() == 1


def test_a_cancel_key_reused_for_another_deployment_is_a_409(client, project):
    first, second = _deployment(project, S.QUEUED), _deployment(project, S.QUEUED)
    url = reverse("admin:deployments_deployment_cancel", args=[TENANT, first.deployment_id])
    data = _form(client, url)
    client.post(url, data)

    reused = client.post(
        reverse("admin:deployments_deployment_cancel", args=[TENANT, second.deployment_id]), data
    )

    assert reused.status_code == 409
    assert deployments.get_deployment(TENANT, second.deployment_id).status is S.QUEUED


def test_the_request_guard_itself_refuses_a_key_made_for_another_commit(project):
    key = "k" * 24
    deployments.create_deployment_once(
        TENANT, project.project_id, PUSH, request_key=key, purpose="redeploy dpl_a"
    )

    with pytest.raises(RequestKeyReused):
        deployments.create_deployment_once(
            TENANT, project.project_id, OTHER_PUSH, request_key=key, purpose="redeploy dpl_b"
        )

    assert _count(project) == 1
    _same, created = deployments.create_deployment_once(
        TENANT, project.project_id, PUSH, request_key=key, purpose="redeploy dpl_a"
    )
    assert not created and _count(project) == 1
