"""Comparing declared with live resources: pure functions over the Describe/Get responses."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from infra.core.resources import (
    BUCKET_ENCRYPTION,
    OBJECT_OWNERSHIP,
    PUBLIC_ACCESS_BLOCK,
    Bucket,
    Index,
    Table,
    resource_tags,
)
from infra.provisioning.report import (
    _INDEX_BUSY,
    NOT_DECLARED,
    Difference,
)

# How the plan and --check name the lifecycle's minimum object size and the guard rails.
TRANSITION_MINIMUM_PROPERTY = "lifecycle minimum object size"
POLICY_PROPERTY = "bucket policy"
POLICY_TEXT = "deny requests without TLS (aws:SecureTransport false) on the bucket and its objects"
OWNERSHIP_PROPERTY = "object ownership"

# --- comparing (pure functions over the Describe/Get responses) ---------------------------


def _keys_text(schema: list[dict[str, str]]) -> str:
    return ", ".join(f"{k['KeyType'].lower()} {k['AttributeName']}" for k in schema) or "none"


def _index_text(index: Index) -> str:
    return f"{_keys_text(index.key_schema())}, projection ALL"


def table_differences(
    table: Table, stage: str, live: dict[str, Any], *, client_region: str
) -> list[Difference]:
    """Compare a DescribeTable result with the declaration (tags and PITR are read separately)."""
    diffs: list[Difference] = []
    region = settings.AWS_REGION
    if client_region != region:
        # DynamoDB Local writes "ddblocal" into ARNs, so the client's region is what counts.
        diffs.append(Difference("region", client_region, region))
    if live.get("TableStatus", "ACTIVE") not in {"ACTIVE", "UPDATING", "CREATING"}:
        diffs.append(Difference("status", live["TableStatus"], "ACTIVE"))
    elif live.get("TableStatus") != "ACTIVE":
        diffs.append(Difference("status", live["TableStatus"], "ACTIVE", "wait"))
    if live.get("KeySchema") != table.key_schema():
        diffs.append(
            Difference(
                "key schema", _keys_text(live.get("KeySchema", [])), _keys_text(table.key_schema())
            )
        )
    types = {a["AttributeName"]: a["AttributeType"] for a in live.get("AttributeDefinitions", [])}
    for attribute in dict.fromkeys(
        [table.hash_key, table.range_key]
        + [a for i in table.indexes for a in (i.hash_key, i.range_key) if a]
    ):
        if attribute in types and types[attribute] != "S":
            diffs.append(Difference(f"attribute {attribute} type", types[attribute], "S"))

    live_indexes = {i["IndexName"]: i for i in live.get("GlobalSecondaryIndexes", [])}
    declared = {i.name: i for i in table.indexes}
    for name, index in declared.items():
        found = live_indexes.get(name)
        if found is None:
            diffs.append(Difference(f"index {name}", "missing", _index_text(index), "index"))
            continue
        if found.get("IndexStatus") == "DELETING":
            diffs.append(Difference(f"index {name}", "being deleted", _index_text(index), "index"))
            continue
        if found.get("KeySchema") != index.key_schema():
            diffs.append(
                Difference(
                    f"index {name} keys",
                    _keys_text(found.get("KeySchema", [])),
                    _keys_text(index.key_schema()),
                )
            )
        projection = found.get("Projection", {}).get("ProjectionType", "none")
        if projection != "ALL":
            diffs.append(Difference(f"index {name} projection", projection, "ALL"))
        if found.get("IndexStatus", "ACTIVE") in _INDEX_BUSY:
            diffs.append(Difference(f"index {name} status", found["IndexStatus"], "ACTIVE", "wait"))
    for name in sorted(live_indexes.keys() - declared.keys()):
        diffs.append(Difference(f"index {name}", "present", NOT_DECLARED, "prune_index"))
    for index in live.get("LocalSecondaryIndexes") or []:
        # A local index lives and dies with its table: even --prune cannot remove it in place.
        diffs.append(Difference(f"local index {index['IndexName']}", "present", NOT_DECLARED))

    billing = live.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if billing != table.billing_mode:
        diffs.append(Difference("billing mode", billing, table.billing_mode, "billing"))

    sse = live.get("SSEDescription") or {}
    if sse.get("Status") in {"ENABLED", "ENABLING", "UPDATING"} and sse.get("SSEType") == "KMS":
        key = sse.get("KMSMasterKeyArn", "a KMS key")
        diffs.append(Difference("encryption", f"KMS ({key})", "AWS-owned key", "encryption"))

    # Protection is a floor: production must have it; another stage may keep it if someone chose to.
    if table.deletion_protection(stage) and not live.get("DeletionProtectionEnabled", False):
        diffs.append(Difference("deletion protection", "off", "on", "deletion_protection"))
    return diffs


def bucket_region(location: dict[str, Any]) -> str:
    constraint = location.get("LocationConstraint")
    # S3 reports us-east-1 as no constraint, and the oldest Ireland buckets as "EU".
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)


def _canonical_rule(rule: dict[str, Any]) -> str:
    rule = {k: v for k, v in rule.items() if v not in (None, [], {})}
    prefix = rule.pop("Prefix", None)
    rule_filter = rule.pop("Filter", None) or {}
    if "Prefix" in rule_filter and len(rule_filter) == 1:
        prefix = rule_filter["Prefix"]
    elif rule_filter:
        rule["Filter"] = rule_filter
    rule["Prefix"] = prefix or ""
    if "Transitions" in rule:
        rule["Transitions"] = sorted(rule["Transitions"], key=lambda t: t.get("Days", 0))
    return json.dumps(rule, sort_keys=True, default=str)


def _rule_text(rule: dict[str, Any]) -> str:
    parts = [f"prefix {_canonical_prefix(rule)!r}"]
    if rule.get("Status") != "Enabled":
        parts.append(str(rule.get("Status", "no status")).lower())
    for transition in sorted(rule.get("Transitions", []), key=lambda t: t.get("Days", 0)):
        parts.append(f"{transition.get('StorageClass')} at {transition.get('Days')} days")
    if "Expiration" in rule:
        parts.append(f"expire at {rule['Expiration'].get('Days')} days")
    if "AbortIncompleteMultipartUpload" in rule:
        days = rule["AbortIncompleteMultipartUpload"].get("DaysAfterInitiation")
        parts.append(f"abort uploads at {days} days")
    return ", ".join(parts)


def _canonical_prefix(rule: dict[str, Any]) -> str:
    return json.loads(_canonical_rule(rule))["Prefix"]


def bucket_differences(bucket: Bucket, live: dict[str, Any], *, region: str) -> list[Difference]:
    """Compare a bucket's region, public access block, encryption, lifecycle and versioning."""
    diffs: list[Difference] = []
    if live["region"] != region:
        diffs.append(Difference("region", live["region"], region))

    block = live["public_access_block"]
    off = [k for k, v in PUBLIC_ACCESS_BLOCK.items() if (block or {}).get(k) != v]
    if off:
        shown = "not set" if block is None else f"{', '.join(off)} off"
        diffs.append(Difference("public access block", shown, "all on", "public_access_block"))

    wanted_algorithm = BUCKET_ENCRYPTION["Rules"][0]["ApplyServerSideEncryptionByDefault"][
        "SSEAlgorithm"
    ]
    rules = (live["encryption"] or {}).get("Rules", [])
    algorithms = [
        r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules
    ]
    if algorithms != [wanted_algorithm]:
        shown = ", ".join(a or "none" for a in algorithms) or "none"
        diffs.append(
            Difference("default encryption", shown, f"{wanted_algorithm} (SSE-S3)", "encryption")
        )

    live_rules = {r.get("ID", ""): r for r in live["lifecycle"] or []}
    declared_rules = {r.id: r.to_api() for r in bucket.rules}
    for rule_id, rule in declared_rules.items():
        found = live_rules.get(rule_id)
        if found is None:
            diffs.append(
                Difference(f"lifecycle rule {rule_id}", "missing", _rule_text(rule), "lifecycle")
            )
        elif _canonical_rule(found) != _canonical_rule(rule):
            diffs.append(
                Difference(
                    f"lifecycle rule {rule_id}", _rule_text(found), _rule_text(rule), "lifecycle"
                )
            )
    for rule_id in sorted(live_rules.keys() - declared_rules.keys()):
        diffs.append(
            Difference(
                f"lifecycle rule {rule_id}",
                _rule_text(live_rules[rule_id]),
                NOT_DECLARED,
                "lifecycle",
            )
        )

    enabled = live["versioning"] == "Enabled"
    if enabled != bucket.versioning:
        diffs.append(
            Difference(
                "versioning",
                "enabled" if enabled else "off",
                "enabled" if bucket.versioning else "off",
                "versioning",
            )
        )
    return diffs


def declared_table_properties(table: Table, stage: str) -> list[Difference]:
    """What creating the table sets, property by property (the plan of a missing table)."""
    declared = [
        ("key schema", _keys_text(table.key_schema())),
        ("billing mode", table.billing_mode),
        *((f"index {index.name}", _index_text(index)) for index in table.indexes),
        ("encryption", "AWS-owned key"),
    ]
    if table.deletion_protection(stage):
        declared.append(("deletion protection", "on"))
    if table.point_in_time_recovery(stage):
        declared.append(("point-in-time recovery", "enabled"))
    return [Difference(name, "missing", value, "create") for name, value in declared]


def declared_bucket_properties(bucket: Bucket, *, region: str) -> list[Difference]:
    """What creating the bucket sets, property by property (the plan of a missing bucket)."""
    algorithm = BUCKET_ENCRYPTION["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
    declared = [
        ("region", region),
        ("public access block", "all on"),
        ("default encryption", f"{algorithm} (SSE-S3)"),
        *((f"lifecycle rule {rule.id}", _rule_text(rule.to_api())) for rule in bucket.rules),
        ("versioning", "enabled" if bucket.versioning else "off"),
    ]
    return [Difference(name, "missing", value, "create") for name, value in declared]


# --- the lifecycle's minimum object size and the guard rails (policy, ownership, tags) -------


def transition_minimum_differences(bucket: Bucket, live: str | None) -> list[Difference]:
    """Compare GetBucketLifecycleConfiguration's TransitionDefaultMinimumObjectSize (None when
    S3 did not say) with the declaration, when one is declared."""
    declared = bucket.transition_minimum_object_size
    if declared is None or live == declared:
        return []
    return [Difference(TRANSITION_MINIMUM_PROPERTY, live or "not set", declared, "lifecycle")]


def _as_list(value: Any) -> list[str]:
    return sorted(str(v) for v in (value if isinstance(value, list) else [value]))


def _canonical_statement(statement: dict[str, Any]) -> str:
    """A policy statement as S3 may hand it back (one-element lists as strings, `{"AWS": "*"}`
    for `"*"`), in one form, without its Sid."""
    principal = statement.get("Principal")
    if (
        isinstance(principal, dict)
        and set(principal) == {"AWS"}
        and _as_list(principal["AWS"]) == ["*"]
    ):
        principal = "*"
    condition = {
        operator: {key: _as_list(value) for key, value in values.items()}
        for operator, values in (statement.get("Condition") or {}).items()
    }
    return json.dumps(
        {
            "Effect": statement.get("Effect"),
            "Principal": principal,
            "Action": _as_list(statement.get("Action", [])),
            "Resource": _as_list(statement.get("Resource", [])),
            "Condition": condition,
        },
        sort_keys=True,
    )


def policy_statements(policy: str | None) -> list[dict[str, Any]]:
    """The statements of a bucket policy document as GetBucketPolicy returns it."""
    if not policy:
        return []
    try:
        statements = json.loads(policy).get("Statement", [])
    except (ValueError, AttributeError):
        return []
    return statements if isinstance(statements, list) else [statements]


def bucket_guard_differences(
    bucket: Bucket, live: dict[str, Any], *, name: str, stage: str, partition: str
) -> list[Difference]:
    """Compare a bucket's policy (GetBucketPolicy), object ownership (GetBucketOwnershipControls)
    and tags (GetBucketTagging) with the declaration. A policy passes when one of its statements
    is the declared one; other statements and other tags are left alone."""
    diffs: list[Difference] = []
    wanted = [_canonical_statement(s) for s in bucket.policy_document(name, partition)["Statement"]]
    found = {_canonical_statement(s) for s in policy_statements(live["policy"])}
    if any(statement not in found for statement in wanted):
        shown = "not set" if live["policy"] is None else "no statement denying non-TLS requests"
        diffs.append(Difference(POLICY_PROPERTY, shown, POLICY_TEXT, "policy"))

    rules = live["ownership"]
    ownership = ", ".join(r.get("ObjectOwnership", "?") for r in rules or []) or "not set"
    if ownership != OBJECT_OWNERSHIP:
        diffs.append(Difference(OWNERSHIP_PROPERTY, ownership, OBJECT_OWNERSHIP, "ownership"))

    tags = {t["Key"]: t["Value"] for t in live["tags"] or []}
    diffs += [
        Difference(f"tag {t['Key']}", tags.get(t["Key"], "missing"), t["Value"], "tags")
        for t in resource_tags(stage)
        if tags.get(t["Key"]) != t["Value"]
    ]
    return diffs


def declared_bucket_guard_properties(bucket: Bucket, *, stage: str) -> list[Difference]:
    """What creating the bucket sets beside declared_bucket_properties: the lifecycle's minimum
    object size, the policy, the object ownership and the tags."""
    declared: list[tuple[str, str]] = []
    if bucket.transition_minimum_object_size is not None:
        declared.append((TRANSITION_MINIMUM_PROPERTY, bucket.transition_minimum_object_size))
    declared += [(POLICY_PROPERTY, POLICY_TEXT), (OWNERSHIP_PROPERTY, OBJECT_OWNERSHIP)]
    declared += [(f"tag {t['Key']}", t["Value"]) for t in resource_tags(stage)]
    return [Difference(name, "missing", value, "create") for name, value in declared]
