"""Each role's IAM policy from the AWS calls its entry points make: a recorder on the clients of
infra.core.aws, the IAM action and resource ARN of each call, the policy those grants make, and
the difference between a policy file under deploy/ and what was recorded.

Policy files hold two placeholders an operator replaces: ACCOUNT_ID (the AWS account) and
SUFFIX (ANCHOR_BUCKET_SUFFIX; with no suffix, `-SUFFIX` is removed from the bucket names).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from infra.core import aws
from infra.core.resources import APP_NAME, BUCKETS, PRODUCTION_STAGE, TABLES

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
REGION = "ap-southeast-1"
ACCOUNT, SUFFIX = "ACCOUNT_ID", "SUFFIX"
# What parliament is run with in place of the placeholders (a well-formed 12-digit account).
PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_SUFFIX = "example"

# S3 operations whose IAM action is not s3:{operation} (Service Authorization Reference,
# "Actions defined by Amazon S3", and the S3 API reference's "Permissions" of each operation).
S3_ACTIONS = {
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "ListBuckets": "s3:ListAllMyBuckets",
    "HeadObject": "s3:GetObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "DeleteBucketTagging": "s3:PutBucketTagging",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
}
# DynamoDB batch and transaction items are authorized one by one, on their own tables (DynamoDB
# Developer Guide, "Using IAM policy conditions": TransactWriteItems needs the item's action).
TRANSACT_ITEM_ACTIONS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Get": "dynamodb:GetItem",
}


@dataclass(frozen=True, order=True)
class Grant:
    """One IAM action on one resource ARN (or ARN pattern)."""

    action: str
    resource: str


@dataclass(frozen=True)
class Call:
    """One recorded AWS call: its operation and the grants IAM checks for it."""

    service: str
    operation: str
    grants: tuple[Grant, ...]


def table_arn(name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:dynamodb:{REGION}:{account}:table/{name}"


def grants_of(service: str, operation: str, params: dict[str, Any]) -> list[Grant]:
    """The (IAM action, resource ARN) pairs AWS checks for one call with these parameters."""
    if service == "dynamodb":
        return _dynamodb_grants(operation, params)
    if service == "s3":
        return _s3_grants(operation, params)
    raise AssertionError(f"only DynamoDB and S3 are called (DESIGN.md), not {service}:{operation}")


def _dynamodb_grants(operation: str, params: dict[str, Any]) -> list[Grant]:
    if operation in {"TransactWriteItems", "TransactGetItems"}:
        return [
            Grant(TRANSACT_ITEM_ACTIONS[kind], table_arn(spec["TableName"]))
            for item in params.get("TransactItems", [])
            for kind, spec in item.items()
        ]
    action = f"dynamodb:{operation}"
    if operation in {"BatchGetItem", "BatchWriteItem"}:
        return [Grant(action, table_arn(name)) for name in params.get("RequestItems", {})]
    if operation == "ListTables":
        return [Grant(action, "*")]
    if "ResourceArn" in params:  # TagResource, ListTagsOfResource: the ARN moto answered with
        return [Grant(action, table_arn(str(params["ResourceArn"]).split(":table/", 1)[1]))]
    arn = table_arn(params["TableName"])
    if params.get("IndexName"):  # Query and Scan of an index are authorized on the index
        arn = f"{arn}/index/{params['IndexName']}"
    return [Grant(action, arn)]


def _s3_grants(operation: str, params: dict[str, Any]) -> list[Grant]:
    bucket = f"arn:aws:s3:::{params['Bucket']}" if "Bucket" in params else "*"
    if operation == "DeleteObjects":
        return [
            Grant(
                "s3:DeleteObjectVersion" if item.get("VersionId") else "s3:DeleteObject",
                f"{bucket}/{item['Key']}",
            )
            for item in params["Delete"]["Objects"]
        ]
    action = S3_ACTIONS.get(operation, f"s3:{operation}")
    if "Key" in params:
        if params.get("VersionId") and action in {"s3:GetObject", "s3:DeleteObject"}:
            action += "Version"
        return [Grant(action, f"{bucket}/{params['Key']}")]
    return [Grant(action, bucket)]


@dataclass
class Recorder:
    """Every DynamoDB and S3 call made by the clients infra.core.aws makes, while `on`."""

    calls: list[Call] = field(default_factory=list)
    on: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.on:
            return
        service = model.service_model.service_name
        call = Call(service, model.name, tuple(grants_of(service, model.name, params)))
        with self.lock:
            self.calls.append(call)

    @contextmanager
    def capturing(self) -> Iterator[list[Call]]:
        """Record the calls made inside the block (and only those); yields them."""
        start = len(self.calls)
        self.on = True
        captured: list[Call] = []
        try:
            yield captured
        finally:
            self.on = False
            captured.extend(self.calls[start:])

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Leave out the calls made inside the block (another role's, made meanwhile)."""
        was, self.on = self.on, False
        try:
            yield
        finally:
            self.on = was


@contextmanager
def recording() -> Iterator[Recorder]:
    """A Recorder on every client infra.core.aws makes from now on (request-path, patient
    provisioning and readiness-probe clients alike): the hook sits on their one session, whose
    handlers each new client copies. `before-parameter-build` fires for API calls, paginators,
    waiters and presigned links alike."""
    recorder = Recorder()
    aws.reset_clients()
    events = aws._session().events
    events.register("before-parameter-build", recorder.record, unique_id="anchor-iam-recorder")
    try:
        yield recorder
    finally:
        events.unregister("before-parameter-build", unique_id="anchor-iam-recorder")
        aws.reset_clients()


# --- from recorded grants to a role's policy ----------------------------------------------------


@dataclass(frozen=True)
class Role:
    """One IAM role: its policy file and how recorded resources become its policy's resources.

    `stage` is the stage the policy is written for ("production"), or "*" for a role allowed on
    every stage but production (which it then denies explicitly). `objects` is "prefix" (an
    object grant covers the first folder of its key: logs/*) or "bucket" (the whole bucket).
    """

    name: str
    file: str
    sid: str
    stage: str = PRODUCTION_STAGE
    objects: str = "prefix"

    @property
    def path(self) -> Path:
        return DEPLOY / self.file

    @property
    def non_production_only(self) -> bool:
        return self.stage == "*"


def policy_resource(role: Role, arn: str) -> str:
    """A recorded resource ARN as the role's policy names it: the production (or any) stage's
    table or bucket, with the ACCOUNT_ID and SUFFIX placeholders; objects by folder or bucket."""
    if arn == "*":
        return arn
    for concrete, generic in _names(role):
        if arn.startswith("arn:aws:dynamodb:"):
            prefix = table_arn(concrete)
            if arn == prefix or arn.startswith(prefix + "/"):
                return table_arn(generic) + arn[len(prefix) :]
        else:
            prefix = f"arn:aws:s3:::{concrete}"
            if arn == prefix:
                return f"arn:aws:s3:::{generic}"
            if arn.startswith(prefix + "/"):
                key = arn[len(prefix) + 1 :]
                folder = key.split("/", 1)[0] + "/" if "/" in key else ""
                scope = folder if role.objects == "prefix" else ""
                return f"arn:aws:s3:::{generic}/{scope}*"
    raise AssertionError(f"{role.name}: {arn} is none of the declared tables and buckets")


def _names(role: Role) -> Iterator[tuple[str, str]]:
    """(concrete name, the policy's name) of every declared table and bucket of the stages the
    recorded runs use: the settings' stage, production and RECORDED_STAGES."""
    for stage in _stages():
        for table in TABLES:
            yield table.name(stage), f"{APP_NAME}-{role.stage}-{table.role}"
        for bucket in BUCKETS:
            yield bucket.name(stage), f"{APP_NAME}-{role.stage}-{bucket.role}-{SUFFIX}"


# Stages the recorded runs provision and tear down besides settings.ANCHOR_STAGE and production.
RECORDED_STAGES = ("staging",)


def as_deployed(arn: str) -> str:
    """A recorded ARN as it reads on AWS once the policy's placeholders are filled in: a bucket
    name takes the SUFFIX (the policies name buckets with it)."""
    for bucket in BUCKETS:
        for stage in _stages():
            name = bucket.name(stage)
            if arn == f"arn:aws:s3:::{name}" or arn.startswith(f"arn:aws:s3:::{name}/"):
                return arn.replace(name, f"{name}-{SUFFIX}", 1)
    return arn


def _stages() -> list[str]:
    from django.conf import settings

    return list(dict.fromkeys([settings.ANCHOR_STAGE, PRODUCTION_STAGE, *RECORDED_STAGES]))


def role_grants(role: Role, calls: Iterable[Call]) -> set[Grant]:
    """The grants the role's policy must hold for these calls, in the policy's own terms."""
    return {
        Grant(grant.action, policy_resource(role, grant.resource))
        for call in calls
        for grant in call.grants
    }


def _kind(resource: str) -> str:
    if resource == "*":
        return "AllResources"
    if resource.startswith("arn:aws:dynamodb:"):
        return "Indexes" if "/index/" in resource else "Tables"
    return "Objects" if "/" in resource.split(":::", 1)[1] else "Buckets"


def expected_policy(role: Role, grants: set[Grant]) -> dict[str, Any]:
    """The policy that grants exactly `grants`: one statement per kind of resource and set of
    actions (Sids from the role and the kind), sorted, so regenerating it is deterministic. A
    non-production role's DynamoDB statements carry a stage-tag condition, and a last statement
    denies every one of its actions on the production stage's resources."""
    actions_of: dict[str, set[str]] = defaultdict(set)
    for grant in grants:
        actions_of[grant.resource].add(grant.action)
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for resource, actions in actions_of.items():
        groups[(_kind(resource), tuple(sorted(actions)))].append(resource)
    statements: list[dict[str, Any]] = []
    counts: dict[str, int] = defaultdict(int)
    for kind, _ in groups:
        counts[kind] += 1
    seen: dict[str, int] = defaultdict(int)
    for (kind, actions), resources in sorted(groups.items()):
        seen[kind] += 1
        sid = role.sid + kind + (str(seen[kind]) if counts[kind] > 1 else "")
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Action": list(actions),
            "Resource": sorted(resources),
        }
        if role.non_production_only and kind in {"Tables", "Indexes"}:
            # DynamoDB authorizes table actions on the table's tags (aws:ResourceTag, DynamoDB
            # Developer Guide "Using attribute-based access control"): provision tags every
            # table stage=STAGE, so an adopted production table under another name is refused too.
            statement["Condition"] = {
                "StringNotEquals": {"aws:ResourceTag/stage": PRODUCTION_STAGE}
            }
        statements.append(statement)
    if role.non_production_only and grants:
        statements.append(
            {
                "Sid": role.sid + "NeverProduction",
                "Effect": "Deny",
                "Action": sorted({g.action for g in grants}),
                "Resource": sorted({_production(g.resource) for g in grants if g.resource != "*"}),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _production(resource: str) -> str:
    return resource.replace(f"{APP_NAME}-*-", f"{APP_NAME}-{PRODUCTION_STAGE}-", 1)


def render(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"


# --- reading a policy file and comparing ------------------------------------------------------


def load(role: Role) -> dict[str, Any]:
    return json.loads(role.path.read_text())


def allowed_grants(policy: dict[str, Any]) -> set[Grant]:
    """Every (action, resource) its Allow statements name."""
    return {
        Grant(action, resource)
        for statement in policy["Statement"]
        if statement["Effect"] == "Allow"
        for action in _list(statement["Action"])
        for resource in _list(statement["Resource"])
    }


def _list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def is_allowed(policy: dict[str, Any], action: str, resource: str, tags: dict[str, str]) -> bool:
    """IAM's verdict for one request under this one identity policy (no other policy in play):
    an explicit Deny wins, else some Allow must match. Resources match as IAM's wildcards do
    (`*` any run of characters); conditions: StringEquals / StringNotEquals on aws:ResourceTag."""
    matching = [
        s["Effect"]
        for s in policy["Statement"]
        if action in _list(s["Action"])
        and any(fnmatchcase(resource, pattern) for pattern in _list(s["Resource"]))
        and _condition_holds(s.get("Condition", {}), tags)
    ]
    return "Allow" in matching and "Deny" not in matching


def _condition_holds(condition: dict[str, dict[str, str]], tags: dict[str, str]) -> bool:
    for operator, pairs in condition.items():
        for key, value in pairs.items():
            assert key.startswith("aws:ResourceTag/"), f"unsupported condition key {key}"
            actual = tags.get(key.split("/", 1)[1])
            if operator == "StringEquals" and actual != value:
                return False
            if operator == "StringNotEquals" and actual == value:
                return False
            assert operator in {"StringEquals", "StringNotEquals"}, operator
    return True


def differences(role: Role, needed: set[Grant]) -> str:
    """What to add to and remove from the role's policy file to make it grant exactly `needed`,
    then the whole expected policy; empty when the file already is that policy."""
    expected = expected_policy(role, needed)
    actual = load(role) if role.path.exists() else {"Statement": []}
    if actual == expected:
        return ""
    have = allowed_grants(actual)
    lines = [f"deploy/{role.file} does not grant exactly what the {role.name} role calls:"]
    lines += [f"  add    {g.action} on {g.resource}" for g in sorted(needed - have)]
    lines += [f"  remove {g.action} on {g.resource}" for g in sorted(have - needed)]
    if needed == have:
        lines.append("  (same grants; statements, conditions or order differ)")
    lines.append(
        f"The whole expected deploy/{role.file} (or run the test with ANCHOR_WRITE_IAM=1 to "
        "write it):"
    )
    return "\n".join(lines) + "\n" + render(expected)


def with_placeholders_filled(policy: dict[str, Any]) -> str:
    """The policy as parliament is given it: a well-formed account id and bucket suffix."""
    return (
        json.dumps(policy).replace(ACCOUNT, PLACEHOLDER_ACCOUNT).replace(SUFFIX, PLACEHOLDER_SUFFIX)
    )


def size(policy: dict[str, Any]) -> tuple[int, int, int]:
    """(statements, distinct actions, bytes of the minified JSON IAM counts toward its quota)."""
    statements = policy["Statement"]
    actions = {a for s in statements for a in _list(s["Action"])}
    return len(statements), len(actions), len(json.dumps(policy, separators=(",", ":")))
