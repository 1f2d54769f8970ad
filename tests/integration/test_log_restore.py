"""Restoring an archived build log (moto's restore_object and Restore header), and the retention
dates the deployment page shows for its log and artifacts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api import state_manager
from moto.s3.models import s3_backends

from deployments import archive, artifactstore, logstore
from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import now
from infra.core.resources import LOGS, log_key
from staff import restore
from staff.models import AuditEntry
from tests.factories import PUSH

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]

S = DeploymentStatus
TENANT, OTHER = "tenant-a", "tenant-b"
REASON = "ticket 4711: customer asks why the March build failed"


def url(page: str, user_id: str, deployment_id: str) -> str:
    return reverse(f"admin:deployments_deployment_{page}", args=[user_id, deployment_id])


def text_of(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def archived(project) -> Callable[..., DeploymentSchema]:
    """archived(storage_class="GLACIER"): a ready deployment whose log is in that class."""

    def build(storage_class: str = "GLACIER", body: bytes = b"npm ERR! old failure\n"):
        deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
        deployments.update_deployment_status(deployment.deployment_id, S.BUILDING)
        deployment = deployments.update_deployment_status(deployment.deployment_id, S.READY)
        aws.s3().put_object(
            Bucket=LOGS.name(),
            Key=log_key(deployment.project_id, deployment.deployment_id),
            Body=body,
            StorageClass=storage_class,
        )
        return deployment

    return build


@pytest.fixture
def restore_calls(aws_stage: str) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every RestoreObject sent to S3 during the test."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(params)

    events = aws.s3().meta.events
    events.register("provide-client-params.s3.RestoreObject", record, unique_id="anchor-restore")
    yield calls
    events.unregister("provide-client-params.s3.RestoreObject", unique_id="anchor-restore")


@pytest.fixture
def restores_stay_in_progress() -> Iterator[Callable[[DeploymentSchema], None]]:
    """keep(deployment): moto reports its log's restore as ongoing until the test ends (moto
    finishes a restore at once by default)."""
    state_manager.set_transition("s3::keyrestore", {"progression": "manual", "times": 10**9})

    def keep(deployment: DeploymentSchema) -> None:
        backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        key = backend.get_object(
            LOGS.name(), log_key(deployment.project_id, deployment.deployment_id)
        )
        key.status = "IN_PROGRESS"

    yield keep
    state_manager.unset_transition("s3::keyrestore")


def head_restore(deployment: DeploymentSchema) -> archive.RestoreState | None:
    head = aws.s3().head_object(
        Bucket=LOGS.name(), Key=log_key(deployment.project_id, deployment.deployment_id)
    )
    return archive.parse_restore(head.get("Restore"))


# --- the Restore header ----------------------------------------------------------------------


# --- the restore states on the deployment page -------------------------------------------


def test_an_archived_log_offers_operations_a_restore_and_support_only_a_note(client_as, archived):
    deployment = archived("GLACIER")

    operations = text_of(
        client_as("operations").get(url("detail", TENANT, deployment.deployment_id))
    )
    support = text_of(client_as("support").get(url("detail", TENANT, deployment.deployment_id)))

    assert "Storage class <strong>GLACIER</strong>" in operations
    assert url("restore_log", TENANT, deployment.deployment_id) in operations
    assert url("restore_log", TENANT, deployment.deployment_id) not in support
    assert "Operations staff can restore it" in support
    assert "old failure" not in operations  # not readable until restored


def test_a_restore_with_a_reason_is_asked_of_s3_audited_and_then_the_log_is_shown(
    client_as, archived, restore_calls, settings
):
    settings.ANCHOR_RESTORE_TIER, settings.ANCHOR_RESTORE_DAYS = "Bulk", 3
    deployment = archived("GLACIER")
    client = client_as("operations")

    confirm = client.get(url("restore_log", TENANT, deployment.deployment_id))
    response = client.post(url("restore_log", TENANT, deployment.deployment_id), {"reason": REASON})

    assert confirm.status_code == 200 and "Retrieval tier <strong>Bulk</strong>" in text_of(confirm)
    assert response.status_code == 302
    assert restore_calls[0]["RestoreRequest"] == {
        "Days": 3,
        "GlacierJobParameters": {"Tier": "Bulk"},
    }
    entry = AuditEntry.objects.get()
    assert entry.object_id == deployment.deployment_id
    assert REASON in entry.change_message and "tier Bulk" in entry.change_message
    assert (entry.kind, entry.tenant, entry.reason) == ("restore_log", TENANT, REASON)
    page = text_of(client.get(response["Location"]))
    assert "Restore of " in page and "requested from GLACIER" in page
    # moto finishes a restore at once: the page now says until when, and shows the log itself.
    assert "Restored until " in page
    assert "npm ERR! old failure" in page
    until = head_restore(deployment).expires_at
    assert until.astimezone(UTC) > now() + timedelta(days=2)


def test_a_restore_in_progress_is_shown_and_a_second_request_is_a_message_not_an_error(
    client_as, archived, restore_calls, restores_stay_in_progress
):
    deployment = archived("GLACIER")
    client = client_as("operations")
    client.post(url("restore_log", TENANT, deployment.deployment_id), {"reason": REASON})
    restores_stay_in_progress(deployment)

    page = text_of(client.get(url("detail", TENANT, deployment.deployment_id)))
    again = client.post(
        url("restore_log", TENANT, deployment.deployment_id), {"reason": REASON}, follow=True
    )
    confirm = client.get(url("restore_log", TENANT, deployment.deployment_id), follow=True)

    assert "Restore in progress" in page
    assert "npm ERR! old failure" not in page
    assert again.status_code == 200
    assert "already in progress" in text_of(again)
    assert "already in progress" in text_of(confirm)
    assert len(restore_calls) == 1  # the second request never reached S3
    assert AuditEntry.objects.count() == 1


def test_s3s_own_restore_already_in_progress_is_the_same_clear_refusal(archived):
    deployment = archived("GLACIER")
    with Stubber(aws.s3()) as stub:
        stub.add_response("head_object", {"StorageClass": "GLACIER", "ContentLength": 10})
        stub.add_client_error(
            "restore_object",
            "RestoreAlreadyInProgress",
            "Object restore is already in progress",
            409,
        )
        with pytest.raises(archive.RestoreAlreadyInProgress):
            archive.request_log_restore(TENANT, deployment, tier="Standard", days=1)


@pytest.mark.parametrize(
    ("storage_class", "wanted", "sent"),
    [
        ("DEEP_ARCHIVE", "Expedited", "Standard"),
        ("DEEP_ARCHIVE", "Bulk", "Bulk"),
        ("GLACIER", "Expedited", "Expedited"),
    ],
)
def test_deep_archive_is_restored_only_with_standard_or_bulk(
    client_as, archived, restore_calls, settings, storage_class, wanted, sent
):
    settings.ANCHOR_RESTORE_TIER = wanted
    deployment = archived(storage_class)
    client = client_as("operations")

    confirm = text_of(client.get(url("restore_log", TENANT, deployment.deployment_id)))
    done = client.post(
        url("restore_log", TENANT, deployment.deployment_id), {"reason": REASON}, follow=True
    )

    assert restore_calls[0]["RestoreRequest"]["GlacierJobParameters"] == {"Tier": sent}
    assert f"Retrieval tier <strong>{sent}</strong>" in confirm
    changed = "cannot be restored with the Expedited tier"
    assert (changed in confirm) == (wanted != sent)
    assert (changed in text_of(done)) == (wanted != sent)


@pytest.mark.parametrize("reason", ["", "  ab  ", "x" * 501])
def test_a_reason_outside_3_to_500_characters_is_refused_and_nothing_is_asked(
    client_as, archived, restore_calls, reason
):
    deployment = archived("GLACIER")

    response = client_as("operations").post(
        url("restore_log", TENANT, deployment.deployment_id), {"reason": reason}
    )

    assert response.status_code == 400
    assert "Give a reason of 3 to 500 characters" in text_of(response)
    assert restore_calls == [] and not AuditEntry.objects.exists()
    assert head_restore(deployment) is None


@pytest.mark.parametrize(("role", "status"), [("support", 403), ("nonstaff", 302)])
def test_support_and_non_staff_may_not_restore(client_as, archived, restore_calls, role, status):
    deployment = archived("GLACIER")

    for method in ("get", "post"):
        response = getattr(client_as(role), method)(
            url("restore_log", TENANT, deployment.deployment_id), {"reason": REASON}
        )
        assert response.status_code == status

    assert restore_calls == [] and not AuditEntry.objects.exists()


def test_anonymous_visitors_are_sent_to_the_login_page(client_as, archived):
    deployment = archived("GLACIER")

    response = client_as("anonymous").post(
        url("restore_log", TENANT, deployment.deployment_id), {"reason": REASON}
    )

    assert response.status_code == 302 and "/login/" in response["Location"]


def test_support_is_refused_by_the_use_case_too(archived, support_user):
    deployment = archived("GLACIER")

    with pytest.raises(PermissionDenied):
        restore.restore_build_log(support_user, TENANT, deployment.deployment_id, reason=REASON)


def test_another_tenants_deployment_is_not_found(client_as, archived, restore_calls):
    deployment = archived("GLACIER")

    response = client_as("operations").post(
        url("restore_log", OTHER, deployment.deployment_id), {"reason": REASON}
    )

    assert response.status_code == 404
    assert restore_calls == []


def test_a_log_in_standard_needs_no_restore(client_as, project, restore_calls):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    logstore.put_build_log(deployment, "Cloning\n")

    response = client_as("operations").post(
        url("restore_log", TENANT, deployment.deployment_id), {"reason": REASON}, follow=True
    )

    assert "no restore needed" in text_of(response)
    assert restore_calls == []


# --- retention dates ---------------------------------------------------------------------


def test_the_page_shows_each_artifacts_expiry_and_the_logs_next_class(client_as, project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    # 128 KB or more: the size the logs bucket's lifecycle moves (LOGS.transition_minimum_*).
    logstore.put_build_log(deployment, "Compiling pages\n" * (128 * 1024 // 16))
    artifactstore.put_artifact(deployment, "index.html", b"<html></html>")
    artifact = artifactstore.list_artifacts(TENANT, deployment)[0]
    log = logstore.get_build_log(TENANT, deployment, tail_lines=0)

    page = text_of(client_as("support").get(url("detail", TENANT, deployment.deployment_id)))

    expires = archive.artifact_expires_at(artifact.last_modified)
    moves = archive.lifecycle_due(log.last_modified, 30)
    assert expires.astimezone(UTC).hour == 0
    assert "Expires" in page and f"{expires.astimezone(_sgt()):%Y-%m-%d %H:%M:%S} SGT" in page
    assert "Storage class <strong>STANDARD</strong>" in page
    assert log.size == 128 * 1024
    assert "moves to GLACIER on" in page
    assert f"{moves.astimezone(_sgt()):%Y-%m-%d %H:%M:%S} SGT" in page
    assert "stays in STANDARD" not in page


def test_a_log_under_128_kb_is_not_promised_a_move_and_the_page_says_why(client_as, project):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    logstore.put_build_log(deployment, "Compiling pages\n" * (128 * 1024 // 16 - 1))
    log = logstore.get_build_log(TENANT, deployment, tail_lines=0)

    page = text_of(client_as("support").get(url("detail", TENANT, deployment.deployment_id)))

    assert log.size == 128 * 1024 - 16
    assert "Storage class <strong>STANDARD</strong>" in page
    assert "moves to GLACIER" not in page
    assert (
        "stays in STANDARD: logs under 128 KB are not moved to GLACIER (the logs bucket's "
        "lifecycle minimum object size" in page
    )
    moves = archive.lifecycle_due(log.last_modified, 30)
    assert f"{moves.astimezone(_sgt()):%Y-%m-%d %H:%M:%S} SGT" not in page


def test_an_archived_log_page_states_the_size_the_lifecycle_moves(client_as, archived):
    deployment = archived("GLACIER")

    detail = text_of(client_as("support").get(url("detail", TENANT, deployment.deployment_id)))
    viewer = text_of(client_as("support").get(url("log_view", TENANT, deployment.deployment_id)))

    sentence = (
        "The logs bucket moves logs of 128 KB or more to GLACIER after 30 days and to "
        "DEEP_ARCHIVE after 365 days"
    )
    assert sentence in detail and sentence in viewer
    # This one is in GLACIER (put there directly) and small: it is not moved on either.
    assert "stays in GLACIER: logs under 128 KB are not moved to DEEP_ARCHIVE" in detail


def test_the_deployment_page_still_costs_two_dynamodb_calls(client_as, archived, dynamodb_calls):
    deployment = archived("GLACIER")
    dynamodb_calls.clear()

    client_as("operations").get(url("detail", TENANT, deployment.deployment_id))

    # The deployment and its project's name; retention and restore state come from S3 alone.
    assert dynamodb_calls == ["Query", "Query"]


def _sgt():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Singapore")
