"""Redeploy, and the reason every staff action asks for: on the pages, in the records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import now
from infra.core.errors import ValidationError
from infra.core.resources import PROJECTS
from projects import repository as projects
from staff import actions
from staff.models import AuditEntry, AuditKind
from tests.factories import push

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]

S = DeploymentStatus
TENANT = "tenant-a"
REASON = "The tenant asked for a rebuild after a flaky test"


@pytest.fixture
def make(project) -> Callable[..., DeploymentSchema]:
    def build(status: S = S.READY) -> DeploymentSchema:
        deployment = deployments.create_deployment(
            TENANT, project.project_id, push(branch="release-7")
        )
        if status is S.QUEUED:
            return deployment
        deployments.update_deployment_status(deployment.deployment_id, S.BUILDING)
        if status is S.BUILDING:
            deployments.update_deployment(
                deployment.deployment_id, started_at=now() - timedelta(hours=2)
            )
            return deployments.get_deployment(TENANT, deployment.deployment_id)
        return deployments.update_deployment_status(deployment.deployment_id, status)

    return build


def url(page: str, deployment: DeploymentSchema, user_id: str = TENANT) -> str:
    return reverse(f"admin:deployments_deployment_{page}", args=[user_id, deployment.deployment_id])


def confirm_form(client: Client, deployment: DeploymentSchema) -> dict[str, str]:
    response = client.get(url("redeploy", deployment))
    assert response.status_code == 200
    form = response.context["form"]
    return {"request_key": form.initial["request_key"], "reason": REASON}


# --- redeploy ------------------------------------------------------------------------------------


def test_redeploy_asks_shows_the_commit_then_queues_a_copy_and_audits_old_as_new(client_as, make):
    old = make(S.READY)
    client = client_as("operations")

    page = client.get(url("redeploy", old))
    text = page.content.decode()
    assert "Queue a new deployment of this commit?" in text
    assert "0123456" in text and "release-7" in text
    assert 'name="reason"' in text and 'name="request_key"' in text

    response = client.post(url("redeploy", old), confirm_form(client, old), follow=True)

    assert response.status_code == 200
    listed = deployments.list_project_deployments(TENANT, old.project_id).items
    assert len(listed) == 2
    new = listed[0]
    assert new.deployment_id != old.deployment_id
    assert new.status is S.QUEUED
    assert (new.commit_sha, new.branch, new.message) == (old.commit_sha, "release-7", old.message)
    assert response.redirect_chain == [(url("detail", new), 302)]
    assert f"Redeployed {old.deployment_id} as {new.deployment_id}" in response.content.decode()
    entry = AuditEntry.objects.get()
    assert entry.kind == AuditKind.REDEPLOY
    assert entry.reason == REASON
    assert entry.tenant == TENANT and entry.object_id == new.deployment_id
    assert f"Redeployed {old.deployment_id} as {new.deployment_id}" in entry.change_message
    project = projects.get_project(TENANT, old.project_id)
    assert project.latest_deployment.deployment_id == new.deployment_id


def test_a_double_post_of_one_form_queues_one_deployment(client_as, make):
    old = make(S.ERROR)
    client = client_as("operations")
    form = confirm_form(client, old)

    first = client.post(url("redeploy", old), form)
    second = client.post(url("redeploy", old), form)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]  # both land on the one new deployment
    assert len(deployments.list_project_deployments(TENANT, old.project_id).items) == 2
    assert AuditEntry.objects.filter(kind=AuditKind.REDEPLOY).count() == 1
    # A fresh form is a new request: it queues another.
    assert client.post(url("redeploy", old), confirm_form(client, old)).status_code == 302
    assert len(deployments.list_project_deployments(TENANT, old.project_id).items) == 3


def test_redeploying_a_deployment_whose_project_is_gone_is_refused_and_writes_nothing(
    client_as, make
):
    old = make(S.READY)
    client = client_as("operations")
    form = confirm_form(client, old)
    aws.dynamodb().delete_item(
        TableName=PROJECTS.name(), Key={"PK": {"S": old.project_id}, "SK": {"S": "METADATA"}}
    )

    response = client.post(url("redeploy", old), form, follow=True)

    text = response.content.decode()
    assert response.redirect_chain == [(url("detail", old), 302)]
    assert f"project {old.project_id} no longer exists" in text
    assert "Nothing was redeployed" in text
    assert not AuditEntry.objects.exists()
    rows = deployments.list_project_deployments(TENANT, old.project_id, owner_checked=True)
    assert [d.deployment_id for d in rows.items] == [old.deployment_id]


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"reason": REASON}, "The form has expired"),
        ({"reason": REASON, "request_key": "short"}, "The form has expired"),
        ({"request_key": "k" * 32}, "Give a reason of 3 to 500 characters"),
        ({"request_key": "k" * 32, "reason": "  ok  "}, "Give a reason of 3 to 500 characters"),
        ({"request_key": "k" * 32, "reason": "x" * 501}, "(this one has 501)"),
    ],
)
def test_a_bad_redeploy_form_is_a_400_that_says_why_and_queues_nothing(client_as, make, form, says):
    old = make(S.READY)
    response = client_as("operations").post(url("redeploy", old), form)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert len(deployments.list_project_deployments(TENANT, old.project_id).items) == 1
    assert not AuditEntry.objects.exists()


def test_support_may_not_redeploy_and_anonymous_gets_the_login(client_as, make):
    old = make(S.READY)
    support = client_as("support")
    assert support.get(url("redeploy", old)).status_code == 403
    assert support.post(url("redeploy", old), {"reason": REASON}).status_code == 403
    assert "Redeploy" not in support.get(url("detail", old)).content.decode()
    assert client_as("anonymous").post(url("redeploy", old)).status_code == 302
    assert len(deployments.list_project_deployments(TENANT, old.project_id).items) == 1


def test_the_deployment_page_offers_redeploy_to_operations(client_as, make):
    old = make(S.READY)
    text = client_as("operations").get(url("detail", old)).content.decode()
    assert f'href="{url("redeploy", old)}"' in text


def test_redeploy_needs_the_csrf_token(make, operations_user):
    old = make(S.READY)
    client = Client(enforce_csrf_checks=True)
    client.force_login(operations_user)
    response = client.post(url("redeploy", old), {"reason": REASON, "request_key": "k" * 32})
    assert response.status_code == 403
    assert len(deployments.list_project_deployments(TENANT, old.project_id).items) == 1


def test_another_tenants_deployment_cannot_be_redeployed(client_as, make):
    old = make(S.READY)
    client = client_as("operations")
    response = client.post(
        url("redeploy", old, user_id="tenant-b"), {"reason": REASON, "request_key": "k" * 32}
    )
    assert response.status_code == 404
    assert len(deployments.list_project_deployments(TENANT, old.project_id).items) == 1


# --- a reason for every action -----------------------------------------------------------------


@pytest.mark.parametrize(("page", "status"), [("cancel", S.QUEUED), ("fail", S.BUILDING)])
def test_cancel_and_fail_ask_for_a_reason_and_refuse_without_one(client_as, make, page, status):
    deployment = make(status)
    client = client_as("operations")
    assert 'name="reason"' in client.get(url(page, deployment)).content.decode()

    for form in ({}, {"reason": "no"}, {"reason": "y" * 501}):
        response = client.post(url(page, deployment), form)
        assert response.status_code == 400
        assert "Give a reason of 3 to 500 characters" in response.content.decode()
    assert deployments.get_deployment(TENANT, deployment.deployment_id).status is status
    assert not AuditEntry.objects.exists()


def test_the_reason_is_kept_in_the_audit_entry_and_in_the_error_text(client_as, make):
    building, queued = make(S.BUILDING), make(S.QUEUED)
    client = client_as("operations")

    client.post(url("fail", building), {"reason": "Runner host died at 03:10"})
    client.post(url("cancel", queued), {"reason": "Tenant pushed by mistake"})

    failed = deployments.get_deployment(TENANT, building.deployment_id)
    assert failed.status is S.ERROR
    assert failed.error.endswith("Reason: Runner host died at 03:10")
    reasons = dict(AuditEntry.objects.values_list("kind", "reason"))
    assert reasons == {
        AuditKind.FAIL: "Runner host died at 03:10",
        AuditKind.CANCEL: "Tenant pushed by mistake",
    }


def test_a_project_edit_needs_a_reason_too(client_as, project):
    edit = reverse("admin:projects_project_edit", args=[TENANT, project.project_id])
    data = {
        "name": "shopfront",
        "repo_url": project.repo_url,
        "branch": project.branch,
        "expected_version": project.version,
    }
    client = client_as("operations")

    refused = client.post(edit, data)
    assert refused.status_code == 400
    assert "Give a reason of 3 to 500 characters" in refused.content.decode()
    assert projects.get_project(TENANT, project.project_id).name == "storefront"

    assert (
        client.post(edit, {**data, "reason": "Renamed at the tenant's request"}).status_code == 302
    )
    entry = AuditEntry.objects.get()
    assert (entry.kind, entry.reason) == (AuditKind.EDIT_PROJECT, "Renamed at the tenant's request")
    assert entry.before == {"name": "storefront"} and entry.after == {"name": "shopfront"}


def test_the_use_cases_refuse_a_missing_reason_before_writing(make, operations_user):
    queued = make(S.QUEUED)
    with pytest.raises(ValidationError):
        actions.cancel_deployment(operations_user, TENANT, queued.deployment_id, reason=" ")
    with pytest.raises(ValidationError):
        actions.redeploy(
            operations_user, TENANT, queued.deployment_id, reason="", request_key="k" * 32
        )
    assert deployments.get_deployment(TENANT, queued.deployment_id).status is S.QUEUED
    assert len(deployments.list_project_deployments(TENANT, queued.project_id).items) == 1
