"""manage.py provision against moto in-process: create, repair, dry-run, check, and its errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from infra.core import aws
from infra.core.resources import (
    BUCKETS,
    DEPLOYMENTS,
    PROJECTS,
    PUBLIC_ACCESS_BLOCK,
    TABLES,
)
from infra.provisioning.diff import table_differences
from tests.provisioning import (
    STAGE,
    all_names,
    bucket_names,
    mutating,
    provision,
    provision_fails,
    recorded_calls,
    resource_lines,
    table_names,
)

# --- creating -----------------------------------------------------------------------------


def test_first_run_prints_the_region_and_creates_every_table_and_bucket(mocked_aws: None) -> None:
    out, err = provision("--stage", STAGE)

    assert out.splitlines()[0].startswith("Provisioning stage dev in region ap-southeast-1 (")
    assert {name: resource_lines(out)[name] for name in all_names()} == dict.fromkeys(
        all_names(), "created"
    )
    for table in TABLES:
        assert f"table {table.name(STAGE)}: waiting for ACTIVE" in out
    assert sorted(table_names()) == sorted(t.name(STAGE) for t in TABLES)
    assert sorted(bucket_names()) == sorted(b.name(STAGE) for b in BUCKETS)
    assert err == ""  # moto behaves like AWS here: nothing is skipped, nothing to warn about


def test_tables_have_the_declared_keys_indexes_billing_tags_and_no_deletion_protection(
    mocked_aws: None,
) -> None:
    provision("--stage", STAGE)
    dynamodb = aws.dynamodb()

    projects = dynamodb.describe_table(TableName="anchor-deploy-dev-projects")["Table"]
    deployments = dynamodb.describe_table(TableName="anchor-deploy-dev-deployments")["Table"]

    for live in (projects, deployments):
        assert live["KeySchema"] == [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ]
        assert live["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert live["DeletionProtectionEnabled"] is False
        tags = dynamodb.list_tags_of_resource(ResourceArn=live["TableArn"])["Tags"]
        assert {t["Key"]: t["Value"] for t in tags} == {"app": "anchor-deploy", "stage": "dev"}
    indexes = {
        i["IndexName"]: (i["KeySchema"], i["Projection"]["ProjectionType"])
        for live in (projects, deployments)
        for i in live["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "UserIdIndex": (
            [
                {"AttributeName": "userId", "KeyType": "HASH"},
                {"AttributeName": "createdAt", "KeyType": "RANGE"},
            ],
            "ALL",
        ),
        "DeploymentIdIndex": ([{"AttributeName": "deploymentId", "KeyType": "HASH"}], "ALL"),
        "ProjectStatusIndex": (
            [
                {"AttributeName": "projectStatus", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            "ALL",
        ),
        "UserDeploymentsIndex": (
            [
                {"AttributeName": "userId", "KeyType": "HASH"},
                {"AttributeName": "createdAt", "KeyType": "RANGE"},
            ],
            "ALL",
        ),
        "AttentionIndex": (
            [
                {"AttributeName": "attention", "KeyType": "HASH"},
                {"AttributeName": "attentionAt", "KeyType": "RANGE"},
            ],
            "ALL",
        ),
    }


def test_buckets_are_private_encrypted_unversioned_in_the_region_with_their_lifecycle_rules(
    mocked_aws: None,
) -> None:
    provision("--stage", STAGE)
    s3 = aws.s3()

    for bucket in BUCKETS:
        name = bucket.name(STAGE)
        assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "ap-southeast-1"
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        assert block == PUBLIC_ACCESS_BLOCK
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert s3.get_bucket_versioning(Bucket=name).get("Status") is None
    artifacts = s3.get_bucket_lifecycle_configuration(Bucket="anchor-deploy-dev-artifacts")
    assert artifacts["Rules"] == [
        {
            "ID": "expire-artifacts",
            "Filter": {"Prefix": "artifacts/"},
            "Status": "Enabled",
            "Expiration": {"Days": 90},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
    ]
    logs = s3.get_bucket_lifecycle_configuration(Bucket="anchor-deploy-dev-logs")
    assert logs["Rules"] == [
        {
            "ID": "archive-logs",
            "Filter": {"Prefix": "logs/"},
            "Status": "Enabled",
            "Transitions": [
                {"Days": 30, "StorageClass": "GLACIER"},
                {"Days": 365, "StorageClass": "DEEP_ARCHIVE"},
            ],
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
    ]


def test_buckets_get_their_lifecycle_rules_in_the_run_that_creates_them(mocked_aws: None) -> None:
    with recorded_calls() as calls:
        provision("--stage", STAGE)

    for bucket in BUCKETS:
        name = bucket.name(STAGE)
        ops = [op for op, params in calls if params.get("Bucket") == name and op.startswith("Put")]
        assert "PutBucketLifecycleConfiguration" in ops
        assert "PutPublicAccessBlock" in ops


def test_second_run_says_unchanged_per_resource_and_makes_no_change(mocked_aws: None) -> None:
    provision("--stage", STAGE)

    with recorded_calls() as calls:
        out, _ = provision("--stage", STAGE)

    assert {name: resource_lines(out)[name] for name in all_names()} == dict.fromkeys(
        all_names(), "unchanged"
    )
    assert calls, "the second run must still read the live resources"
    assert mutating(calls) == []


def test_outputs_list_the_region_and_each_resource_name_and_arn(mocked_aws: None) -> None:
    out, _ = provision("--stage", STAGE)

    outputs = out.split("\nOutputs\n", 1)[1]
    assert "region  ap-southeast-1" in outputs
    arn = aws.dynamodb().describe_table(TableName="anchor-deploy-dev-projects")["Table"]["TableArn"]
    assert arn in outputs
    assert "arn:aws:s3:::anchor-deploy-dev-logs" in outputs


def test_json_prints_only_a_document_with_region_names_arns_and_actions(mocked_aws: None) -> None:
    out, err = provision("--stage", STAGE, "--json")

    document = json.loads(out)
    assert document["region"] == "ap-southeast-1"
    assert document["stage"] == "dev"
    assert document["ok"] is True
    assert {r["name"]: r["action"] for r in document["resources"]} == dict.fromkeys(
        all_names(), "created"
    )
    assert all(r["arn"] for r in document["resources"])
    assert "Provisioning stage dev in region ap-southeast-1" in err  # progress goes to stderr


def test_production_tables_get_deletion_protection_and_point_in_time_recovery(
    mocked_aws: None,
) -> None:
    _, err = provision("--stage", "production")
    dynamodb = aws.dynamodb()

    for table in TABLES:
        name = table.name("production")
        assert dynamodb.describe_table(TableName=name)["Table"]["DeletionProtectionEnabled"]
        backups = dynamodb.describe_continuous_backups(TableName=name)
        pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert "warning" not in err


def test_stage_defaults_to_anchor_stage_from_the_settings(mocked_aws: None) -> None:
    out, _ = provision()

    assert out.splitlines()[0].startswith("Provisioning stage test in region ap-southeast-1 (")
    assert "anchor-deploy-test-projects" in table_names()


# --- completing and repairing -------------------------------------------------------------


def create_table_without_indexes(table: Any, stage: str = STAGE) -> None:
    kwargs = table.create_kwargs(stage)
    del kwargs["GlobalSecondaryIndexes"]
    kwargs["AttributeDefinitions"] = table.attribute_definitions(indexes=())
    aws.dynamodb().create_table(**kwargs)


def test_half_built_stage_is_completed_adding_one_index_per_update_table_call(
    mocked_aws: None,
) -> None:
    create_table_without_indexes(DEPLOYMENTS)

    with recorded_calls() as calls:
        out, _ = provision("--stage", STAGE)

    updates = [params for op, params in calls if op == "UpdateTable"]
    assert [len(u["GlobalSecondaryIndexUpdates"]) for u in updates] == [1, 1, 1, 1]
    live = aws.dynamodb().describe_table(TableName="anchor-deploy-dev-deployments")["Table"]
    assert sorted(i["IndexName"] for i in live["GlobalSecondaryIndexes"]) == [
        "AttentionIndex",
        "DeploymentIdIndex",
        "ProjectStatusIndex",
        "UserDeploymentsIndex",
    ]
    assert all(i["IndexStatus"] == "ACTIVE" for i in live["GlobalSecondaryIndexes"])
    lines = resource_lines(out)
    assert lines["anchor-deploy-dev-deployments"] == "updated"
    assert lines["anchor-deploy-dev-projects"] == "created"
    assert "adding index UserDeploymentsIndex" in out


def test_a_removed_lifecycle_rule_and_public_access_block_are_repaired(mocked_aws: None) -> None:
    provision("--stage", STAGE)
    s3 = aws.s3()
    s3.delete_bucket_lifecycle(Bucket="anchor-deploy-dev-logs")
    s3.delete_public_access_block(Bucket="anchor-deploy-dev-artifacts")

    out, _ = provision("--stage", STAGE)

    assert resource_lines(out)["anchor-deploy-dev-logs"] == "updated"
    assert resource_lines(out)["anchor-deploy-dev-artifacts"] == "updated"
    rules = s3.get_bucket_lifecycle_configuration(Bucket="anchor-deploy-dev-logs")["Rules"]
    assert [r["ID"] for r in rules] == ["archive-logs"]
    block = s3.get_public_access_block(Bucket="anchor-deploy-dev-artifacts")
    assert block["PublicAccessBlockConfiguration"] == PUBLIC_ACCESS_BLOCK
    provision("--stage", STAGE, "--check")  # exits 0: everything matches again


def test_changed_rules_encryption_versioning_and_billing_are_put_back(mocked_aws: None) -> None:
    provision("--stage", STAGE)
    s3, dynamodb = aws.s3(), aws.dynamodb()
    s3.put_bucket_lifecycle_configuration(
        Bucket="anchor-deploy-dev-artifacts",
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "expire-artifacts",
                    "Filter": {"Prefix": "artifacts/"},
                    "Status": "Enabled",
                    "Expiration": {"Days": 30},
                },
                {"ID": "by-hand", "Filter": {"Prefix": ""}, "Status": "Enabled",
                 "Expiration": {"Days": 1}},
            ]
        },
    )  # fmt: skip
    s3.put_bucket_encryption(
        Bucket="anchor-deploy-dev-logs",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    s3.put_bucket_versioning(
        Bucket="anchor-deploy-dev-logs", VersioningConfiguration={"Status": "Enabled"}
    )
    dynamodb.update_table(
        TableName="anchor-deploy-dev-projects",
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )

    error, out, _ = provision_fails("--stage", STAGE, "--check")
    assert "expire-artifacts: prefix 'artifacts/', expire at 30 days (declared: " in out
    # A rule the declaration does not name is shown, and kept (provision --prune removes it).
    assert (
        "artifacts: lifecycle rule by-hand: not declared (kept) (current: prefix '', expire at 1 "
        "days); --prune removes it"
    ) in out
    assert "default encryption: aws:kms (declared: AES256 (SSE-S3))" in out
    assert "versioning: enabled (declared: off)" in out
    assert "billing mode: PROVISIONED (declared: PAY_PER_REQUEST)" in out
    assert error.returncode == 2

    provision("--stage", STAGE)

    rules = s3.get_bucket_lifecycle_configuration(Bucket="anchor-deploy-dev-artifacts")["Rules"]
    assert [(r["ID"], r["Expiration"]["Days"]) for r in rules] == [
        ("expire-artifacts", 90),
        ("by-hand", 1),
    ]
    encryption = s3.get_bucket_encryption(Bucket="anchor-deploy-dev-logs")
    rule = encryption["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket="anchor-deploy-dev-logs")["Status"] == "Suspended"
    live = dynamodb.describe_table(TableName="anchor-deploy-dev-projects")["Table"]
    assert live["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    provision("--stage", STAGE, "--check")


def test_production_protection_turned_off_by_hand_is_turned_back_on(mocked_aws: None) -> None:
    provision("--stage", "production")
    dynamodb = aws.dynamodb()
    name = PROJECTS.name("production")
    dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
    dynamodb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    dynamodb.untag_resource(
        ResourceArn=dynamodb.describe_table(TableName=name)["Table"]["TableArn"], TagKeys=["stage"]
    )

    _, out, _ = provision_fails("--stage", "production", "--check")
    assert "deletion protection: off (declared: on)" in out
    assert "point-in-time recovery: disabled (declared: enabled)" in out
    assert "tag stage: missing (declared: production)" in out

    out, _ = provision("--stage", "production")

    assert resource_lines(out)[name] == "updated"
    assert dynamodb.describe_table(TableName=name)["Table"]["DeletionProtectionEnabled"]
    provision("--stage", "production", "--check")


def test_deletion_protection_added_by_hand_to_a_dev_table_is_left_on(mocked_aws: None) -> None:
    provision("--stage", STAGE)
    dynamodb = aws.dynamodb()
    dynamodb.update_table(TableName="anchor-deploy-dev-projects", DeletionProtectionEnabled=True)

    out, _ = provision("--stage", STAGE, "--check")

    assert "anchor-deploy-dev-projects: matches" in out
    live = dynamodb.describe_table(TableName="anchor-deploy-dev-projects")["Table"]
    assert live["DeletionProtectionEnabled"] is True


def test_a_different_key_schema_is_drift_and_the_table_is_neither_deleted_nor_recreated(
    mocked_aws: None,
) -> None:
    dynamodb = aws.dynamodb()
    dynamodb.create_table(
        TableName="anchor-deploy-dev-projects",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="anchor-deploy-dev-projects", Item={"PK": {"S": "prj_keep"}})

    with recorded_calls() as calls:
        error, out, _ = provision_fails("--stage", STAGE)

    assert error.returncode == 1
    assert "nothing was deleted or recreated" in str(error)
    assert "key schema: hash PK (declared: hash PK, range SK); cannot be repaired in place" in out
    assert resource_lines(out)["anchor-deploy-dev-projects"] == "drift"
    assert not [
        op
        for op, params in calls
        if op in {"DeleteTable", "CreateTable"}
        and params.get("TableName") == "anchor-deploy-dev-projects"
    ]
    item = dynamodb.get_item(TableName="anchor-deploy-dev-projects", Key={"PK": {"S": "prj_keep"}})
    assert item["Item"] == {"PK": {"S": "prj_keep"}}
    # Everything else was still built.
    assert "anchor-deploy-dev-deployments" in table_names()
    assert sorted(bucket_names()) == sorted(b.name(STAGE) for b in BUCKETS)


def test_a_bucket_in_another_region_is_drift_that_is_reported_not_repaired(
    mocked_aws: None, settings: Any
) -> None:
    settings.AWS_REGION = "us-west-2"
    aws.reset_clients()
    aws.s3().create_bucket(
        Bucket="anchor-deploy-dev-logs",
        CreateBucketConfiguration={"LocationConstraint": "us-west-2"},
    )
    settings.AWS_REGION = "ap-southeast-1"
    aws.reset_clients()

    error, out, _ = provision_fails("--stage", STAGE)

    assert "region: us-west-2 (declared: ap-southeast-1); cannot be repaired in place" in out
    assert error.returncode == 1
    assert "anchor-deploy-dev-logs" in bucket_names()


def test_a_kms_encrypted_table_is_a_repairable_difference() -> None:
    live = {
        "TableStatus": "ACTIVE",
        "KeySchema": PROJECTS.key_schema(),
        "AttributeDefinitions": PROJECTS.attribute_definitions(),
        "GlobalSecondaryIndexes": [
            {**i.create_spec(), "IndexStatus": "ACTIVE"} for i in PROJECTS.indexes
        ],
        "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
        "SSEDescription": {"Status": "ENABLED", "SSEType": "KMS", "KMSMasterKeyArn": "arn:key"},
        "DeletionProtectionEnabled": False,
    }

    differences = table_differences(PROJECTS, STAGE, live, client_region="ap-southeast-1")

    assert [d.describe() for d in differences] == [
        "encryption: KMS (arn:key) (declared: AWS-owned key)"
    ]
    assert differences[0].repairable


# --- dry run and check --------------------------------------------------------------------


def test_dry_run_on_an_empty_account_plans_creates_and_makes_no_mutating_call(
    mocked_aws: None,
) -> None:
    with recorded_calls() as calls:
        out, _ = provision("--stage", STAGE, "--dry-run")

    assert "dry run" in out.splitlines()[0]
    assert {name: resource_lines(out)[name] for name in all_names()} == dict.fromkeys(
        all_names(), "create"
    )
    assert calls
    assert mutating(calls) == []
    assert table_names() == []
    assert bucket_names() == []


def test_dry_run_shows_the_property_that_differs_and_changes_nothing(mocked_aws: None) -> None:
    provision("--stage", STAGE)
    aws.dynamodb().update_table(
        TableName="anchor-deploy-dev-deployments",
        GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "UserDeploymentsIndex"}}],
    )
    aws.s3().delete_bucket_lifecycle(Bucket="anchor-deploy-dev-artifacts")

    with recorded_calls() as calls:
        out, _ = provision("--stage", STAGE, "--dry-run")

    lines = resource_lines(out)
    assert lines["anchor-deploy-dev-deployments"] == "update"
    assert lines["anchor-deploy-dev-artifacts"] == "update"
    assert lines["anchor-deploy-dev-projects"] == "unchanged"
    assert (
        "deployments: index UserDeploymentsIndex: hash userId, range createdAt, projection ALL "
        "(current: missing)" in out
    )
    assert (
        "artifacts: lifecycle rule expire-artifacts: prefix 'artifacts/', expire at 90 days, "
        "abort uploads at 7 days (current: missing)" in out
    )
    assert mutating(calls) == []
    live = aws.dynamodb().describe_table(TableName="anchor-deploy-dev-deployments")["Table"]
    assert sorted(i["IndexName"] for i in live["GlobalSecondaryIndexes"]) == [
        "AttentionIndex",
        "DeploymentIdIndex",
        "ProjectStatusIndex",
    ]


def test_check_exits_0_when_everything_matches(mocked_aws: None) -> None:
    provision("--stage", STAGE)

    with recorded_calls() as calls:
        out, _ = provision("--stage", STAGE, "--check")

    assert "Stage dev matches the declaration." in out
    assert mutating(calls) == []


def test_check_exits_2_listing_every_difference(mocked_aws: None) -> None:
    provision("--stage", STAGE)
    dynamodb, s3 = aws.dynamodb(), aws.s3()
    dynamodb.update_table(
        TableName="anchor-deploy-dev-projects",
        GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "UserIdIndex"}}],
    )
    s3.delete_bucket(Bucket="anchor-deploy-dev-artifacts")
    s3.put_public_access_block(
        Bucket="anchor-deploy-dev-logs",
        PublicAccessBlockConfiguration={**PUBLIC_ACCESS_BLOCK, "BlockPublicPolicy": False},
    )

    with recorded_calls() as calls:
        error, out, _ = provision_fails("--stage", STAGE, "--check")

    assert error.returncode == 2
    assert str(error) == "stage dev differs from the declaration in 3 place(s)"
    assert "index UserIdIndex: missing" in out
    assert "bucket anchor-deploy-dev-artifacts: 1 difference(s)" in out
    assert "bucket: missing (declared: present)" in out
    assert "public access block: BlockPublicPolicy off (declared: all on)" in out
    assert mutating(calls) == []


def test_check_with_json_lists_the_differences_for_scripts(mocked_aws: None) -> None:
    provision("--stage", STAGE)
    aws.s3().delete_bucket_lifecycle(Bucket="anchor-deploy-dev-logs")

    error, out, _ = provision_fails("--stage", STAGE, "--check", "--json")

    document = json.loads(out)
    assert error.returncode == 2
    assert document["ok"] is False
    logs = next(r for r in document["resources"] if r["name"] == "anchor-deploy-dev-logs")
    assert logs["differences"] == [
        {
            "property": "lifecycle rule archive-logs",
            "expected": "prefix 'logs/', GLACIER at 30 days, DEEP_ARCHIVE at 365 days, "
            "abort uploads at 7 days",
            "actual": "missing",
            "live": "missing",
            "declared": "prefix 'logs/', GLACIER at 30 days, DEEP_ARCHIVE at 365 days, "
            "abort uploads at 7 days",
            "repairable": True,
        }
    ]


def test_check_and_dry_run_cannot_be_combined(mocked_aws: None) -> None:
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("provision", "--stage", STAGE, "--check", "--dry-run")
