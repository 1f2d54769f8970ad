"""`manage.py reconcile`: each kind of inconsistency planted once, its exit code and --json
output, on moto and on DynamoDB Local (S3 on moto), and the project page's stored report."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from deployments import artifactstore, logstore
from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.resources import ARTIFACTS, LOGS, log_key
from projects import repository as projects
from tests.factories import PUSH

pytestmark = pytest.mark.django_db

S = DeploymentStatus
TENANT, OTHER = "tenant-a", "tenant-b"
GHOST = "dpl_ghost00000000000"


def run(*args: str) -> tuple[int, str]:
    """(exit code, stdout) of `manage.py reconcile --stage <the test stage> ARGS`."""
    out = io.StringIO()
    try:
        call_command("reconcile", "--stage", settings.ANCHOR_STAGE, *args, stdout=out)
    except CommandError as error:
        assert "\n" not in str(error)  # one line
        return error.returncode, out.getvalue()
    return 0, out.getvalue()


def run_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, out = run("--json", *args)
    return code, json.loads(out)


def finished(project_id: str, user_id: str = TENANT, *, log: bool = True) -> DeploymentSchema:
    deployment = deployments.create_deployment(user_id, project_id, PUSH)
    deployments.update_deployment_status(deployment.deployment_id, S.BUILDING)
    deployment = deployments.update_deployment_status(deployment.deployment_id, S.READY)
    if log:
        logstore.put_build_log(deployment, "Cloning\nBuild succeeded\n")
        artifactstore.put_artifact(deployment, "index.html", b"<html></html>")
    return deployment


@pytest.fixture
def stage(aws_stage: str) -> dict[str, Any]:
    """Two tenants' projects, each with a consistent finished deployment and a queued one."""
    mine = projects.create_project(
        TENANT, {"name": "storefront", "repo_url": "https://github.com/a/storefront"}
    )
    theirs = projects.create_project(
        OTHER, {"name": "blog", "repo_url": "https://github.com/b/blog"}
    )
    built = {"mine": mine, "theirs": theirs}
    built["ok"] = finished(mine.project_id)
    built["other_ok"] = finished(theirs.project_id, OTHER)
    deployments.create_deployment(TENANT, mine.project_id, PUSH)  # queued: no log expected yet
    canceled = deployments.create_deployment(TENANT, mine.project_id, PUSH)
    deployments.update_deployment_status(canceled.deployment_id, S.CANCELED)  # never built
    return built


def put(bucket: str, key: str) -> None:
    aws.s3().put_object(Bucket=bucket, Key=key, Body=b"x")


def test_a_consistent_stage_exits_0_with_a_summary_line(stage):
    code, out = run()

    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1  # not a terminal: no progress bar, one summary line
    assert re.match(
        r"Reconciled stage \w+: 2 project\(s\), 4 deployments in .*DynamoDB and S3 agree", lines[0]
    )


def test_a_final_deployment_without_its_log_is_reported_and_exits_2(stage):
    lost = finished(stage["mine"].project_id, log=False)

    code, document = run_json()

    assert code == 2
    assert document["consistent"] is False
    assert document["counts"]["missing_log"] == 1
    (finding,) = document["findings"]
    assert finding["kind"] == "missing_log"
    assert finding["deploymentId"] == lost.deployment_id
    assert finding["key"].endswith(log_key(lost.project_id, lost.deployment_id))


def test_a_log_with_no_deployment_is_an_orphan(stage):
    put(LOGS.name(), log_key(stage["mine"].project_id, GHOST))

    code, document = run_json()

    assert code == 2
    assert [(f["kind"], f["deploymentId"]) for f in document["findings"]] == [("orphan_log", GHOST)]


def test_an_artifact_prefix_with_no_deployment_is_an_orphan(stage):
    put(ARTIFACTS.name(), f"artifacts/{stage['mine'].project_id}/{GHOST}/assets/app.js")

    code, document = run_json()

    assert code == 2
    (finding,) = document["findings"]
    assert finding["kind"] == "orphan_artifacts"
    assert finding["key"].endswith(f"artifacts/{stage['mine'].project_id}/{GHOST}/")


def test_objects_under_a_deployment_of_another_project_are_reported(stage):
    theirs = stage["other_ok"]
    put(LOGS.name(), log_key(stage["mine"].project_id, theirs.deployment_id))

    code, document = run_json()

    assert code == 2
    (finding,) = document["findings"]
    assert finding["kind"] == "foreign_object"
    assert finding["projectId"] == stage["mine"].project_id
    assert theirs.project_id in finding["detail"]


def test_logs_of_a_project_that_is_gone_are_orphans(stage):
    put(LOGS.name(), log_key("prj_gone000000000000", GHOST))

    code, document = run_json()

    assert code == 2
    (finding,) = document["findings"]
    assert (finding["kind"], finding["projectId"]) == ("orphan_log", "prj_gone000000000000")


def test_the_text_output_lists_each_finding_and_counts_them(stage):
    put(LOGS.name(), log_key(stage["mine"].project_id, GHOST))
    finished(stage["mine"].project_id, log=False)

    code, out = run()

    assert code == 2
    assert "orphan_log" in out and GHOST in out
    assert "2 finding(s): 1 missing_log, 1 orphan_log." in out


def test_project_limits_the_check_to_one_project(stage):
    put(LOGS.name(), log_key(stage["theirs"].project_id, GHOST))

    mine_code, mine = run_json("--project", stage["mine"].project_id)
    theirs_code, theirs = run_json("--project", stage["theirs"].project_id)

    assert (mine_code, mine["projects"], mine["findings"]) == (0, 1, [])
    assert theirs_code == 2 and theirs["findings"][0]["deploymentId"] == GHOST


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--project", "prj_doesnotexist0000"), "not found"),
        (("--project", "storefront"), "takes a project id"),
    ],
)
def test_a_bad_project_is_a_one_line_error_with_exit_1(stage, args, message):
    with pytest.raises(CommandError) as error:
        call_command("reconcile", "--stage", settings.ANCHOR_STAGE, *args, stdout=io.StringIO())

    assert error.value.returncode == 1
    assert message in str(error.value)


def test_a_stage_that_is_not_provisioned_is_an_error_with_exit_1(stage):
    with pytest.raises(CommandError) as error:
        call_command("reconcile", "--stage", "nosuchstage", stdout=io.StringIO())

    assert error.value.returncode == 1
    assert "reconcile stopped" in str(error.value)


def test_reconcile_changes_no_business_data(stage):
    put(LOGS.name(), log_key(stage["mine"].project_id, GHOST))
    before = _everything()

    run()

    after = _everything()
    assert {k: v for k, v in after.items() if not k.startswith("reconcile/")} == before


def _everything() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for bucket in (LOGS.name(), ARTIFACTS.name()):
        for item in aws.s3().list_objects_v2(Bucket=bucket).get("Contents", []):
            found[item["Key"]] = item["ETag"]
    for table in ("projects", "deployments"):
        name = f"anchor-deploy-{settings.ANCHOR_STAGE}-{table}"
        items = aws.dynamodb().scan(TableName=name)["Items"]
        found[name] = sorted(json.dumps(i, sort_keys=True) for i in items)
    return found


# --- the stored report on the project page -----------------------------------------------


def test_the_project_page_shows_the_last_findings_without_another_dynamodb_call(
    stage, client_as, dynamodb_calls
):
    lost = finished(stage["mine"].project_id, log=False)
    run()
    client = client_as("support")
    page_url = reverse("admin:projects_project_detail", args=[TENANT, stage["mine"].project_id])
    other_url = reverse("admin:projects_project_detail", args=[OTHER, stage["theirs"].project_id])
    dynamodb_calls.clear()

    page = client.get(page_url).content.decode()
    calls = len(dynamodb_calls)
    other = client.get(other_url).content.decode()

    assert calls == 3
    assert "1 finding</strong> at the last reconciliation" in page
    assert lost.deployment_id in page and "missing_log" in page
    assert "Consistent at the last reconciliation" in other


def test_no_report_no_panel(stage, client_as):
    page_url = reverse("admin:projects_project_detail", args=[TENANT, stage["mine"].project_id])

    page = client_as("support").get(page_url).content.decode()

    assert "last reconciliation" not in page


def test_no_store_writes_nothing(stage):
    run("--no-store")

    assert "Contents" not in aws.s3().list_objects_v2(Bucket=LOGS.name(), Prefix="reconcile/")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_progress_bar_redraws_its_line(stage):
    out = Terminal()

    call_command("reconcile", "--stage", settings.ANCHOR_STAGE, stdout=out)

    text = out.getvalue()
    assert "\r[" in text and "2/2 projects" in text
    assert text.rstrip().splitlines()[-1].startswith("Reconciled stage")
