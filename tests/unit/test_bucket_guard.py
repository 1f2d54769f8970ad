"""The TLS-only bucket policy: how --check recognises it in S3's answer, and how the moto shim
(infra.local.s3policy) evaluates its aws:SecureTransport condition."""

from __future__ import annotations

import json

from infra.core.resources import LOGS, OBJECT_OWNERSHIP, resource_tags
from infra.local.s3policy import applicable_policy
from infra.provisioning.diff import bucket_guard_differences

NAME = "anchor-deploy-dev-logs"


def _live(policy: dict | None, ownership: str | None = OBJECT_OWNERSHIP) -> dict:
    return {
        "policy": None if policy is None else json.dumps(policy),
        "ownership": None if ownership is None else [{"ObjectOwnership": ownership}],
        "tags": resource_tags("dev"),
    }


def _differences(live: dict) -> list[str]:
    found = bucket_guard_differences(LOGS, live, name=NAME, stage="dev", partition="aws")
    return [d.property for d in found]


def test_the_declared_policy_as_s3_may_return_it_is_in_sync():
    statement = LOGS.policy_document(NAME)["Statement"][0]
    # S3 can answer "*" as {"AWS": "*"} and one-element lists as lists or strings.
    reshaped = {
        **statement,
        "Sid": "SomeOtherName",
        "Principal": {"AWS": "*"},
        "Action": ["s3:*"],
        "Resource": [f"arn:aws:s3:::{NAME}/*", f"arn:aws:s3:::{NAME}"],
        "Condition": {"Bool": {"aws:SecureTransport": ["false"]}},
    }
    others = {"Sid": "Read", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}

    assert _differences(_live(LOGS.policy_document(NAME))) == []
    assert _differences(_live({"Version": "2012-10-17", "Statement": [others, reshaped]})) == []


def test_a_policy_that_only_covers_the_objects_or_allows_http_is_drift():
    statement = LOGS.policy_document(NAME)["Statement"][0]
    objects_only = {**statement, "Resource": f"arn:aws:s3:::{NAME}/*"}
    wrong_value = {**statement, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}

    for policy_statement in (objects_only, wrong_value):
        policy = {"Version": "2012-10-17", "Statement": [policy_statement]}
        assert _differences(_live(policy)) == ["bucket policy"]
    assert _differences(_live(None, ownership="ObjectWriter")) == [
        "bucket policy",
        "object ownership",
    ]


def test_the_moto_shim_drops_the_tls_deny_only_for_requests_over_tls():
    policy = json.dumps(LOGS.policy_document(NAME))
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
    mixed = json.dumps(
        {"Version": "2012-10-17", "Statement": [allow, *json.loads(policy)["Statement"]]}
    )

    assert applicable_policy(policy, secure=True) is None
    assert applicable_policy(policy, secure=False) == policy
    assert json.loads(applicable_policy(mixed, secure=True) or "{}")["Statement"] == [allow]
