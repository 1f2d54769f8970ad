"""Each role's policy under deploy/ grants exactly what that role's entry points call, on moto.

Calls are recorded, not read from the source: a `before-parameter-build` hook on the clients
infra.core.aws makes (tests/iam.py) notes the IAM action and resource of every DynamoDB and S3
call while a role's entry points run — every console page and staff action through Django's
test client, the orchestrator-side writers, provision (apply, --check, --dry-run), reconcile and
recount, teardown. A policy missing a recorded permission, or holding one nothing used, fails
with the lines to add or remove and the whole expected file; `ANCHOR_WRITE_IAM=1` writes it.
parliament (Duo Labs' IAM linter) then reads every policy and must report nothing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import URLPattern, get_resolver, resolve, reverse

from deployments import artifactstore, logstore
from deployments import repository as deployments
from deployments.errors import InvalidTransition
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.dynamo import now
from infra.core.logs import request_id
from infra.core.resources import (
    BUCKETS,
    LOGS,
    PRODUCTION_STAGE,
    TABLES,
    log_key,
)
from projects import repository as projects
from staff.models import AuditEntry, Outcome
from tests import iam
from tests.factories import PUSH
from tests.iam import Call, Grant, Role

pytestmark = pytest.mark.django_db

S = DeploymentStatus
TENANT = "tenant-iam"
REASON = "IAM recording: ticket 4711"

CONSOLE = Role("console", "iam-console-policy.json", "Console")
WRITERS = Role("platform writers", "iam-writers-policy.json", "Writers")
PROVISION = Role("provisioning", "iam-provision-policy.json", "Provision")
MAINTENANCE = Role("reconcile and recount", "iam-maintenance-policy.json", "Maintenance")
TEARDOWN = Role("teardown", "iam-teardown-policy.json", "Teardown", stage="*", objects="bucket")
ROLES = (CONSOLE, WRITERS, PROVISION, MAINTENANCE, TEARDOWN)


@pytest.fixture
def recorder(mocked_aws: None) -> Iterator[iam.Recorder]:
    with iam.recording() as recorder:
        yield recorder


def check_policy(role: Role, calls: list[Call]) -> None:
    """The role's policy file equals the policy its recorded calls need (or is written so)."""
    assert calls, f"no AWS call was recorded for the {role.name} role"
    needed = iam.role_grants(role, calls)
    if os.environ.get("ANCHOR_WRITE_IAM") == "1":
        role.path.write_text(iam.render(iam.expected_policy(role, needed)))
    problems = iam.differences(role, needed)
    if problems:
        pytest.fail(problems, pytrace=False)


# --- the console: every dashboard page and staff action ------------------------------------


def dashboard_url_names() -> set[str]:
    """Every admin URL whose view is the console's own (not Django's admin's), by name."""
    admin_patterns = next(
        p for p in get_resolver().url_patterns if getattr(p, "app_name", None) == "admin"
    )
    return {
        f"admin:{p.name}"
        for p in admin_patterns.url_patterns
        if isinstance(p, URLPattern) and p.name and not p.callback.__module__.startswith("django.")
    }


class Visits:
    """A superuser's test client that notes the URL name of every request and checks its answer."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.names: set[str] = set()

    def get(self, path: str, expected: tuple[int, ...] = (200,), **data: Any) -> Any:
        response = self.client.get(path, data)
        return self._checked("GET", path, response, expected)

    def post(self, path: str, data: dict[str, Any], expected: tuple[int, ...] = (302,)) -> Any:
        response = self.client.post(path, data)
        return self._checked("POST", path, response, expected)

    def _checked(self, method: str, path: str, response: Any, expected: tuple[int, ...]) -> Any:
        match = resolve(path)
        self.names.add(f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name)
        if response.streaming:
            b"".join(response.streaming_content)
        assert response.status_code in expected, (method, path, response.status_code)
        return response


def make(project_id: str, status: S, *, started_ago: timedelta | None = None) -> DeploymentSchema:
    deployment = deployments.create_deployment(TENANT, project_id, PUSH)
    if status is S.QUEUED:
        return deployment
    deployments.update_deployment_status(deployment.deployment_id, S.BUILDING)
    if started_ago is not None:
        deployments.update_deployment(deployment.deployment_id, started_at=now() - started_ago)
    if status is S.BUILDING:
        return deployments.get_deployment(TENANT, deployment.deployment_id)
    return deployments.update_deployment_status(
        deployment.deployment_id,
        status,
        error="npm ERR! build failed" if status is S.ERROR else None,
    )


def make_racing(recorder: iam.Recorder, project_id: str) -> DeploymentSchema:
    with recorder.paused():
        return make(project_id, S.BUILDING)


@contextmanager
def orchestrator_finishes_first(recorder: iam.Recorder, racing: DeploymentSchema) -> Iterator[None]:
    """Just before the next TransactWriteItems, the orchestrator moves `racing` to ready (its
    calls are the writers', so they are left out of the recording)."""
    done: list[bool] = []

    def finish(**_: Any) -> None:
        if not done:
            done.append(True)
            # The orchestrator is another process: its unscoped look-up is not the request's.
            outside_the_request = request_id.set(None)
            try:
                with recorder.paused():
                    deployments.update_deployment_status(racing.deployment_id, S.READY)
            finally:
                request_id.reset(outside_the_request)

    events = aws.dynamodb().meta.events
    events.register("before-call.dynamodb.TransactWriteItems", finish, unique_id="iam-race")
    try:
        yield
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="iam-race")
    assert done, "the race was run"


def url(name: str, *args: str) -> str:
    return reverse(f"admin:{name}", args=args)


def deployment_url(page: str, deployment: DeploymentSchema) -> str:
    return url(f"deployments_deployment_{page}", TENANT, deployment.deployment_id)


def test_the_console_policy_is_what_its_pages_and_staff_actions_call(recorder, aws_stage_built):
    project = projects.create_project(
        TENANT, {"name": "storefront", "repo_url": "https://github.com/a/storefront"}
    )
    ready = make(project.project_id, S.READY)
    logstore.put_build_log(ready, "\x1b[32mbuilding\x1b[0m\nnpm ERR! flaky\ndone\n" * 50)
    artifactstore.put_artifact(ready, "site.tar.gz", b"artifact bytes")
    failed = make(project.project_id, S.ERROR)
    logstore.put_build_log(failed, "npm ERR! build failed\n")
    archived = make(project.project_id, S.READY)
    aws.s3().put_object(
        Bucket=LOGS.name(),
        Key=log_key(project.project_id, archived.deployment_id),
        Body=b"npm ERR! old failure\n",
        StorageClass="GLACIER",
    )
    queued = make(project.project_id, S.QUEUED)
    stuck = make(project.project_id, S.BUILDING, started_ago=timedelta(hours=3))
    call_command("reconcile", "--stage", aws_stage_built, stdout=StringIO())  # a stored report
    admin = User.objects.create_superuser("iam-admin", "iam@example.com", "x" * 20)
    client = Client()
    client.force_login(admin)
    visits = Visits(client)

    with recorder.capturing() as calls:
        visits.get("/healthz")
        visits.get("/readyz")
        visits.get(reverse("admin:index"))
        for q in (TENANT, project.project_id, ready.deployment_id, PUSH["commit_sha"][:8], "store"):
            visits.get(url("find"), (200, 302), q=q)
        visits.get(url("tenant_detail", TENANT))
        visits.get(url("projects_project_detail", TENANT, project.project_id))
        visits.get(url("projects_project_detail", TENANT, project.project_id), status="ready")
        edit = url("projects_project_edit", TENANT, project.project_id)
        visits.get(edit)
        visits.post(
            edit,
            {
                "name": "shopfront",
                "repo_url": project.repo_url,
                "branch": project.branch,
                "expected_version": project.version,
                "reason": REASON,
            },
        )
        for deployment in (ready, failed, archived, queued, stuck):
            visits.get(deployment_url("detail", deployment))
        visits.get(deployment_url("log", ready), (302,))
        visits.get(deployment_url("log_view", ready))
        for query in ({"q": "flaky"}, {"error": "1"}, {"goto": "20"}, {"last": "1"}):
            visits.get(deployment_url("log_view", ready), (200, 302), **query)
        visits.get(deployment_url("log_tail", ready), offset="0")
        for page, deployment in (
            ("cancel", queued),
            ("fail", stuck),
            ("redeploy", ready),
            ("restore_log", archived),
        ):
            visits.get(deployment_url(page, deployment))
            form = visits.client.get(deployment_url(page, deployment)).content.decode()
            key = re.search(r'name="request_key" value="([^"]+)"', form)
            data = {"reason": REASON, **({"request_key": key.group(1)} if key else {})}
            visits.post(deployment_url(page, deployment), data)
        # A double click on "Redeploy": the second POST, same key, finds the first one's.
        form = visits.client.get(deployment_url("redeploy", failed)).content.decode()
        key = re.search(r'name="request_key" value="([^"]+)"', form)
        assert key, "the redeploy form carries its request key"
        for _ in range(2):
            visits.post(
                deployment_url("redeploy", failed), {"reason": REASON, "request_key": key[1]}
            )
        # Staff cancel while the build system finishes the build (the page's answer: "it is
        # ready now"), the race every staff action's transaction is written for.
        racing = make_racing(recorder, project.project_id)
        with orchestrator_finishes_first(recorder, racing):
            visits.post(deployment_url("cancel", racing), {"reason": REASON})
        with recorder.paused():
            assert deployments.get_deployment(TENANT, racing.deployment_id).status is S.READY
        # The sweeper (`manage.py resolve_pending_audit`, run with the console's credentials)
        # looks up every kind of action's trace: receipts, request guards, restored logs.
        with recorder.paused():
            actions = AuditEntry.objects.exclude(request_key=None)
            assert actions.update(outcome=Outcome.PENDING) >= 5, (
                "edit, cancel, fail, redeploy, restore"
            )

        call_command("resolve_pending_audit", "--older-than", "0", stdout=StringIO())
        with recorder.paused():
            assert not AuditEntry.objects.filter(outcome=Outcome.PENDING).exists()
        visits.get(url("attention"))
        visits.get(url("attention"), kind="stuck")
        visits.get(url("audit"))
        visits.get(url("audit_export"))
        visits.get(url("tenant_export", TENANT))
        visits.get(url("tenant_export", TENANT), format="csv")
        # The admin's "view on site" (a Django database look-up only; none of its models has a
        # public page, so a 404).
        visits.get(url("view_on_site", "1", "1"), (404,))
        visits.get(url("login"), (200, 302))
        visits.post(url("logout"), {}, (200, 302))

    unvisited = dashboard_url_names() - visits.names
    assert not unvisited, f"pages the recording does not visit yet: {sorted(unvisited)}"
    check_policy(CONSOLE, calls)
    # The console never creates, deletes or reconfigures a table or a bucket.
    assert not {c.operation for c in calls if c.operation.startswith(("Create", "Delete"))}


@pytest.fixture
def aws_stage_built(recorder: iam.Recorder) -> str:
    """The settings' stage, provisioned by the real command (tags, lifecycle...), unrecorded."""
    from django.conf import settings

    call_command("provision", "--stage", settings.ANCHOR_STAGE, stdout=StringIO())
    return settings.ANCHOR_STAGE


@contextmanager
def small_query_pages() -> Iterator[None]:
    """Queries answer one item per page (as a large partition's 1 MB pages would)."""

    def limit(params: dict[str, Any], **_: Any) -> None:
        params["Limit"] = 1

    events = aws.dynamodb().meta.events
    events.register("before-parameter-build.dynamodb.Query", limit, unique_id="iam-small-pages")
    try:
        yield
    finally:
        events.unregister("before-parameter-build.dynamodb.Query", unique_id="iam-small-pages")


# --- the platform's writers: the orchestrator-side functions ---------------------------------


def test_the_writers_policy_is_what_the_orchestrator_side_functions_call(recorder, aws_stage_built):
    with recorder.capturing() as calls:
        project = projects.create_project(
            TENANT, {"name": "storefront", "repo_url": "https://github.com/a/storefront"}
        )
        deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
        deployments.update_deployment_status(deployment.deployment_id, S.BUILDING)
        deployments.update_deployment(deployment.deployment_id, build_id="bld_1")
        logstore.put_build_log(deployment, "step 1\nstep 2\n")
        artifactstore.put_artifact(deployment, "site.tar.gz", b"bytes")
        done = deployments.update_deployment_status(deployment.deployment_id, S.READY)
        # The bulk path (migrations, seed): a project and its history as given.
        moved = project.model_copy(update={"project_id": projects.new_project_id()})
        projects.import_project(moved)
        history = [
            done.model_copy(
                update={
                    "deployment_id": deployments.new_deployment_id(),
                    "project_id": moved.project_id,
                    "created_at": done.created_at - timedelta(days=days),
                }
            )
            for days in range(1, 13)
        ]
        assert deployments.import_deployments(TENANT, moved.project_id, history) == 12
        # The orchestrator's retry of a transition that already happened is refused, after a
        # consistent read of the item (an index read may lag).
        with pytest.raises(InvalidTransition):
            deployments.update_deployment_status(done.deployment_id, S.READY)
        # Two more around that history: on AWS a range of many stored items comes back in
        # pages (1 MB each, DynamoDB Developer Guide "Paginating table query results") and the
        # import then looks its keys up with BatchGetItem; small pages here take that path.
        around = [
            history[0].model_copy(
                update={
                    "deployment_id": deployments.new_deployment_id(),
                    "created_at": history[0].created_at + timedelta(hours=hours),
                }
            )
            for hours in (1, -24 * 13)
        ]
        with small_query_pages():
            assert deployments.import_deployments(TENANT, moved.project_id, around) == 2

    assert "BatchGetItem" in {c.operation for c in calls}
    check_policy(WRITERS, calls)


# --- provisioning: apply (creating and repairing), --check, --dry-run -------------------------


def drifted_production_stage(which: int) -> None:
    """Production as a careless hand half made it: table `which` without its tags, protection,
    recovery and last index, billed PROVISIONED; bucket `which` bare with versioning on; the
    other table and bucket missing."""
    dynamodb, s3 = aws.admin_dynamodb(), aws.admin_s3()
    table = TABLES[which]
    kwargs = table.create_kwargs(PRODUCTION_STAGE, tags=False)
    kwargs["GlobalSecondaryIndexes"] = kwargs["GlobalSecondaryIndexes"][:-1]
    kwargs["AttributeDefinitions"] = table.attribute_definitions(indexes=table.indexes[:-1])
    kwargs["DeletionProtectionEnabled"] = False
    kwargs["BillingMode"] = "PROVISIONED"
    kwargs["ProvisionedThroughput"] = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    if not kwargs["GlobalSecondaryIndexes"]:
        del kwargs["GlobalSecondaryIndexes"]
    dynamodb.create_table(**kwargs)
    name = BUCKETS[which].name(PRODUCTION_STAGE)
    s3.create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": s3.meta.region_name}
    )
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def remove_production_stage() -> None:
    dynamodb, s3 = aws.admin_dynamodb(), aws.admin_s3()
    for table in TABLES:
        dynamodb.update_table(
            TableName=table.name(PRODUCTION_STAGE), DeletionProtectionEnabled=False
        )
        dynamodb.delete_table(TableName=table.name(PRODUCTION_STAGE))
    for bucket in BUCKETS:
        s3.delete_bucket(Bucket=bucket.name(PRODUCTION_STAGE))


def test_the_provisioning_policy_is_what_provision_check_and_dry_run_call(recorder):
    calls: list[Call] = []
    # Each table and bucket once repaired and once created: the policy covers both paths on both.
    for which in (0, 1):
        drifted_production_stage(which)
        with recorder.capturing() as run:
            for mode in ("--dry-run", "--check"):
                try:
                    call_command("provision", "--stage", PRODUCTION_STAGE, mode, stdout=StringIO())
                except CommandError as drift:
                    assert drift.returncode == 2, drift  # --check: the stage differs
            call_command("provision", "--stage", PRODUCTION_STAGE, stdout=StringIO())
            call_command("provision", "--stage", PRODUCTION_STAGE, "--check", stdout=StringIO())
        calls += run
        remove_production_stage()

    made = {c.operation for c in calls}
    assert {"CreateTable", "UpdateTable", "TagResource", "UpdateContinuousBackups"} <= made
    assert {"CreateBucket", "PutPublicAccessBlock", "PutBucketVersioning"} <= made
    check_policy(PROVISION, calls)


# --- reconcile and recount -------------------------------------------------------------------


def test_the_maintenance_policy_is_what_reconcile_and_recount_call(recorder, aws_stage_built):
    project = projects.create_project(
        TENANT, {"name": "storefront", "repo_url": "https://github.com/a/storefront"}
    )
    ready = make(project.project_id, S.READY)
    logstore.put_build_log(ready, "done\n")
    artifactstore.put_artifact(ready, "site.tar.gz", b"bytes")
    make(project.project_id, S.ERROR)  # a final deployment without a log: a finding
    aws.s3().put_object(Bucket=LOGS.name(), Key="logs/prj_gone/dpl_gone/build.log", Body=b"x")

    with recorder.capturing() as calls:
        for args in ((), ("--project", project.project_id), ("--json",)):
            try:
                call_command("reconcile", "--stage", aws_stage_built, *args, stdout=StringIO())
            except CommandError as findings:
                assert findings.returncode == 2, findings
        call_command("recount_deployments", "--force", stdout=StringIO())
        call_command("recount_deployments", "--project", project.project_id, stdout=StringIO())

    check_policy(MAINTENANCE, calls)


# --- teardown: any stage but production ------------------------------------------------------


def test_the_teardown_policy_is_what_teardown_calls_and_refuses_production(recorder):
    call_command("provision", "--stage", "staging", stdout=StringIO())
    s3 = aws.s3()
    for bucket in BUCKETS:
        name = bucket.name("staging")
        s3.put_object(Bucket=name, Key=f"{bucket.prefix}prj_a/dpl_a/x", Body=b"x")
        s3.create_multipart_upload(Bucket=name, Key=f"{bucket.prefix}prj_a/dpl_a/big")

    with recorder.capturing() as calls:
        call_command("teardown", "--stage", "staging", "--yes", stdout=StringIO())

    check_policy(TEARDOWN, calls)
    policy = iam.load(TEARDOWN)
    for call in calls:
        for grant in call.grants:
            # Allowed on the stage torn down, refused on the same resource of production.
            staging = iam.as_deployed(grant.resource)
            assert iam.is_allowed(policy, grant.action, staging, {"stage": "staging"}), staging
            production = staging.replace("-staging-", f"-{PRODUCTION_STAGE}-")
            assert not iam.is_allowed(
                policy, grant.action, production, {"stage": PRODUCTION_STAGE}
            ), (grant.action, production)


# --- every policy: parliament, and the recording itself --------------------------------------


# The findings accepted, with their reason. parliament notes that a role allowed to set a
# bucket's lifecycle rules (or its bucket policy) without s3:DeleteObject could use them to remove
# objects it may not delete: setting those rules (the artifacts expire after 90 days) and the
# bucket policy is exactly provisioning's job, and granting it DeleteObject too would add a
# permission it never uses. (parliament's own `ignore_locations` setting cannot say this: in
# 1.6.4 its YAML lists never match, as misc.make_list wants jsoncfg nodes.) No other role and no
# other finding is excused.
ACCEPTED = {
    ("iam-provision-policy.json", "RESOURCE_POLICY_PRIVILEGE_ESCALATION", "s3:" + action)
    for action in ("PutLifecycleConfiguration", "PutBucketPolicy")
}


def parliament_findings(file: str, policy: dict[str, Any]) -> list[str]:
    """What parliament's default auditors (as its command runs them) report on the policy, with
    a well-formed account id and bucket suffix in place of the placeholders; less ACCEPTED."""
    from parliament import analyze_policy_string, enhance_finding
    from parliament.cli import is_finding_filtered

    analyzed = analyze_policy_string(iam.with_placeholders_filled(policy), filepath=file)
    return [
        f"{finding.severity} {finding.issue}: {finding.detail}"
        for finding in map(enhance_finding, analyzed.findings)
        if not is_finding_filtered(finding)
        and not any(
            (file, finding.issue) == (accepted_file, issue)
            and str(finding.detail).endswith(f"allow {action}")
            for accepted_file, issue, action in ACCEPTED
        )
    ]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.file)
def test_parliament_reports_nothing_on_the_policy(role: Role) -> None:
    findings = parliament_findings(role.file, iam.load(role))

    assert findings == [], f"parliament on deploy/{role.file}:\n" + "\n".join(findings)


def test_parliament_would_see_a_wrong_action_or_a_lifecycle_grant_outside_provisioning():
    def console_with(action: str) -> list[str]:
        policy = iam.load(CONSOLE)
        buckets = next(s for s in policy["Statement"] if s["Sid"] == "ConsoleBuckets")
        buckets["Action"] = [*buckets["Action"], action]
        return parliament_findings(CONSOLE.file, policy)

    # HeadObject is an API call, not an IAM action (it needs s3:GetObject).
    assert "UNKNOWN_ACTION" in " ".join(console_with("s3:HeadObject"))
    # Only provisioning is excused for setting lifecycle rules without deleting objects.
    assert "RESOURCE_POLICY_PRIVILEGE_ESCALATION" in " ".join(
        console_with("s3:PutLifecycleConfiguration")
    )


def test_the_recorder_sees_presigned_links_paginators_and_waiters(recorder, aws_stage_built):
    with recorder.capturing() as calls:
        aws.s3().generate_presigned_url(
            "get_object", Params={"Bucket": LOGS.name(), "Key": "logs/a/b/build.log"}
        )
        list(aws.s3().get_paginator("list_objects_v2").paginate(Bucket=LOGS.name()))
        aws.admin_s3().get_waiter("bucket_exists").wait(Bucket=LOGS.name())

    assert [(c.operation, c.grants) for c in calls] == [
        ("GetObject", (Grant("s3:GetObject", f"arn:aws:s3:::{LOGS.name()}/logs/a/b/build.log"),)),
        ("ListObjectsV2", (Grant("s3:ListBucket", f"arn:aws:s3:::{LOGS.name()}"),)),
        ("HeadBucket", (Grant("s3:ListBucket", f"arn:aws:s3:::{LOGS.name()}"),)),
    ]


def test_a_policy_that_differs_says_what_to_add_and_remove():
    role = Role("example", "iam-console-policy.json", "Console")
    needed = iam.allowed_grants(iam.load(role))
    extra = Grant("dynamodb:Scan", iam.table_arn("anchor-deploy-production-projects"))
    dropped = sorted(needed)[0]

    message = iam.differences(role, (needed | {extra}) - {dropped})

    assert f"  add    dynamodb:Scan on {extra.resource}" in message
    assert f"  remove {dropped.action} on {dropped.resource}" in message
    expected = json.loads(message.split("write it):\n", 1)[1])
    assert extra in iam.allowed_grants(expected)
    assert dropped not in iam.allowed_grants(expected)


def test_no_policy_grants_a_wildcard_action_or_an_unscoped_resource():
    for role in ROLES:
        for statement in iam.load(role)["Statement"]:
            for action in statement["Action"]:
                assert "*" not in action, (role.file, action)
            for resource in statement["Resource"]:
                assert resource.startswith(
                    (
                        "arn:aws:dynamodb:ap-southeast-1:ACCOUNT_ID:table/anchor-deploy-",
                        "arn:aws:s3:::anchor-deploy-",
                    )
                ), (role.file, resource)
