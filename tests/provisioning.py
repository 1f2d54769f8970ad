"""Helpers shared by the provisioning tests on moto and on DynamoDB Local."""

from __future__ import annotations

from infra.core.resources import BUCKETS, TABLES


def resource_lines(output: str) -> dict[str, str]:
    """'table NAME: action' progress/plan lines, as {NAME: action} (the last one wins)."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        words = line.strip().split(" ", 2)
        if len(words) == 3 and words[0] in {"table", "bucket"} and words[1].endswith(":"):
            found[words[1][:-1]] = words[2]
    return found


def resource_names(stage: str) -> list[str]:
    """The names of every table and bucket of a stage, from the one declaration."""
    return [t.name(stage) for t in TABLES] + [b.name(stage) for b in BUCKETS]
