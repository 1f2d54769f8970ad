"""provision like `terraform plan`: exit codes 0/1/2, --json in every mode, the lifecycle rules
S3 rejects refused before any call; on moto and again on DynamoDB Local."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from infra.core import aws
from infra.core.resources import BUCKETS, LOGS, TABLES, Bucket, LifecycleRule
from infra.local.processes import LocalService
from infra.provisioning import apply, plan
from tests.conftest import ENGINES, drop_all_tables
from tests.provisioning import provision, provision_fails, recorded_calls, resource_names

STAGE = "modes"


@pytest.fixture(params=ENGINES)
def engine(
    request: pytest.FixtureRequest, mocked_aws: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """An empty account on moto, or DynamoDB Local for the tables (S3 on moto in-process)."""
    if request.param == "ddblocal":
        service: LocalService = request.getfixturevalue("dynamodb_local")
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", service.endpoint)
        aws.reset_clients()
        drop_all_tables()
    yield request.param
    if request.param == "ddblocal":
        drop_all_tables()


def document(*args: str) -> tuple[int, dict[str, Any]]:
    """Run provision with --json; its exit code and the JSON it printed."""
    out, _ = provision("--stage", STAGE, "--json", *args)
    return 0, json.loads(out)


def failing_document(*args: str) -> tuple[int, dict[str, Any]]:
    error, out, _ = provision_fails("--stage", STAGE, "--json", *args)
    return error.returncode, json.loads(out)


def statuses(doc: dict[str, Any]) -> dict[str, str]:
    return {r["name"]: r["status"] for r in doc["resources"]}


def test_check_exits_0_in_sync_2_on_drift_and_json_says_which_resource(engine: str) -> None:
    provision("--stage", STAGE)
    names = resource_names(STAGE)

    code, doc = document("--check")
    assert code == 0
    assert doc["mode"] == "check" and doc["inSync"] is True
    assert statuses(doc) == dict.fromkeys(names, "in sync")

    aws.s3().delete_bucket_lifecycle(Bucket=LOGS.name(STAGE))
    aws.dynamodb().delete_table(TableName=TABLES[0].name(STAGE))
    aws.dynamodb().get_waiter("table_not_exists").wait(TableName=TABLES[0].name(STAGE))

    code, doc = failing_document("--check")
    assert code == 2
    assert statuses(doc) == {
        TABLES[0].name(STAGE): "missing",
        TABLES[1].name(STAGE): "in sync",
        BUCKETS[0].name(STAGE): "in sync",
        LOGS.name(STAGE): "modified",
    }
    logs = next(r for r in doc["resources"] if r["name"] == LOGS.name(STAGE))
    assert logs["properties"] == [
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
    human = provision_fails("--stage", STAGE, "--check")
    assert human[0].returncode == 2


def test_dry_run_json_plans_each_property_of_a_missing_resource_and_changes_nothing(
    engine: str,
) -> None:
    with recorded_calls() as calls:
        code, doc = document("--dry-run")

    assert code == 0
    assert doc["mode"] == "plan"
    assert set(statuses(doc).values()) == {"missing"}
    deployments = next(r for r in doc["resources"] if r["name"] == TABLES[1].name(STAGE))
    planned = {p["property"]: (p["actual"], p["expected"]) for p in deployments["properties"]}
    assert planned["index ProjectStatusIndex"] == (
        "missing",
        "hash projectStatus, range SK, projection ALL",
    )
    assert planned["billing mode"] == ("missing", "PAY_PER_REQUEST")
    assert [
        name for name, _ in calls if not name.startswith(("Describe", "Head", "List", "Get"))
    ] == []


def test_dry_run_prints_property_current_and_declared_value(engine: str) -> None:
    provision("--stage", STAGE)
    aws.s3().delete_bucket_lifecycle(Bucket=LOGS.name(STAGE))

    out, _ = provision("--stage", STAGE, "--dry-run")

    assert (
        "logs: lifecycle rule archive-logs: prefix 'logs/', GLACIER at 30 days, DEEP_ARCHIVE at "
        "365 days, abort uploads at 7 days (current: missing)" in out
    )
    assert "Plan: 0 to create, 1 to update, 3 unchanged" in out


def test_apply_json_reports_what_it_did_and_an_unchanged_stage_is_one_line_a_resource(
    engine: str,
) -> None:
    code, doc = document()
    assert code == 0
    assert doc["mode"] == "apply"
    assert {r["action"] for r in doc["resources"]} == {"created"}
    assert set(statuses(doc).values()) == {"in sync"}

    out, _ = provision("--stage", STAGE)
    # moto in-process answers on AWS's own endpoints, so the real-AWS notice shows too.
    lines = [line for line in out.splitlines() if "real AWS: account" not in line]
    assert len(lines) == 1 + len(resource_names(STAGE)), out  # the heading, then one a resource
    assert all(line.endswith(": unchanged") for line in lines[1:])


# Rules S3 rejects (its PutBucketLifecycleConfiguration answers InvalidArgument), which moto
# accepts: each must be refused with one line naming the rule, before any AWS call.
REJECTED = [
    (LifecycleRule("to-ia-too-soon", "logs/", transitions=((7, "STANDARD_IA"),)), "at least 30"),
    (
        LifecycleRule(
            "deep-too-soon", "logs/", transitions=((30, "GLACIER"), (60, "DEEP_ARCHIVE"))
        ),
        "at least 90 days after GLACIER",
    ),
    (
        LifecycleRule("expire-first", "logs/", transitions=((30, "GLACIER"),), expiration_days=30),
        "must come after the last transition",
    ),
    (
        LifecycleRule("backwards", "logs/", transitions=((30, "GLACIER"), (200, "STANDARD_IA"))),
        "cannot follow GLACIER",
    ),
    (
        LifecycleRule("ia-stay", "logs/", transitions=((30, "STANDARD_IA"), (40, "GLACIER"))),
        "at least 30 days after STANDARD_IA",
    ),
]


@pytest.mark.parametrize(("rule", "reason"), REJECTED, ids=[r.id for r, _ in REJECTED])
@pytest.mark.parametrize("mode", [(), ("--dry-run",), ("--check",), ("--json",)])
def test_a_lifecycle_rule_aws_rejects_is_one_error_naming_it_before_any_call(
    mocked_aws: None,
    monkeypatch: pytest.MonkeyPatch,
    rule: LifecycleRule,
    reason: str,
    mode: tuple[str, ...],
) -> None:
    bad = (BUCKETS[0], Bucket(role="logs", prefix="logs/", rules=(rule,)))
    monkeypatch.setattr(plan, "BUCKETS", bad)
    monkeypatch.setattr(apply, "BUCKETS", bad)

    with recorded_calls() as calls:
        error, out, _ = provision_fails("--stage", STAGE, *mode)

    assert error.returncode == 1
    message = str(error)
    assert message.startswith(
        f"invalid lifecycle declaration: bucket logs: lifecycle rule {rule.id}:"
    )
    assert reason in message
    assert "\n" not in message
    assert calls == []
    assert out == ""


def test_the_declared_lifecycle_rules_pass_the_checks() -> None:
    from infra.core.resources import lifecycle_problems

    assert [
        p for bucket in BUCKETS for rule in bucket.rules for p in lifecycle_problems(rule)
    ] == []


def test_an_error_exits_1_even_with_check(
    mocked_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")  # nothing listens
    aws.reset_clients()

    error, _, _ = provision_fails("--stage", STAGE, "--check")

    assert error.returncode == 1
    assert "cannot reach" in str(error)


def test_on_aws_endpoints_it_names_account_and_region_and_asks_on_a_terminal(
    mocked_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.provisioning.management.commands import provision as command

    provision("--stage", STAGE)
    aws.s3().delete_bucket_lifecycle(Bucket=LOGS.name(STAGE))
    questions: list[str] = []
    monkeypatch.setattr(command.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: questions.append(prompt) or "no")

    with recorded_calls() as calls:
        error, out, _ = provision_fails("--stage", STAGE)

    assert error.returncode == 1
    assert "nothing was changed" in str(error)
    assert "real AWS: account 123456789012, region ap-southeast-1, credentials " in out
    assert "1 change(s) planned" in out
    assert questions == [f"Change stage {STAGE} in account 123456789012? Type 'yes' to go on: "]
    assert [n for n, _ in calls if not n.startswith(("Describe", "Head", "List", "Get"))] == []

    out, _ = provision("--stage", STAGE, "--yes")  # --yes: no question, the repair is made
    assert len(questions) == 1
    assert "bucket anchor-deploy-modes-logs: updated" in out
