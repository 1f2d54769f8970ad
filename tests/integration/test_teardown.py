"""manage.py teardown against moto in-process: refuses production, confirms, empties, idempotent."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from infra.core import aws
from infra.core.resources import BUCKETS, TABLES
from tests.provisioning import failing, recorded_calls, tag_buckets, teardown, teardown_fails
from tests.provisioning import provision as run_provision

STAGE = "dev"


def provision(*args: str) -> None:
    """Provision the stage and tag its buckets as the declaration will (tests.provisioning)."""
    run_provision(*args)
    tag_buckets(args[args.index("--stage") + 1])


def table_names() -> list[str]:
    return aws.dynamodb().list_tables()["TableNames"]


def bucket_names() -> list[str]:
    return [b["Name"] for b in aws.s3().list_buckets()["Buckets"]]


def answer_prompt(monkeypatch: pytest.MonkeyPatch, answer: str) -> list[str]:
    """Make input() answer `answer`; returns the prompts it was shown."""
    prompts: list[str] = []

    def fake_input(prompt: str = "") -> str:
        prompts.append(prompt)
        return answer

    monkeypatch.setattr("builtins.input", fake_input)
    return prompts


def test_teardown_refuses_production_even_with_yes(mocked_aws: None) -> None:
    provision("--stage", "production")

    with recorded_calls() as calls:
        error, _ = teardown_fails("--stage", "production", "--yes")

    assert str(error) == "teardown refuses stage production: production is retained"
    assert calls == []
    assert len(table_names()) == len(TABLES)


def test_teardown_asks_for_the_stage_name_and_a_wrong_answer_removes_nothing(
    mocked_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    provision("--stage", STAGE)
    prompts = answer_prompt(monkeypatch, "yes")

    error, out = teardown_fails("--stage", STAGE)

    assert prompts == ["Type the stage name (dev) to remove it: "]
    assert str(error) == "teardown cancelled; nothing was removed"
    # Exactly what it would delete, and what showed each one is this stage's.
    assert out.splitlines() == [
        "Removing stage dev from region ap-southeast-1:",
        "  bucket anchor-deploy-dev-artifacts (and every object in it; tagged app=anchor-deploy, "
        "stage=dev)",
        "  bucket anchor-deploy-dev-logs (and every object in it; tagged app=anchor-deploy, "
        "stage=dev)",
        "  table anchor-deploy-dev-projects (and every item; tagged app=anchor-deploy, stage=dev)",
        "  table anchor-deploy-dev-deployments (and every item; tagged app=anchor-deploy, "
        "stage=dev)",
    ]
    assert sorted(table_names()) == sorted(t.name(STAGE) for t in TABLES)
    assert sorted(bucket_names()) == sorted(b.name(STAGE) for b in BUCKETS)


def test_teardown_without_a_terminal_to_answer_removes_nothing(
    mocked_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    provision("--stage", STAGE)

    def no_terminal(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", no_terminal)

    error, _ = teardown_fails("--stage", STAGE)

    assert str(error) == "teardown cancelled; nothing was removed"
    assert len(bucket_names()) == len(BUCKETS)


def test_teardown_removes_the_stage_once_the_stage_name_is_typed(
    mocked_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    provision("--stage", STAGE)
    provision("--stage", "qa")
    answer_prompt(monkeypatch, "dev")

    out = teardown("--stage", STAGE)

    assert out.rstrip().endswith("Stage dev removed.")
    # Only the named stage goes.
    assert sorted(table_names()) == sorted(t.name("qa") for t in TABLES)
    assert sorted(bucket_names()) == sorted(b.name("qa") for b in BUCKETS)


@pytest.mark.parametrize("flag", ["--yes", "-y", "--noinput", "--no-input"])
def test_teardown_does_not_ask_with_yes_or_noinput(
    mocked_aws: None, monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    provision("--stage", STAGE)
    prompts = answer_prompt(monkeypatch, "")

    teardown("--stage", STAGE, flag)

    assert prompts == []
    assert table_names() == []
    assert bucket_names() == []


def test_teardown_empties_buckets_in_batches_of_1000_before_deleting_them(
    mocked_aws: None,
) -> None:
    provision("--stage", STAGE)
    s3 = aws.s3()
    for n in range(2345):
        s3.put_object(Bucket="anchor-deploy-dev-artifacts", Key=f"artifacts/prj/{n}", Body=b"x")
    s3.put_object(Bucket="anchor-deploy-dev-logs", Key="logs/prj_1/dpl_1/build.log", Body=b"ok")

    with recorded_calls() as calls:
        out = teardown("--stage", STAGE, "--yes")

    batches = [
        len(params["Delete"]["Objects"])
        for op, params in calls
        if op == "DeleteObjects" and params["Bucket"] == "anchor-deploy-dev-artifacts"
    ]
    assert batches == [1000, 1000, 345]
    assert "bucket anchor-deploy-dev-artifacts: deleted 2345 object(s)" in out
    assert "bucket anchor-deploy-dev-logs: deleted 1 object(s)" in out
    operations = [op for op, params in calls if params.get("Bucket") == "anchor-deploy-dev-logs"]
    assert operations.index("DeleteObjects") < operations.index("DeleteBucket")
    assert bucket_names() == []


def test_teardown_removes_every_version_of_a_bucket_someone_versioned(mocked_aws: None) -> None:
    provision("--stage", STAGE)
    s3 = aws.s3()
    s3.put_bucket_versioning(
        Bucket="anchor-deploy-dev-logs", VersioningConfiguration={"Status": "Enabled"}
    )
    for body in (b"one", b"two"):
        s3.put_object(Bucket="anchor-deploy-dev-logs", Key="logs/p/d/build.log", Body=body)
    s3.delete_object(Bucket="anchor-deploy-dev-logs", Key="logs/p/d/build.log")  # delete marker

    out = teardown("--stage", STAGE, "--yes")

    assert "bucket anchor-deploy-dev-logs: deleted 3 object(s)" in out
    assert bucket_names() == []


def test_teardown_aborts_unfinished_uploads(mocked_aws: None) -> None:
    provision("--stage", STAGE)
    s3 = aws.s3()
    s3.create_multipart_upload(Bucket="anchor-deploy-dev-artifacts", Key="artifacts/p/d/big")

    with recorded_calls() as calls:
        teardown("--stage", STAGE, "--yes")

    assert [op for op, _ in calls].count("AbortMultipartUpload") == 1
    assert bucket_names() == []


def test_a_second_teardown_reports_nothing_to_remove(mocked_aws: None) -> None:
    provision("--stage", STAGE)
    teardown("--stage", STAGE, "--yes")

    with recorded_calls() as calls:
        out = teardown("--stage", STAGE, "--yes")

    assert out == "Nothing to remove for stage dev in region ap-southeast-1.\n"
    assert [op for op, _ in calls if not op.startswith(("Describe", "Head", "List"))] == []


def test_teardown_finishes_a_half_removed_stage(mocked_aws: None) -> None:
    provision("--stage", STAGE)
    aws.dynamodb().delete_table(TableName="anchor-deploy-dev-projects")
    aws.s3().delete_bucket(Bucket="anchor-deploy-dev-logs")

    out = teardown("--stage", STAGE, "--yes")

    assert "anchor-deploy-dev-projects" not in out
    assert "table anchor-deploy-dev-deployments: removed" in out
    assert table_names() == []
    assert bucket_names() == []


def test_teardown_does_not_turn_off_deletion_protection_and_then_removes_nothing(
    mocked_aws: None,
) -> None:
    provision("--stage", STAGE)
    aws.dynamodb().update_table(
        TableName="anchor-deploy-dev-deployments", DeletionProtectionEnabled=True
    )
    aws.s3().put_object(Bucket="anchor-deploy-dev-logs", Key="logs/p/d/build.log", Body=b"keep")

    with recorded_calls() as calls:
        error, out = teardown_fails("--stage", STAGE, "--yes")

    assert str(error) == (
        "teardown refuses 1 resource(s) of stage dev (listed above); nothing was removed"
    )
    assert out.splitlines() == [
        "  refused: table anchor-deploy-dev-deployments: deletion protection is on (teardown does "
        "not turn it off: turn it off yourself if you mean to remove it)"
    ]
    assert [op for op, _ in calls if op.startswith(("Delete", "Update"))] == []
    assert len(table_names()) == len(TABLES)
    body = aws.s3().get_object(Bucket="anchor-deploy-dev-logs", Key="logs/p/d/build.log")["Body"]
    assert body.read() == b"keep"


@pytest.mark.parametrize("stage", ["Dev", "dev_1", ""])
def test_teardown_refuses_an_invalid_stage(mocked_aws: None, stage: str) -> None:
    error, _ = teardown_fails(f"--stage={stage}", "--yes")

    assert str(error).startswith("invalid stage")


def test_teardown_needs_an_explicit_stage(mocked_aws: None) -> None:
    with pytest.raises(CommandError, match="--stage"):
        call_command("teardown", "--yes")


def test_teardown_of_a_bucket_another_account_owns_is_one_clear_line(mocked_aws: None) -> None:
    with failing(aws.admin_s3(), "HeadBucket", "403", 403):
        error, _ = teardown_fails("--stage", STAGE, "--yes")

    assert str(error).startswith(
        "bucket anchor-deploy-dev-artifacts exists but these credentials cannot use it"
    )
