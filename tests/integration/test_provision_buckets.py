"""The buckets' lifecycle minimum object size and guard rails (TLS-only policy, object ownership,
tags) on moto in-process: provisioned, read back, drift-checked, repaired and planned.

moto ignores TransitionDefaultMinimumObjectSize (tests.provisioning.s3_lifecycle_minimum plays
S3's answer) and takes the policy's conditional Deny for an unconditional one (the `mocked_aws`
fixture has moto evaluate aws:SecureTransport as AWS does, infra.local.s3policy).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from infra.core import aws
from infra.core.resources import (
    BUCKET_ENCRYPTION,
    BUCKETS,
    LOGS,
    OBJECT_OWNERSHIP,
    PUBLIC_ACCESS_BLOCK,
    TABLES,
    TRANSITION_MINIMUM_128K,
    TRANSITION_MINIMUM_BY_CLASS,
    resource_tags,
)
from infra.provisioning.diff import policy_statements
from tests.provisioning import (
    STAGE,
    TRANSITION_MINIMUM_HEADER,
    mutating,
    provision,
    provision_fails,
    recorded_calls,
    s3_lifecycle_minimum,
)


def _tags(tag_set: list[dict[str, str]]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tag_set}


def _statement(bucket_name: str) -> dict[str, object]:
    return {
        "Sid": "KeepMe",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket_name}/*",
    }


def test_a_fresh_stage_read_back_property_by_property_equals_the_declaration(
    mocked_aws: None,
) -> None:
    with s3_lifecycle_minimum():
        provision("--stage", STAGE)
        dynamodb, s3 = aws.dynamodb(), aws.s3()

        for table in TABLES:
            live = dynamodb.describe_table(TableName=table.name(STAGE))["Table"]
            assert live["KeySchema"] == table.key_schema()
            assert live["BillingModeSummary"]["BillingMode"] == table.billing_mode
            assert {i["IndexName"]: i["KeySchema"] for i in live["GlobalSecondaryIndexes"]} == {
                i.name: i.key_schema() for i in table.indexes
            }
            assert {i["Projection"]["ProjectionType"] for i in live["GlobalSecondaryIndexes"]} == {
                "ALL"
            }
            assert live["DeletionProtectionEnabled"] is table.deletion_protection(STAGE)
            tags = dynamodb.list_tags_of_resource(ResourceArn=live["TableArn"])["Tags"]
            assert _tags(tags) == _tags(resource_tags(STAGE))

        for bucket in BUCKETS:
            name = bucket.name(STAGE)
            assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "ap-southeast-1"
            block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
            assert block == PUBLIC_ACCESS_BLOCK
            encryption = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
            assert [
                {"ApplyServerSideEncryptionByDefault": r["ApplyServerSideEncryptionByDefault"]}
                for r in encryption["Rules"]
            ] == BUCKET_ENCRYPTION["Rules"]
            assert s3.get_bucket_versioning(Bucket=name).get("Status") is None
            lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=name)
            rules = {r["ID"]: r for r in lifecycle["Rules"]}
            assert set(rules) == {r.id for r in bucket.rules}
            for rule in bucket.rules:
                live_rule = rules[rule.id]
                assert live_rule["Filter"] == {"Prefix": rule.prefix}
                assert [
                    (t["Days"], t["StorageClass"]) for t in live_rule.get("Transitions", [])
                ] == [*rule.transitions]
                assert live_rule.get("Expiration", {}).get("Days") == rule.expiration_days
            # The new items: the minimum object size, the policy, ownership and tags.
            expected_minimum = bucket.transition_minimum_object_size or TRANSITION_MINIMUM_128K
            assert lifecycle["TransitionDefaultMinimumObjectSize"] == expected_minimum
            policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
            assert policy == bucket.policy_document(name)
            ownership = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]
            assert ownership == {"Rules": [{"ObjectOwnership": OBJECT_OWNERSHIP}]}
            assert _tags(s3.get_bucket_tagging(Bucket=name)["TagSet"]) == _tags(
                resource_tags(STAGE)
            )

        out, _ = provision("--stage", STAGE, "--check")
    assert f"Stage {STAGE} matches the declaration." in out


def test_the_logs_lifecycle_is_put_with_its_minimum_object_size_on_the_wire(
    mocked_aws: None,
) -> None:
    with s3_lifecycle_minimum() as s3_side:
        provision("--stage", STAGE)

    # PutBucketLifecycleConfiguration takes it as a header beside the rules; the artifacts
    # bucket makes no transition, so it sends none and S3's default applies.
    assert s3_side.sent[LOGS.name(STAGE)] == TRANSITION_MINIMUM_128K
    assert all(
        s3_side.sent[b.name(STAGE)] is None
        for b in BUCKETS
        if b.transition_minimum_object_size is None
    )
    assert TRANSITION_MINIMUM_HEADER == "x-amz-transition-default-minimum-object-size"


def test_check_sees_a_logs_bucket_letting_small_objects_into_glacier_and_provision_repairs_it(
    mocked_aws: None,
) -> None:
    logs = LOGS.name(STAGE)
    with s3_lifecycle_minimum() as s3_side:
        provision("--stage", STAGE)
        # As a configuration put before September 2024, or by a tool that chose it, reads back.
        s3_side.live[logs] = TRANSITION_MINIMUM_BY_CLASS

        error, out, _ = provision_fails("--stage", STAGE, "--check")
        assert error.returncode == 2
        assert (
            f"lifecycle minimum object size: {TRANSITION_MINIMUM_BY_CLASS} "
            f"(declared: {TRANSITION_MINIMUM_128K})"
        ) in out

        out, _ = provision("--stage", STAGE)
        assert f"bucket {logs}: setting lifecycle rules" in out
        assert s3_side.live[logs] == TRANSITION_MINIMUM_128K
        out, _ = provision("--stage", STAGE, "--check")
    assert "matches the declaration" in out


def test_a_missing_policy_ownership_and_tags_are_drift_that_provision_puts_back(
    mocked_aws: None,
) -> None:
    provision("--stage", STAGE)
    s3 = aws.s3()
    logs = LOGS.name(STAGE)
    s3.delete_bucket_policy(Bucket=logs)
    s3.delete_bucket_ownership_controls(Bucket=logs)
    s3.delete_bucket_tagging(Bucket=logs)

    error, out, _ = provision_fails("--stage", STAGE, "--check", "--json")
    assert error.returncode == 2
    report = json.loads(out)
    bucket = next(r for r in report["resources"] if r["name"] == logs)
    assert {(d["property"], d["actual"], d["expected"]) for d in bucket["differences"]} == {
        (
            "bucket policy",
            "not set",
            "deny requests without TLS (aws:SecureTransport false) on the bucket and its objects",
        ),
        ("object ownership", "not set", OBJECT_OWNERSHIP),
        ("tag app", "missing", "anchor-deploy"),
        ("tag stage", "missing", STAGE),
    }

    with recorded_calls() as calls:
        provision("--stage", STAGE)
    assert mutating(calls) == ["PutBucketOwnershipControls", "PutBucketPolicy", "PutBucketTagging"]
    out, _ = provision("--stage", STAGE, "--check")
    assert "matches the declaration" in out


def test_repairs_keep_the_policy_statements_and_tags_someone_else_added(mocked_aws: None) -> None:
    provision("--stage", STAGE)
    s3 = aws.s3()
    logs = LOGS.name(STAGE)
    # Another team's statement replaces ours; ownership goes back to object writers; a cost tag
    # is added and the stage tag changed.
    s3.put_bucket_policy(
        Bucket=logs, Policy=json.dumps({"Version": "2012-10-17", "Statement": [_statement(logs)]})
    )
    s3.put_bucket_ownership_controls(
        Bucket=logs, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    s3.put_bucket_tagging(
        Bucket=logs,
        Tagging={
            "TagSet": [{"Key": "cost-centre", "Value": "ops"}, {"Key": "stage", "Value": "x"}]
        },
    )

    error, out, _ = provision_fails("--stage", STAGE, "--check")
    assert error.returncode == 2
    assert "bucket policy: no statement denying non-TLS requests" in out
    assert f"object ownership: ObjectWriter (declared: {OBJECT_OWNERSHIP})" in out
    assert f"tag stage: x (declared: {STAGE})" in out

    provision("--stage", STAGE)
    statements = policy_statements(s3.get_bucket_policy(Bucket=logs)["Policy"])
    assert [s["Sid"] for s in statements] == ["KeepMe", "DenyInsecureTransport"]
    assert _tags(s3.get_bucket_tagging(Bucket=logs)["TagSet"]) == {
        "cost-centre": "ops",
        "app": "anchor-deploy",
        "stage": STAGE,
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=logs)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": OBJECT_OWNERSHIP}]
    assert "matches the declaration" in provision("--stage", STAGE, "--check")[0]


def test_the_plan_of_a_missing_bucket_shows_every_new_property(mocked_aws: None) -> None:
    out, _ = provision("--stage", STAGE, "--dry-run")

    for bucket in BUCKETS:
        assert f"{bucket.role}: bucket policy: deny requests without TLS" in out
        assert f"{bucket.role}: object ownership: {OBJECT_OWNERSHIP} (current: missing)" in out
        assert f"{bucket.role}: tag stage: {STAGE} (current: missing)" in out
    assert f"logs: lifecycle minimum object size: {TRANSITION_MINIMUM_128K}" in out
    assert "artifacts: lifecycle minimum object size" not in out


def test_objects_are_read_and_written_over_tls_and_refused_over_plain_http(
    mocked_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    provision("--stage", STAGE)
    logs = LOGS.name(STAGE)
    aws.s3().put_object(Bucket=logs, Key="logs/prj_a/dpl_a/build.log", Body=b"ok\n")
    assert aws.s3().get_object(Bucket=logs, Key="logs/prj_a/dpl_a/build.log")["Body"].read() == (
        b"ok\n"
    )

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://s3.ap-southeast-1.amazonaws.com")
    aws.reset_clients()
    plain = aws.s3()
    assert plain.meta.endpoint_url.startswith("http://")
    with pytest.raises(ClientError) as refused:
        plain.get_object(Bucket=logs, Key="logs/prj_a/dpl_a/build.log")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
