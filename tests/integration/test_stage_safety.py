"""Teardown judged by each resource, provision that keeps what it does not declare, and stages
adopted by name (issue 21 item 4, issue 22 item 4): on moto, and on DynamoDB Local (tables) with
moto's S3, the way tests/conftest.py's engines do.

DynamoDB Local has no tagging API: there teardown judges a table by its name and deletion
protection alone (it is on this machine), and the table-tag cases run on moto only.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.core.management import call_command
from django.test import Client

from anchor_site.health import forget_readiness
from deployments import logstore
from deployments import repository as deployments
from deployments.schemas import DeploymentStatus
from infra.core import aws
from infra.core.resources import (
    ARTIFACTS,
    DEPLOYMENTS,
    LOGS,
    PROJECTS,
    log_key,
)
from projects import repository as projects
from tests.conftest import ENGINES
from tests.provisioning import (
    STAGE,
    bucket_names,
    failing,
    mutating,
    provision,
    provision_fails,
    recorded_calls,
    resource_lines,
    table_names,
    tag_buckets,
    teardown,
    teardown_fails,
)

pytestmark = pytest.mark.django_db


def _drop_every_table() -> None:
    """Test cleanup (DynamoDB Local outlives the test): protection off, then delete."""
    dynamodb = aws.dynamodb()
    for name in dynamodb.list_tables()["TableNames"]:
        with contextlib.suppress(ClientError):
            dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
        with contextlib.suppress(ClientError):
            dynamodb.delete_table(TableName=name)


@pytest.fixture(params=ENGINES)
def engine(
    request: pytest.FixtureRequest,
    mocked_aws: None,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> Iterator[str]:
    """moto in-process, or DynamoDB Local for the tables (S3 on moto); stage `dev` configured."""
    settings.ANCHOR_STAGE = STAGE
    if request.param == "ddblocal":
        service = request.getfixturevalue("dynamodb_local")
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", service.endpoint)
        aws.reset_clients()
        _drop_every_table()
    yield request.param
    if request.param == "ddblocal":
        _drop_every_table()


def refusal(count: int, stage: str = STAGE) -> str:
    return (
        f"teardown refuses {count} resource(s) of stage {stage} (listed above); nothing was removed"
    )


def lifecycle_ids(bucket: str) -> list[str]:
    rules = aws.s3().get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    return [rule["ID"] for rule in rules]


def index_names(table: str) -> list[str]:
    live = aws.dynamodb().describe_table(TableName=table)["Table"]
    return sorted(index["IndexName"] for index in live.get("GlobalSecondaryIndexes", []))


# --- teardown: each resource by its own tags and protection ----------------------------------

PRODUCTION_TAGS = {"app": "anchor-deploy", "stage": "production"}


@pytest.mark.parametrize(
    ("production_tags", "reason"),
    [
        (PRODUCTION_TAGS, "it belongs to production (tag stage=production)"),
        ({}, "it has no tags, so nothing shows it belongs to this stage"),
    ],
    ids=["tagged", "untagged"],
)
def test_a_stage_whose_name_spells_a_production_bucket_does_not_remove_it(
    engine: str, settings: Any, production_tags: dict[str, str], reason: str
) -> None:
    # Production's artifacts bucket with the suffix "logs" ...
    settings.ANCHOR_BUCKET_SUFFIX = "logs"
    provision("--stage", "production")
    production_bucket = ARTIFACTS.name("production")
    if production_tags:
        tag_buckets("production", tags=production_tags)
    else:
        for bucket in (ARTIFACTS, LOGS):
            aws.s3().delete_bucket_tagging(Bucket=bucket.name("production"))
    aws.s3().put_object(Bucket=production_bucket, Key="artifacts/p/d/site.zip", Body=b"prod")
    # ... is the logs bucket of stage production-artifacts without a suffix.
    settings.ANCHOR_BUCKET_SUFFIX = ""
    assert LOGS.name("production-artifacts") == production_bucket

    with recorded_calls() as calls:
        error, out = teardown_fails("--stage", "production-artifacts", "--yes")

    assert out.splitlines() == [f"  refused: bucket {production_bucket}: {reason}"]
    assert str(error) == refusal(1, "production-artifacts")
    assert mutating(calls) == []
    body = aws.s3().get_object(Bucket=production_bucket, Key="artifacts/p/d/site.zip")["Body"]
    assert body.read() == b"prod"


@pytest.mark.parametrize(
    ("tags", "reason"),
    [
        ({}, "it has no tags, so nothing shows it belongs to this stage"),
        ({"app": "other-app", "stage": "dev"}, "tag app is other-app, not anchor-deploy"),
        ({"app": "anchor-deploy"}, "it has no stage tag"),
        ({"app": "anchor-deploy", "stage": "qa"}, "it belongs to stage qa, not dev (tag stage=qa)"),
    ],
    ids=["untagged", "another-app", "no-stage", "another-stage"],
)
def test_a_bucket_whose_tags_do_not_say_this_app_and_stage_stops_the_whole_teardown(
    engine: str, tags: dict[str, str], reason: str
) -> None:
    provision("--stage", STAGE)
    tag_buckets(STAGE)
    if tags:
        tag_buckets(STAGE, tags=tags)
    else:
        aws.s3().delete_bucket_tagging(Bucket=ARTIFACTS.name(STAGE))
        aws.s3().delete_bucket_tagging(Bucket=LOGS.name(STAGE))

    with recorded_calls() as calls:
        error, out = teardown_fails("--stage", STAGE, "--yes")

    assert out.splitlines() == [
        f"  refused: bucket anchor-deploy-dev-artifacts: {reason}",
        f"  refused: bucket anchor-deploy-dev-logs: {reason}",
    ]
    assert str(error) == refusal(2)
    assert mutating(calls) == []
    assert sorted(table_names()) == sorted([PROJECTS.name(STAGE), DEPLOYMENTS.name(STAGE)])


def test_another_stage_s_bucket_named_by_a_wrong_setting_is_refused(
    engine: str, settings: Any
) -> None:
    provision("--stage", "qa")
    tag_buckets("qa")
    provision("--stage", STAGE)
    tag_buckets(STAGE)
    settings.ANCHOR_LOGS_BUCKET = LOGS.name("qa")  # a mistake in the settings of stage dev

    error, out = teardown_fails("--stage", STAGE, "--yes")

    assert out.splitlines() == [
        "  refused: bucket anchor-deploy-qa-logs: it belongs to stage qa, not dev (tag stage=qa)"
    ]
    assert str(error) == refusal(1)
    assert len(table_names()) == 4
    assert len(bucket_names()) == 4


def test_production_tables_named_in_another_stage_s_settings_are_refused(
    engine: str, settings: Any
) -> None:
    provision("--stage", "production")
    provision("--stage", STAGE)
    tag_buckets(STAGE)
    settings.ANCHOR_PROJECTS_TABLE = PROJECTS.name("production")

    error, out = teardown_fails("--stage", STAGE, "--yes")

    # moto keeps tags; DynamoDB Local has none, and production's deletion protection refuses it.
    reason = {
        "moto": "it belongs to production (tag stage=production)",
        "ddblocal": "deletion protection is on (teardown does not turn it off: turn it off "
        "yourself if you mean to remove it)",
    }[engine]
    assert out.splitlines() == [f"  refused: table anchor-deploy-production-projects: {reason}"]
    assert str(error) == refusal(1)
    assert PROJECTS.name("production") in table_names()
    assert DEPLOYMENTS.name(STAGE) in table_names()  # nothing at all was removed


def test_a_dev_table_with_deletion_protection_is_refused_on_either_engine(engine: str) -> None:
    provision("--stage", STAGE)
    tag_buckets(STAGE)
    aws.dynamodb().update_table(TableName=DEPLOYMENTS.name(STAGE), DeletionProtectionEnabled=True)

    error, out = teardown_fails("--stage", STAGE, "--yes")

    assert out.splitlines() == [
        "  refused: table anchor-deploy-dev-deployments: deletion protection is on (teardown does "
        "not turn it off: turn it off yourself if you mean to remove it)"
    ]
    assert str(error) == refusal(1)
    assert len(bucket_names()) == 2


def test_what_teardown_deletes_is_listed_with_what_showed_it_is_this_stage_s(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    provision("--stage", STAGE)
    tag_buckets(STAGE)
    monkeypatch.setattr("builtins.input", lambda prompt="": "no")

    error, out = teardown_fails("--stage", STAGE)

    table_basis = {
        "moto": "tagged app=anchor-deploy, stage=dev",
        "ddblocal": "a local endpoint without tags: judged by name",
    }[engine]
    assert out.splitlines() == [
        "Removing stage dev from region ap-southeast-1:",
        "  bucket anchor-deploy-dev-artifacts (and every object in it; tagged app=anchor-deploy, "
        "stage=dev)",
        "  bucket anchor-deploy-dev-logs (and every object in it; tagged app=anchor-deploy, "
        "stage=dev)",
        f"  table anchor-deploy-dev-projects (and every item; {table_basis})",
        f"  table anchor-deploy-dev-deployments (and every item; {table_basis})",
    ]
    assert str(error) == "teardown cancelled; nothing was removed"
    assert len(table_names()) == 2


def test_a_table_tagged_for_another_stage_is_refused(mocked_aws: None, settings: Any) -> None:
    settings.ANCHOR_STAGE = STAGE
    provision("--stage", STAGE)
    tag_buckets(STAGE)
    dynamodb = aws.dynamodb()
    arn = dynamodb.describe_table(TableName=PROJECTS.name(STAGE))["Table"]["TableArn"]
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "qa"}])
    dynamodb.untag_resource(
        ResourceArn=dynamodb.describe_table(TableName=DEPLOYMENTS.name(STAGE))["Table"]["TableArn"],
        TagKeys=["app", "stage"],
    )

    error, out = teardown_fails("--stage", STAGE, "--yes")

    assert out.splitlines() == [
        "  refused: table anchor-deploy-dev-projects: it belongs to stage qa, not dev (tag "
        "stage=qa)",
        "  refused: table anchor-deploy-dev-deployments: it has no tags, so nothing shows it "
        "belongs to this stage",
    ]
    assert str(error) == refusal(2)


def test_a_remote_endpoint_that_cannot_list_tags_is_refused(
    mocked_aws: None, settings: Any
) -> None:
    settings.ANCHOR_STAGE = STAGE
    provision("--stage", STAGE)
    tag_buckets(STAGE)

    with failing(aws.admin_dynamodb(), "ListTagsOfResource", "UnknownOperationException", 400):
        error, out = teardown_fails("--stage", STAGE, "--yes")

    assert out.splitlines() == [
        f"  refused: table {name}: its endpoint cannot list tags (no tagging API)"
        for name in (PROJECTS.name(STAGE), DEPLOYMENTS.name(STAGE))
    ]
    assert str(error) == refusal(2)


def test_a_stage_listed_as_production_is_refused_before_any_call(
    mocked_aws: None, settings: Any
) -> None:
    settings.ANCHOR_PROTECTED_STAGES = ["production", "staging"]

    with recorded_calls() as calls:
        error, _ = teardown_fails("--stage", "staging", "--yes")

    assert str(error) == "teardown refuses stage staging: production is retained"
    assert calls == []
    provision("--stage", "staging")  # and provision protects its tables like production's
    live = aws.dynamodb().describe_table(TableName=PROJECTS.name("staging"))["Table"]
    assert live["DeletionProtectionEnabled"] is True


# --- provision: what it does not declare is kept unless --prune ------------------------------


def test_provision_keeps_a_lifecycle_rule_it_does_not_declare_unless_pruning(engine: str) -> None:
    provision("--stage", STAGE)
    s3, logs = aws.s3(), LOGS.name(STAGE)
    by_hand = {
        "ID": "expire-tmp",
        "Filter": {"Prefix": "tmp/"},
        "Status": "Enabled",
        "Expiration": {"Days": 3},
    }
    declared = LOGS.lifecycle_configuration()
    s3.put_bucket_lifecycle_configuration(
        Bucket=logs, LifecycleConfiguration={**declared, "Rules": [*declared["Rules"], by_hand]}
    )
    kept_line = (
        "      logs: lifecycle rule expire-tmp: not declared (kept) (current: prefix 'tmp/', "
        "expire at 3 days); --prune removes it"
    )

    # --check: in sync (exit 0), the rule shown as kept; in the JSON too.
    out, _ = provision("--stage", STAGE, "--check")
    assert f"  bucket {logs}: matches" in out.splitlines()
    assert kept_line in out.splitlines()
    assert "1 setting(s) not declared, kept (provision --prune removes them)." in out
    report = json.loads(provision("--stage", STAGE, "--check", "--json")[0])
    kept = {r["name"]: [k["property"] for k in r["kept"]] for r in report["resources"]}
    assert kept[logs] == ["lifecycle rule expire-tmp"]
    assert report["ok"] is True
    out, _ = provision("--stage", STAGE, "--dry-run")
    assert resource_lines(out)[logs] == "unchanged"
    assert kept_line in out.splitlines()

    # With --prune it is drift: --check exits 2, the plan removes it.
    error, out, _ = provision_fails("--stage", STAGE, "--check", "--prune")
    assert error.returncode == 2
    undeclared = (
        "lifecycle rule expire-tmp: prefix 'tmp/', expire at 3 days (declared: not declared)"
    )
    assert f"      {undeclared}" in out.splitlines()
    out, _ = provision("--stage", STAGE, "--dry-run", "--prune")
    assert resource_lines(out)[logs] == "update"
    removed = (
        "logs: lifecycle rule expire-tmp: not declared (current: prefix 'tmp/', expire at 3 days)"
    )
    assert f"      {removed}; --prune removes it" in out.splitlines()

    # A declared rule changed by hand is put back, and the undeclared one stays.
    changed = {**declared["Rules"][0], "Transitions": [{"Days": 60, "StorageClass": "GLACIER"}]}
    s3.put_bucket_lifecycle_configuration(
        Bucket=logs, LifecycleConfiguration={**declared, "Rules": [changed, by_hand]}
    )
    out, _ = provision("--stage", STAGE)
    assert resource_lines(out)[logs] == "updated"
    assert (
        f"  bucket {logs}: lifecycle rule expire-tmp not declared: kept (--prune removes it)"
        in (out.splitlines())
    )
    rules = s3.get_bucket_lifecycle_configuration(Bucket=logs)["Rules"]
    assert [r["ID"] for r in rules] == ["archive-logs", "expire-tmp"]
    assert [t["Days"] for t in rules[0]["Transitions"]] == [30, 365]
    with recorded_calls() as calls:
        out, _ = provision("--stage", STAGE)
    assert resource_lines(out)[logs] == "unchanged"
    assert mutating(calls) == []

    # provision --prune removes it; then even --check --prune is in sync.
    out, _ = provision("--stage", STAGE, "--prune")
    assert resource_lines(out)[logs] == "updated"
    assert lifecycle_ids(logs) == ["archive-logs"]
    out, _ = provision("--stage", STAGE, "--check", "--prune")
    assert f"Stage {STAGE} matches the declaration." in out


def _add_index(table: str, name: str, attribute: str) -> None:
    dynamodb = aws.dynamodb()
    dynamodb.update_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": attribute, "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": name,
                    "KeySchema": [{"AttributeName": attribute, "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )
    for _ in range(100):
        live = dynamodb.describe_table(TableName=table)["Table"]
        if all(i.get("IndexStatus") == "ACTIVE" for i in live["GlobalSecondaryIndexes"]):
            return
        time.sleep(0.1)


def test_provision_keeps_an_index_it_does_not_declare_unless_pruning(engine: str) -> None:
    provision("--stage", STAGE)
    table = PROJECTS.name(STAGE)
    _add_index(table, "NameIndex", "name")

    out, _ = provision("--stage", STAGE, "--check")
    assert (
        "      projects: index NameIndex: not declared (kept) (current: present); --prune "
        "removes it"
    ) in out.splitlines()
    out, _ = provision("--stage", STAGE)
    assert resource_lines(out)[table] == "unchanged"
    assert index_names(table) == ["NameIndex", "UserIdIndex"]

    error, _, _ = provision_fails("--stage", STAGE, "--check", "--prune")
    assert error.returncode == 2
    out, _ = provision("--stage", STAGE, "--prune")
    assert f"  table {table}: removing index NameIndex (--prune)" in out.splitlines()
    assert index_names(table) == ["UserIdIndex"]
    provision("--stage", STAGE, "--check", "--prune")  # exits 0


# --- adopting a stage another tool created ---------------------------------------------------

SST_NAMES = {
    "ANCHOR_PROJECTS_TABLE": "myapp-dev-ProjectsTable",
    "ANCHOR_DEPLOYMENTS_TABLE": "myapp-dev-DeploymentsTable",
    "ANCHOR_ARTIFACTS_BUCKET": "myapp-dev-artifactsbucket-k3j9x2ab",
    "ANCHOR_LOGS_BUCKET": "myapp-dev-logsbucket-q8w7e6cd",
}


def create_sst_like_stack() -> None:
    """Tables and buckets the way another tool made them: its names, no tags, the deployments
    table without AttentionIndex, buckets with no lifecycle rules."""
    dynamodb, s3 = aws.dynamodb(), aws.s3()
    for table, setting in (
        (PROJECTS, "ANCHOR_PROJECTS_TABLE"),
        (DEPLOYMENTS, "ANCHOR_DEPLOYMENTS_TABLE"),
    ):
        kwargs = table.create_kwargs(STAGE, tags=False)
        kwargs["TableName"] = SST_NAMES[setting]
        indexes = tuple(i for i in table.indexes if i.name != "AttentionIndex")
        kwargs["GlobalSecondaryIndexes"] = [index.create_spec() for index in indexes]
        kwargs["AttributeDefinitions"] = table.attribute_definitions(indexes=indexes)
        dynamodb.create_table(**kwargs)
    for setting in ("ANCHOR_ARTIFACTS_BUCKET", "ANCHOR_LOGS_BUCKET"):
        s3.create_bucket(
            Bucket=SST_NAMES[setting],
            CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"},
        )


def test_check_on_an_adopted_stack_reports_its_differences_and_creates_nothing(
    engine: str, settings: Any
) -> None:
    create_sst_like_stack()
    for setting, name in SST_NAMES.items():
        setattr(settings, setting, name)
    adopted = sorted(SST_NAMES.values())

    error, out, _ = provision_fails("--stage", STAGE, "--check", "--json")

    assert error.returncode == 2
    report = json.loads(out)
    assert sorted(r["name"] for r in report["resources"]) == adopted
    # The projects table differs only in its tags, which DynamoDB Local does not keep.
    statuses = {r["name"]: r["status"] for r in report["resources"]}
    assert statuses == {
        **dict.fromkeys(adopted, "modified"),
        "myapp-dev-ProjectsTable": "modified" if engine == "moto" else "in sync",
    }
    found = {(r["name"], d["property"]) for r in report["resources"] for d in r["differences"]}
    expected = {
        ("myapp-dev-DeploymentsTable", "index AttentionIndex"),
        ("myapp-dev-logsbucket-q8w7e6cd", "lifecycle rule archive-logs"),
        ("myapp-dev-artifactsbucket-k3j9x2ab", "lifecycle rule expire-artifacts"),
    }
    if engine == "moto":  # DynamoDB Local keeps no tags
        expected |= {
            ("myapp-dev-ProjectsTable", "tag app"),
            ("myapp-dev-ProjectsTable", "tag stage"),
        }
    assert expected <= found
    assert sorted(table_names() + bucket_names()) == adopted  # no second stage

    # Teardown refuses the untagged buckets (and, on moto, the untagged tables).
    error, out = teardown_fails("--stage", STAGE, "--yes")
    refused = [line.split(": ")[1] for line in out.splitlines()]
    tables = ["table myapp-dev-ProjectsTable", "table myapp-dev-DeploymentsTable"]
    assert refused == [
        "bucket myapp-dev-artifactsbucket-k3j9x2ab",
        "bucket myapp-dev-logsbucket-q8w7e6cd",
        *(tables if engine == "moto" else []),
    ]

    # provision repairs the adopted resources in place, under their own names.
    out, _ = provision("--stage", STAGE)
    outcome = {"modified": "updated", "in sync": "unchanged"}
    assert {name: resource_lines(out)[name] for name in adopted} == {
        name: outcome[status] for name, status in statuses.items()
    }
    assert sorted(table_names() + bucket_names()) == adopted
    assert index_names("myapp-dev-DeploymentsTable") == [
        "AttentionIndex",
        "DeploymentIdIndex",
        "ProjectStatusIndex",
        "UserDeploymentsIndex",
    ]
    provision("--stage", STAGE, "--check")  # exits 0

    # The console, /readyz and reconcile read and write the adopted names.
    project = projects.create_project(
        "tenant-a", {"name": "storefront", "repo_url": "https://github.com/a/storefront"}
    )
    deployment = deployments.create_deployment(
        "tenant-a", project.project_id, {"commit_sha": "0123456789abcdef0123456", "message": "m"}
    )
    deployments.update_deployment_status(deployment.deployment_id, DeploymentStatus.BUILDING)
    deployment = deployments.update_deployment_status(
        deployment.deployment_id, DeploymentStatus.READY
    )
    logstore.put_build_log(deployment, "Build succeeded\n")
    item = aws.dynamodb().get_item(
        TableName="myapp-dev-ProjectsTable",
        Key={"PK": {"S": project.project_id}, "SK": {"S": "METADATA"}},
    )
    assert item["Item"]["name"] == {"S": "storefront"}
    log = aws.s3().get_object(
        Bucket="myapp-dev-logsbucket-q8w7e6cd",
        Key=log_key(project.project_id, deployment.deployment_id),
    )
    assert log["Body"].read() == b"Build succeeded\n"
    forget_readiness()
    ready = Client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checked"] == adopted
    out = StringIO()
    call_command("reconcile", "--stage", STAGE, "--json", stdout=out)  # exits 0: consistent
    assert json.loads(out.getvalue())["projects"] == 1

    # Tagged now (buckets by hand until the bucket declaration carries tags), teardown removes
    # exactly the adopted resources.
    tag_buckets(STAGE)
    out = teardown("--stage", STAGE, "--yes")
    basis = {
        "moto": "tagged app=anchor-deploy, stage=dev",
        "ddblocal": "a local endpoint without tags: judged by name",
    }[engine]
    assert out.splitlines()[1:5] == [
        "  bucket myapp-dev-artifactsbucket-k3j9x2ab (and every object in it; tagged "
        "app=anchor-deploy, stage=dev)",
        "  bucket myapp-dev-logsbucket-q8w7e6cd (and every object in it; tagged "
        "app=anchor-deploy, stage=dev)",
        f"  table myapp-dev-ProjectsTable (and every item; {basis})",
        f"  table myapp-dev-DeploymentsTable (and every item; {basis})",
    ]
    assert table_names() == [] and bucket_names() == []
