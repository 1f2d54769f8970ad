"""deploy/iam-policy.json (the console) and deploy/iam-provision-policy.json (provision and
teardown) grant exactly the DynamoDB and S3 actions the code calls, on exactly the stage's
tables, indexes and buckets: nothing missing, nothing extra.

The calls are read from the source: every client method called (or handed on, as the readiness
probes do), every paginator, waiter and presigned operation, and the item kinds of a
TransactWriteItems. Each operation maps to the IAM action AWS checks for it.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import boto3
import pytest

from infra.core.resources import BUCKETS, LOGS, PRODUCTION_STAGE, RECONCILE_PREFIX, TABLES

PROJECT_DIR = Path(__file__).resolve().parents[2]
ACCOUNT, SUFFIX, REGION = "ACCOUNT_ID", "SUFFIX", "ap-southeast-1"
# The console: the web app, the support shell and the orchestrator-side repository calls.
CONSOLE_CODE = ["projects", "deployments", "staff", "anchor_site", "infra/core"]
# Operator commands run with the provisioning role: provision, teardown, and the recount of the
# derived data (its Scan of the projects table has no place in the console's role).
MAINTENANCE_CODE = [
    "deployments/maintenance.py",
    "deployments/management/commands/recount_deployments.py",
    # ... and `manage.py reconcile` (a Scan of the projects, S3 listings, its stored reports).
    "deployments/reconcile.py",
    "deployments/management/commands/reconcile.py",
]
# ... and the repository functions the recount calls (finding a project, marking it complete).
MAINTENANCE_USES = ["projects/repository.py"]
PROVISIONING_CODE = ["infra/provisioning", *MAINTENANCE_CODE, *MAINTENANCE_USES]

# Operations whose IAM action is not simply service:OperationName, and the resource kind each
# applies to ("table" for a table and, for Query, its indexes too).
S3_ACTIONS = {
    "HeadObject": ["s3:GetObject"],
    "HeadBucket": ["s3:ListBucket"],
    "ListObjectsV2": ["s3:ListBucket"],
    "ListObjectVersions": ["s3:ListBucketVersions"],
    "ListMultipartUploads": ["s3:ListBucketMultipartUploads"],
    "DeleteObjects": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
    "PutBucketEncryption": ["s3:PutEncryptionConfiguration"],
    "GetBucketEncryption": ["s3:GetEncryptionConfiguration"],
    "PutBucketLifecycleConfiguration": ["s3:PutLifecycleConfiguration"],
    "GetBucketLifecycleConfiguration": ["s3:GetLifecycleConfiguration"],
    "PutPublicAccessBlock": ["s3:PutBucketPublicAccessBlock"],
    "GetPublicAccessBlock": ["s3:GetBucketPublicAccessBlock"],
}
OBJECT_ACTIONS = {
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:AbortMultipartUpload",
    "s3:RestoreObject",
}
TRANSACT_ITEMS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def _clients():
    return {
        "dynamodb": boto3.client("dynamodb", region_name=REGION),
        "s3": boto3.client("s3", region_name=REGION),
    }


def operations_called(folders: list[str]) -> set[tuple[str, str]]:
    """(service, OperationName) of every AWS call in the Python files under `folders`."""
    clients = _clients()
    methods = {
        name: (service, op)
        for service, client in clients.items()
        for name, op in client.meta.method_to_api_mapping.items()
    }
    found: set[tuple[str, str]] = set()
    excluded = set() if folders is PROVISIONING_CODE else set(MAINTENANCE_CODE)
    for folder in folders:
        root = PROJECT_DIR / folder
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            if "migrations" in path.parts or str(path.relative_to(PROJECT_DIR)) in excluded:
                continue
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                found |= _operations_of(node, methods, clients)
    return found


def _operations_of(node: ast.AST, methods: dict, clients: dict) -> set[tuple[str, str]]:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        name = node.func.attr
        if name in methods:
            return {methods[name]}
        if name in {"get_paginator", "get_waiter", "generate_presigned_url"} and node.args:
            argument = node.args[0]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                return _helper_operation(name, argument.value, clients)
    # A client method handed on uncalled (`pool.submit(dynamodb.describe_table, ...)`).
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in clients
        and node.attr in methods
    ):
        return {methods[node.attr]}
    # The items of a TransactWriteItems: {"Put": {...}}, {"Update": {...}}, ...
    if isinstance(node, ast.Dict):
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        # ... but not an UpdateTable index change ({"Delete": {"IndexName": ...}}).
        if any(
            isinstance(v, ast.Dict)
            and any(isinstance(k, ast.Constant) and k.value == "IndexName" for k in v.keys)
            for v in node.values
        ):
            return set()
        return {("dynamodb", TRANSACT_ITEMS[k]) for k in keys & set(TRANSACT_ITEMS)}
    return set()


def _helper_operation(helper: str, name: str, clients: dict) -> set[tuple[str, str]]:
    found = set()
    for service, client in clients.items():
        if helper == "get_waiter":
            if name in client.waiter_names:
                found.add((service, client.get_waiter(name).config.operation))
        elif name in client.meta.method_to_api_mapping:  # a paginated or presigned operation
            found.add((service, client.meta.method_to_api_mapping[name]))
    return found


def required_grants(operations: set[tuple[str, str]], objects: list[str]) -> set[tuple[str, str]]:
    """(IAM action, resource ARN) pairs the operations need on the production stage."""
    grants = set()
    for service, operation in operations:
        if service == "dynamodb":
            if operation == "TransactWriteItems":
                continue  # authorized item by item (TRANSACT_ITEMS)
            for table in TABLES:
                grants.add((f"dynamodb:{operation}", table_arn(table)))
                if operation in {"Query", "Scan"}:
                    grants |= {(f"dynamodb:{operation}", arn) for arn in index_arns(table)}
            continue
        for action in S3_ACTIONS.get(operation, [f"s3:{operation}"]):
            targets = objects if action in OBJECT_ACTIONS else bucket_arns()
            grants |= {(action, arn) for arn in targets}
    return grants


def table_arn(table) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table.name(PRODUCTION_STAGE)}"


def index_arns(table) -> list[str]:
    return [f"{table_arn(table)}/index/{index.name}" for index in table.indexes]


def bucket_arns() -> list[str]:
    return [f"arn:aws:s3:::{bucket.name(PRODUCTION_STAGE, SUFFIX)}" for bucket in BUCKETS]


def granted(policy_file: str) -> set[tuple[str, str]]:
    policy = json.loads((PROJECT_DIR / "deploy" / policy_file).read_text())
    assert policy["Version"] == "2012-10-17"
    grants = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and set(statement) == {
            "Sid",
            "Effect",
            "Action",
            "Resource",
        }
        grants |= {(a, r) for a in statement["Action"] for r in statement["Resource"]}
    return grants


POLICIES = {
    "iam-policy.json": (
        CONSOLE_CODE,
        # The console touches objects only under each bucket's declared prefix.
        [f"{arn}/{bucket.prefix}*" for arn, bucket in zip(bucket_arns(), BUCKETS, strict=True)],
    ),
    "iam-provision-policy.json": (PROVISIONING_CODE, [f"{arn}/*" for arn in bucket_arns()]),
}


# Beyond its prefixes, the console only reads the reports `manage.py reconcile` stores.
READ_ONLY_OBJECTS = {
    "iam-policy.json": {
        ("s3:GetObject", f"arn:aws:s3:::{LOGS.name(PRODUCTION_STAGE, SUFFIX)}/{RECONCILE_PREFIX}*")
    },
    "iam-provision-policy.json": set(),
}


@pytest.mark.parametrize("policy_file", POLICIES)
def test_the_policy_grants_exactly_what_the_code_calls(policy_file):
    folders, objects = POLICIES[policy_file]
    needed = required_grants(operations_called(folders), objects) | READ_ONLY_OBJECTS[policy_file]

    grants = granted(policy_file)

    assert needed - grants == set(), "the code calls what the policy does not allow"
    assert grants - needed == set(), "the policy allows what the code never calls"


def test_the_scan_sees_the_calls_it_must():
    console = operations_called(CONSOLE_CODE)
    # The readiness probes, the repositories' reads and writes, presigned log links.
    assert {("dynamodb", "DescribeTable"), ("s3", "HeadBucket")} <= console
    assert {("dynamodb", "Query"), ("dynamodb", "UpdateItem"), ("s3", "GetObject")} <= console
    provisioning = operations_called(PROVISIONING_CODE)
    assert {("dynamodb", "CreateTable"), ("s3", "DeleteBucket")} <= provisioning
    # The console cannot create, change or delete a table or a bucket.
    assert not {op for _, op in console if op.startswith(("Create", "Delete"))}


def test_no_wildcard_actions_and_no_account_wide_resources():
    for policy_file in POLICIES:
        for action, resource in granted(policy_file):
            assert "*" not in action
            assert resource.startswith(("arn:aws:dynamodb:", "arn:aws:s3:::anchor-deploy-"))
            assert "*" not in resource or resource.endswith("/*")
