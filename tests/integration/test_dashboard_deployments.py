"""The deployment pages of the dashboard: the page, its log link, cancel and fail, per role."""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from deployments import artifactstore, logstore
from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import format_timestamp, now
from infra.core.resources import DEPLOYMENTS, LOGS, log_key
from infra.local import processes
from projects import repository as projects
from staff import actions
from staff.models import AuditEntry
from tests import factories
from tests.factories import PUSH

# The dashboard is exercised on moto; the repository's own suite covers DynamoDB Local.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]

S = DeploymentStatus
TENANT, OTHER = "tenant-a", "tenant-b"
MISSING_ID = "dpl_0000000000000000"
PAGES = ("detail", "log", "cancel", "fail")
REASON = {"reason": "The tenant asked support to stop it"}


def url(page: str, user_id: str, deployment_id: str) -> str:
    return reverse(f"admin:deployments_deployment_{page}", args=[user_id, deployment_id])


@pytest.fixture
def make(project) -> Callable[..., DeploymentSchema]:
    """make(status, started_ago=None): a deployment of the tenant's project in that status."""

    def build(status: S = S.QUEUED, *, started_ago: timedelta | None = None) -> DeploymentSchema:
        return factories.create_deployment(project, status, started_ago=started_ago)

    return build


def stored_status(deployment: DeploymentSchema) -> S:
    return deployments.get_deployment(TENANT, deployment.deployment_id).status


def page_text(response) -> str:
    return response.content.decode()


def without_csrf_tokens(response) -> str:
    # The admin's logout form carries a CSRF token that is masked differently on every render.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page_text(response))


# --- the deployment page -----------------------------------------------------------------------


def test_the_page_shows_every_field_the_timeline_the_log_and_the_artifacts(client_as, make):
    deployment = make(S.READY)
    deployments.update_deployment(deployment.deployment_id, build_id="bld_42")
    logstore.put_build_log(deployment, "Cloning\nInstalling\nBuild succeeded in 41s\n")
    artifactstore.put_artifact(
        deployment, "index.html", b"<h1>hello</h1>", content_type="text/html"
    )
    artifactstore.put_artifact(deployment, "assets/app.js", b"x" * 2048)

    response = client_as("support").get(url("detail", TENANT, deployment.deployment_id))

    text = page_text(response)
    assert response.status_code == 200
    for expected in (
        deployment.deployment_id,
        deployment.project_id,
        TENANT,
        PUSH["commit_sha"],
        "Add pricing page",
        "bld_42",
        '<span class="badge badge-ready">ready</span>',
        "Timeline",
        "SGT",
        "Build succeeded in 41s",
        "The whole log, 3 lines",
        url("log", TENANT, deployment.deployment_id),
        "index.html",
        "14\xa0bytes",
        "assets/app.js",
        "2.0\xa0KB",
        "Signature=",  # the artifacts' presigned links
    ):
        assert expected in text, expected
    assert reverse("admin:projects_project_detail", args=[TENANT, deployment.project_id]) in text
    assert "Cancel deployment" not in text


def test_the_page_shows_the_last_200_lines_of_a_long_log(client_as, make):
    deployment = make(S.ERROR)
    logstore.put_build_log(deployment, "".join(f"output line {n:04d}\n" for n in range(1, 301)))

    text = page_text(client_as("support").get(url("detail", TENANT, deployment.deployment_id)))

    assert "output line 0101" in text and "output line 0300" in text
    assert "output line 0100" not in text
    assert "The last 200 lines of" in text
    assert '<pre class="anchor-log">' in text


def test_a_log_in_glacier_is_shown_as_archived_not_as_an_error(client_as, make):
    deployment = make(S.READY)
    aws.s3().put_object(
        Bucket=LOGS.name(),
        Key=log_key(deployment.project_id, deployment.deployment_id),
        Body=b"old output\n",
        StorageClass="DEEP_ARCHIVE",
    )

    response = client_as("support").get(url("detail", TENANT, deployment.deployment_id))

    assert response.status_code == 200
    assert "Archived in DEEP_ARCHIVE" in page_text(response)
    assert "old output" not in page_text(response)


def test_a_missing_log_says_so(client_as, make):
    deployment = make(S.READY)

    text = page_text(client_as("support").get(url("detail", TENANT, deployment.deployment_id)))

    assert "No build log is stored for this deployment" in text
    assert url("log", TENANT, deployment.deployment_id) not in text


def test_artifacts_of_a_deployment_older_than_90_days_are_shown_as_expired(client_as, project):
    old = now() - timedelta(days=120)
    deployment = DeploymentSchema(
        deployment_id="dpl_000000000000old1",
        project_id=project.project_id,
        user_id=TENANT,
        status=S.READY,
        created_at=old,
        updated_at=old,
        branch="main",
        **PUSH,
    )
    deployments.import_deployments(TENANT, project.project_id, [deployment])

    text = page_text(client_as("support").get(url("detail", TENANT, deployment.deployment_id)))

    assert "Artifacts expired after 90 days" in text


def test_a_recent_deployment_without_artifacts_is_not_called_expired(client_as, make):
    deployment = make(S.QUEUED)

    text = page_text(client_as("support").get(url("detail", TENANT, deployment.deployment_id)))

    assert "No artifacts are stored for this deployment yet" in text
    assert "expired" not in text


@pytest.mark.parametrize(
    ("status", "started_ago", "role", "shown"),
    [
        (S.QUEUED, None, "operations", ["Cancel deployment"]),
        (S.BUILDING, timedelta(minutes=10), "operations", ["Cancel deployment"]),
        (
            S.BUILDING,
            timedelta(hours=2),
            "operations",
            ["Cancel deployment", "Mark deployment as error"],
        ),
        (S.BUILDING, timedelta(hours=2), "support", []),
        (S.QUEUED, None, "support", []),
        (S.READY, None, "operations", []),
        (S.CANCELED, None, "operations", []),
    ],
)
def test_action_buttons_appear_only_when_allowed_and_permitted(
    client_as, make, status, started_ago, role, shown
):
    deployment = make(status, started_ago=started_ago)

    text = page_text(client_as(role).get(url("detail", TENANT, deployment.deployment_id)))

    for page, title in (("cancel", "Cancel deployment"), ("fail", "Mark deployment as error")):
        assert (title in text) is (title in shown)
        assert (url(page, TENANT, deployment.deployment_id) in text) is (title in shown)


# --- who may see what --------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["anonymous", "nonstaff"])
def test_anonymous_and_non_staff_users_get_the_admin_login_and_no_data(client_as, make, page, role):
    deployment = make(S.QUEUED)
    logstore.put_build_log(deployment, "secret build output\n")
    client = client_as(role)

    for response in (
        client.get(url(page, TENANT, deployment.deployment_id)),
        client.post(url(page, TENANT, deployment.deployment_id)),
    ):
        assert response.status_code == 302
        assert urlsplit(response["Location"]).path == reverse("admin:login")
    assert stored_status(deployment) is S.QUEUED
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("page", ["cancel", "fail"])
def test_support_staff_may_look_but_not_act(client_as, make, page):
    deployment = make(S.BUILDING, started_ago=timedelta(hours=3))
    client = client_as("support")

    for response in (
        client.get(url(page, TENANT, deployment.deployment_id)),
        client.post(url(page, TENANT, deployment.deployment_id)),
    ):
        assert response.status_code == 403
        assert "Permission denied" in page_text(response)
    assert client.get(url("detail", TENANT, deployment.deployment_id)).status_code == 200
    assert stored_status(deployment) is S.BUILDING
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("role", ["support", "operations"])
def test_staff_can_read_the_page(client_as, make, role):
    deployment = make(S.QUEUED)

    assert client_as(role).get(url("detail", TENANT, deployment.deployment_id)).status_code == 200


# --- bad input and other tenants ---------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    ("user_id", "deployment_id"),
    [
        (TENANT, MISSING_ID),
        (TENANT, "dpl_NOT-AN-ID"),
        (TENANT, "prj_0123456789abcdef"),
        ("bad tenant!", MISSING_ID),
        ("x" * 65, MISSING_ID),
    ],
    ids=["unknown", "malformed", "project-id", "bad-tenant", "long-tenant"],
)
def test_an_unknown_or_malformed_id_is_a_404_page(client_as, project, page, user_id, deployment_id):
    response = client_as("operations").get(url(page, user_id, deployment_id))

    assert response.status_code == 404
    assert "No such record for this tenant." in page_text(response)


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("page", PAGES)
def test_another_tenants_deployment_under_this_tenants_url_is_the_same_404_as_a_missing_one(
    client_as, make, page, method
):
    theirs = make(S.BUILDING, started_ago=timedelta(hours=2))
    logstore.put_build_log(theirs, "tenant A's build output\n")
    projects.create_project(OTHER, {"name": "mine", "repo_url": "https://github.com/b/mine"})
    client = client_as("operations")
    call = getattr(client, method)

    stolen = call(url(page, OTHER, theirs.deployment_id))
    missing = call(url(page, OTHER, MISSING_ID))

    # The log and detail pages only answer GET (405 to a POST, before any read).
    expected = 405 if method == "post" and page in {"detail", "log"} else 404
    assert stolen.status_code == missing.status_code == expected
    assert without_csrf_tokens(stolen) == without_csrf_tokens(missing)
    assert "tenant A" not in page_text(stolen)
    assert stored_status(theirs) is S.BUILDING
    assert not AuditEntry.objects.exists()


def test_a_method_other_than_get_or_post_is_refused(client_as, make):
    deployment = make(S.QUEUED)

    response = client_as("operations").put(url("cancel", TENANT, deployment.deployment_id))

    assert response.status_code == 405
    assert stored_status(deployment) is S.QUEUED


# --- the log download --------------------------------------------------------------------------


def test_the_log_link_redirects_to_a_short_lived_link_to_the_whole_log(client_as, make):
    deployment = make(S.READY)
    logstore.put_build_log(deployment, "whole log\n")

    response = client_as("support").get(url("log", TENANT, deployment.deployment_id))

    assert response.status_code == 302
    location = response["Location"]
    assert log_key(deployment.project_id, deployment.deployment_id) in location
    assert "Signature" in location and "response-content-disposition" in location


@pytest.mark.parametrize(
    ("storage_class", "message"),
    [(None, "has no build log to download"), ("GLACIER", "archived in GLACIER")],
)
def test_the_log_link_of_a_missing_or_archived_log_goes_back_with_a_message(
    client_as, make, storage_class, message
):
    deployment = make(S.READY)
    if storage_class:
        aws.s3().put_object(
            Bucket=LOGS.name(),
            Key=log_key(deployment.project_id, deployment.deployment_id),
            Body=b"old\n",
            StorageClass=storage_class,
        )

    response = client_as("support").get(url("log", TENANT, deployment.deployment_id), follow=True)

    assert response.redirect_chain == [(url("detail", TENANT, deployment.deployment_id), 302)]
    assert message in page_text(response)


# --- cancel ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.QUEUED, S.BUILDING])
def test_cancel_asks_to_confirm_and_changes_nothing_until_confirmed(client_as, make, status):
    deployment = make(status)

    response = client_as("operations").get(url("cancel", TENANT, deployment.deployment_id))

    text = page_text(response)
    assert response.status_code == 200
    assert "Cancel this deployment?" in text
    assert 'method="post"' in text and "csrfmiddlewaretoken" in text
    assert "Yes, cancel it" in text and "No, take me back" in text
    assert stored_status(deployment) is status
    # What is acted on, by name: the project's name in the breadcrumbs and the summary.
    name = projects.get_project(TENANT, deployment.project_id).name
    assert f">{name}</a> &rsaquo;" in text
    assert f"of project {name} <code>{deployment.project_id}</code>" in text


@pytest.mark.parametrize("status", [S.QUEUED, S.BUILDING])
def test_cancel_confirmed_cancels_says_so_and_records_who_did_what(client_as, make, status):
    deployment = make(status)

    response = client_as("operations").post(
        url("cancel", TENANT, deployment.deployment_id), REASON, follow=True
    )

    assert response.redirect_chain == [(url("detail", TENANT, deployment.deployment_id), 302)]
    text = page_text(response)
    assert f"Canceled deployment {deployment.deployment_id}." in text
    assert '<span class="badge badge-canceled">canceled</span>' in text
    assert stored_status(deployment) is S.CANCELED
    entry = AuditEntry.objects.get()
    assert entry.user.username == "operations-user"
    assert entry.object_id == deployment.deployment_id
    assert f"status: {status.value} → canceled" in entry.change_message


def test_cancel_needs_the_csrf_token(make, operations_user):
    deployment = make(S.QUEUED)
    client = Client(enforce_csrf_checks=True)
    client.force_login(operations_user)

    response = client.post(url("cancel", TENANT, deployment.deployment_id), REASON)

    assert response.status_code == 403
    assert stored_status(deployment) is S.QUEUED


@pytest.mark.parametrize("status", [S.READY, S.ERROR, S.CANCELED])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_finished_deployment_cannot_be_canceled(client_as, make, status, method):
    deployment = make(status)

    response = getattr(client_as("operations"), method)(
        url("cancel", TENANT, deployment.deployment_id), follow=True
    )

    assert response.redirect_chain == [(url("detail", TENANT, deployment.deployment_id), 302)]
    assert f"this one is {status.value}" in page_text(response)
    assert stored_status(deployment) is status
    assert not AuditEntry.objects.exists()


@pytest.fixture
def orchestrator_first(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Let the build orchestrator write just before the dashboard's own status write."""

    def install(move: Callable[[str], Any]) -> None:
        real = deployments.transition_deployment

        def racing(user_id: str, deployment_id: str, *args: Any, **kwargs: Any):
            # The orchestrator is another process: not part of the request being served.
            contextvars.Context().run(move, deployment_id)
            return real(user_id, deployment_id, *args, **kwargs)

        monkeypatch.setattr(deployments, "transition_deployment", racing)

    yield install


def test_a_cancel_that_loses_the_race_to_the_orchestrator_says_so_and_changes_nothing(
    client_as, make, orchestrator_first
):
    deployment = make(S.BUILDING)
    orchestrator_first(lambda d: deployments.update_deployment_status(d, S.READY))

    response = client_as("operations").post(
        url("cancel", TENANT, deployment.deployment_id), REASON, follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain == [(url("detail", TENANT, deployment.deployment_id), 302)]
    text = page_text(response)
    assert f"Deployment {deployment.deployment_id} was not changed: it is ready now" in text
    assert stored_status(deployment) is S.READY
    assert not AuditEntry.objects.exists()


# --- fail (a build stuck for over an hour) -----------------------------------------------------


def test_marking_a_stuck_build_as_error_asks_then_marks_it_and_records_it(client_as, make):
    deployment = make(S.BUILDING, started_ago=timedelta(hours=2))
    client = client_as("operations")

    confirm = client.get(url("fail", TENANT, deployment.deployment_id))
    assert confirm.status_code == 200
    assert "Mark this stuck build as error?" in page_text(confirm)
    assert stored_status(deployment) is S.BUILDING

    response = client.post(url("fail", TENANT, deployment.deployment_id), REASON, follow=True)

    text = page_text(response)
    assert f"Marked deployment {deployment.deployment_id} as error." in text
    stored = deployments.get_deployment(TENANT, deployment.deployment_id)
    assert stored.status is S.ERROR
    assert stored.error == f"{actions.STUCK_ERROR} Reason: {REASON['reason']}"
    assert stored.error in text
    assert stored.ended_at is not None
    assert "status: building → error" in AuditEntry.objects.get().change_message


@pytest.mark.parametrize(
    ("status", "started_ago", "says"),
    [
        (S.BUILDING, timedelta(minutes=20), "this one is building and started 20 minutes ago"),
        (S.QUEUED, None, "this one is queued"),
        (S.READY, timedelta(hours=5), "this one is ready"),
    ],
)
def test_only_a_build_running_for_over_an_hour_can_be_marked_as_error(
    client_as, make, status, started_ago, says
):
    deployment = make(status, started_ago=started_ago)

    response = client_as("operations").post(
        url("fail", TENANT, deployment.deployment_id), REASON, follow=True
    )

    assert says in page_text(response)
    assert stored_status(deployment) is status
    assert not AuditEntry.objects.exists()


def test_the_database_refuses_to_fail_a_build_that_restarted_after_the_page_was_read(
    client_as, make, orchestrator_first
):
    deployment = make(S.BUILDING, started_ago=timedelta(hours=2))
    orchestrator_first(lambda d: deployments.update_deployment(d, started_at=now()))

    response = client_as("operations").post(
        url("fail", TENANT, deployment.deployment_id), REASON, follow=True
    )

    text = page_text(response)
    assert "was not changed" in text and "not long enough ago" in text
    assert stored_status(deployment) is S.BUILDING
    assert not AuditEntry.objects.exists()


def test_a_race_error_never_becomes_a_500_even_if_the_deployment_vanishes(
    client_as, make, monkeypatch
):
    deployment = make(S.QUEUED)
    real = deployments.transition_deployment

    def vanish_then_transition(user_id: str, deployment_id: str, *args: Any, **kwargs: Any):
        # The record is deleted between the page's read and the conditional write.
        aws.dynamodb().delete_item(
            TableName=DEPLOYMENTS.name(),
            Key={
                "PK": {"S": deployment.project_id},
                "SK": {
                    "S": f"DEPLOYMENT#{format_timestamp(deployment.created_at)}#{deployment_id}"
                },
            },
        )
        return real(user_id, deployment_id, *args, **kwargs)

    monkeypatch.setattr(deployments, "transition_deployment", vanish_then_transition)

    response = client_as("operations").post(url("cancel", TENANT, deployment.deployment_id), REASON)

    assert response.status_code == 404
    assert not AuditEntry.objects.exists()


# --- DynamoDB or S3 unreachable ----------------------------------------------------------------


@pytest.mark.parametrize("service", ["DYNAMODB", "S3"])
@pytest.mark.parametrize("page", ["detail", "log", "cancel"])
def test_an_unreachable_data_plane_is_a_503_page_that_says_so(
    client_as, make, monkeypatch, service, page
):
    deployment = make(S.QUEUED)
    logstore.put_build_log(deployment, "log\n")
    client = client_as("operations")
    with monkeypatch.context() as patch:
        patch.setenv(f"AWS_ENDPOINT_URL_{service}", f"http://127.0.0.1:{processes.free_port()}")
        aws.reset_clients()
        response = client.get(url(page, TENANT, deployment.deployment_id))
    aws.reset_clients()

    if service == "S3" and page == "cancel":
        assert response.status_code == 200  # the confirmation reads DynamoDB only
    elif service == "S3" and page == "detail":
        # The deployment is shown; only the log and artifact panels say they could not be read.
        assert response.status_code == 200
        text = page_text(response)
        assert deployment.deployment_id in text
        assert "The build log could not be read right now" in text
        assert "The artifacts could not be read right now" in text
    else:
        assert response.status_code == 503
        assert "DynamoDB or S3 cannot be reached" in page_text(response)
