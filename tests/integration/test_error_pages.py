"""Honest error pages: try again, misconfigured and bug told apart; bounded, counted retries;
a panel that cannot be read degrades alone; a malformed stored item never takes a page down."""

from __future__ import annotations

import html
import logging
import re
import socket
import time

import pytest
from django.urls import reverse

from deployments import logstore
from deployments import repository as deployments
from infra.core import aws
from infra.core.dynamo import to_item
from infra.core.resources import ARTIFACTS, DEPLOYMENTS, PROJECTS
from tests.factories import PUSH
from tests.faults import always, inject

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]

TENANT = "tenant-a"


def project_url(project) -> str:
    return reverse("admin:projects_project_detail", args=[TENANT, project.project_id])


def deployment_url(page: str, deployment_id: str) -> str:
    return reverse(f"admin:deployments_deployment_{page}", args=[TENANT, deployment_id])


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_refused_permissions_are_a_misconfigured_page_logged_at_error(client_as, project, caplog):
    client = client_as("support")
    with (
        caplog.at_level(logging.ERROR, "anchor.dashboard"),
        inject(aws.dynamodb(), always("denied", only={"Query"})),
    ):
        response = client.get(project_url(project))
    assert response.status_code == 503
    assert "Console misconfigured" in text(response) and "AccessDeniedException" in text(response)
    assert "try again in a moment" not in text(response)
    record = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert record.aws_code == "AccessDeniedException"


def test_a_missing_table_is_a_misconfigured_page_naming_dynamodb(client_as, project):
    client = client_as("support")
    with inject(aws.dynamodb(), always("missing-table")):
        response = client.get(project_url(project))
    assert response.status_code == 503
    assert "DynamoDB table or index" in text(response)


def test_a_malformed_request_is_the_admin_500_page_with_its_request_id(client_as, project, caplog):
    client = client_as("support")
    with (
        caplog.at_level(logging.ERROR, "anchor.dashboard"),
        inject(aws.dynamodb(), always("invalid", only={"Query"})),
    ):
        response = client.get(project_url(project))
    assert response.status_code == 500
    body = text(response)
    assert "Server error" in body and 'id="site-name"' in body  # the admin's own chrome
    request_id = response.headers["X-Request-ID"]
    assert request_id in body
    assert any(request_id in r.getMessage() for r in caplog.records)


def test_a_failing_endpoint_is_tried_exactly_as_configured_then_a_503(client_as, project, settings):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    client = client_as("support")
    with inject(aws.dynamodb(), always("500-before", only={"Query"})) as faults:
        response = client.get(deployment_url("detail", deployment.deployment_id))
    assert response.status_code == 503
    assert "try again in a moment" in text(response)
    # The page's one DynamoDB read is tried AWS_MAX_ATTEMPTS times (tries, not retries).
    assert settings.AWS_MAX_ATTEMPTS == 3
    assert faults.attempts["Query"] == settings.AWS_MAX_ATTEMPTS


def test_throttling_is_tried_more_often_and_answers_in_the_end(client_as, project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    client = client_as("support")
    calls = {"n": 0}

    def throttle_five_times(operation: str, attempt: int, most: int) -> str | None:
        if operation != "Query":
            return None
        calls["n"] += 1
        return "throttle" if calls["n"] <= 5 else None

    with inject(aws.dynamodb(), throttle_five_times) as faults:
        response = client.get(deployment_url("detail", deployment.deployment_id))
    assert response.status_code == 200
    # Five throttled tries, then the deployment's answer, then its project's (for its name).
    assert faults.attempts["Query"] == 7


def test_a_hung_endpoint_gives_the_503_page_within_ten_seconds(client_as, project, monkeypatch):
    client = client_as("support")
    silent = socket.socket()  # accepts connections and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    try:
        monkeypatch.setenv(
            "AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{silent.getsockname()[1]}"
        )
        aws.reset_clients()
        began = time.monotonic()
        response = client.get(project_url(project))
        took = time.monotonic() - began
    finally:
        silent.close()
        aws.reset_clients()
    print(f"hung endpoint answered with {response.status_code} after {took:.1f} s")
    assert response.status_code == 503
    assert took < 10


def test_a_log_the_console_may_not_read_degrades_only_its_panel(client_as, project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    logstore.put_build_log(deployment, "secret\n")
    client = client_as("support")
    with inject(aws.s3(), always("denied-s3", only={"HeadObject"})):
        response = client.get(deployment_url("detail", deployment.deployment_id))
    assert response.status_code == 200
    body = text(response)
    assert deployment.deployment_id in body and "Add pricing page" in body
    said = html.unescape(body)
    assert (
        "The build log cannot be read: AWS refused the console's HeadObject (AccessDenied)" in said
    )
    assert "missing" not in said.split("cannot be read")[1][:120]
    assert "No artifacts are stored for this deployment" in body


def test_a_missing_bucket_is_called_missing_not_refused(client_as, project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    aws.s3().delete_bucket(Bucket=ARTIFACTS.name())  # empty: this deployment stored none
    response = client_as("support").get(deployment_url("detail", deployment.deployment_id))
    assert response.status_code == 200
    body = text(response)
    assert "The artifacts cannot be read: the S3 bucket is missing (NoSuchBucket)" in body
    assert "not allowed" not in body and "refused" not in body


def test_a_missing_table_page_says_missing_and_to_provision(client_as, project):
    with inject(aws.dynamodb(), always("missing-table")):
        response = client_as("support").get(project_url(project))
    assert response.status_code == 503
    body = text(response)
    assert "the DynamoDB table or index is missing (ResourceNotFoundException)" in body
    assert "provision the stage" in body
    assert "refused" not in body and "permissions" not in body


def test_a_refusal_page_says_refused_and_to_fix_permissions(client_as, project):
    with inject(aws.dynamodb(), always("denied", only={"Query"})):
        response = client_as("support").get(project_url(project))
    body = html.unescape(text(response))
    assert "AWS refused the console's Query (AccessDeniedException)" in body
    assert "fix the console's permissions or credentials" in body
    assert "missing" not in body


def _put_raw(table, item: dict) -> None:
    aws.dynamodb().put_item(TableName=table.name(), Item=to_item(item))


def test_a_malformed_row_is_marked_and_every_good_row_still_shown(client_as, project):
    good = deployments.create_deployment(TENANT, project.project_id, PUSH)
    _put_raw(
        DEPLOYMENTS,
        {
            "PK": project.project_id,
            "SK": "DEPLOYMENT#2020-01-01T00:00:00.000Z#dpl_0000000000000bad",
            "deploymentId": "dpl_0000000000000bad",
            "projectId": project.project_id,
            "userId": TENANT,
            "status": "exploded",
            "createdAt": "2020-01-01T00:00:00.000Z",
            "updatedAt": "not a date",
        },
    )
    client = client_as("support")
    for url in (project_url(project), reverse("admin:tenant_detail", args=[TENANT])):
        response = client.get(url)
        assert response.status_code == 200, url
        body = text(response)
        assert good.deployment_id in body
        assert "1 record could not be read" in body and "dpl_0000000000000bad" in body
        # The row links to the page that shows the record as stored.
        assert f'href="{deployment_url("detail", "dpl_0000000000000bad")}"' in body, url


def test_a_malformed_deployment_shows_its_raw_attributes_and_no_action(client_as, project):
    deployment_id = "dpl_00000000000000ff"
    _put_raw(
        DEPLOYMENTS,
        {
            "PK": project.project_id,
            "SK": f"DEPLOYMENT#2020-01-01T00:00:00.000Z#{deployment_id}",
            "deploymentId": deployment_id,
            "projectId": project.project_id,
            "userId": TENANT,
            "status": "exploded",
            "createdAt": "2020-01-01T00:00:00.000Z",
        },
    )
    client = client_as("operations")
    for page in ("detail", "cancel", "log"):
        response = client.get(deployment_url(page, deployment_id))
        assert response.status_code == 200, page
        assert "could not be read" in text(response) and "exploded" in text(response)
    # What is wrong, a plain sentence per problem, not pydantic's dump of the whole item.
    page = text(client.get(deployment_url("detail", deployment_id)))
    listed = page.split("anchor-unreadable-problems", 1)[1].split("</ul>", 1)[0]
    assert [html.unescape(p) for p in re.findall(r"<li>(.*?)</li>", listed)] == [
        "Commit SHA is required",
        "Branch is required",
        "Status must be one of 'queued', 'building', 'ready', 'error' or 'canceled'",
        "Updated at is required",
    ]
    assert "errors.pydantic.dev" not in page
    refused = client.post(deployment_url("cancel", deployment_id))
    assert refused.status_code == 409
    stored = aws.dynamodb().get_item(
        TableName=DEPLOYMENTS.name(),
        Key=to_item(
            {"PK": project.project_id, "SK": f"DEPLOYMENT#2020-01-01T00:00:00.000Z#{deployment_id}"}
        ),
    )["Item"]
    assert stored["status"] == {"S": "exploded"}  # nothing was written


def test_a_project_without_a_name_shows_its_raw_attributes(client_as, aws_stage):
    _put_raw(
        PROJECTS,
        {
            "PK": "prj_000000000000beef",
            "SK": "METADATA",
            "projectId": "prj_000000000000beef",
            "userId": TENANT,
            "createdAt": "2020-01-01T00:00:00.000Z",
        },
    )
    client = client_as("support")
    response = client.get(
        reverse("admin:projects_project_detail", args=[TENANT, "prj_000000000000beef"])
    )
    assert response.status_code == 200
    assert "could not be read" in text(response) and "prj_000000000000beef" in text(response)
    tenant = client.get(reverse("admin:tenant_detail", args=[TENANT]))
    assert tenant.status_code == 200 and "1 record could not be read" in text(tenant)
