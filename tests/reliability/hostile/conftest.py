"""The hostile-data suite's shared data: junk values, a victim project, the admin site's routes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st

from projects import repository as projects

ON_MOTO = pytest.mark.parametrize("aws_stage", ["moto"], indirect=True)
BOTH_ENGINES = pytest.mark.parametrize(
    "aws_stage", ["moto", pytest.param("ddblocal", marks=pytest.mark.contract)], indirect=True
)

TENANT = "tenant-hostile"
FIXTURES = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.text(max_size=40),
    st.sampled_from(["", "exploded", "2026-13-45T99:00:00Z", "not a date", "ready ", "READY"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(alphabet="abcxyz", min_size=1, max_size=5), st.integers(), max_size=2),
    st.binary(min_size=1, max_size=8),
    st.frozensets(st.text(min_size=1, max_size=4), min_size=1, max_size=3),
)
# Index key attributes: DynamoDB refuses an item whose value there has another type than the
# index declares (tests/awsrules.py plays that on moto); the console must cope with the rest.
INDEX_KEYS = ["userId", "deploymentId", "projectStatus", "attention", "attentionAt"]
FIELDS = [
    "status",
    "commitSha",
    "createdAt",
    "updatedAt",
    "startedAt",
    "endedAt",
    "branch",
    "message",
    "error",
    "buildId",
    "projectId",
    *INDEX_KEYS,
]


def _good(project_id: str, n: int) -> dict[str, Any]:
    return {
        "deploymentId": f"dpl_{n:016d}",
        "projectId": project_id,
        "userId": TENANT,
        "commitSha": "abcdef1",
        "branch": "main",
        "status": "ready",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-01T00:00:00.000Z",
    }


@pytest.fixture
def victim(aws_stage: str):
    return projects.create_project(
        TENANT, {"name": "hostile", "repo_url": "https://github.com/h/hostile"}
    )


def dashboard_routes() -> list[Route]:
    """The console's own pages: the admin site's routes less Django's stock admin ones."""
    from django.contrib import admin

    stock = {p.name for p in admin.AdminSite.get_urls(admin.site) if getattr(p, "name", None)}
    return [
        r
        for r in admin_routes()
        if r.name not in stock and not r.name.startswith(("auth_", "admin_", "axes_"))
    ]


@dataclass(frozen=True)
class Route:
    name: str
    converters: tuple[str, ...]  # the path parameters, in order
    regex_kwargs: tuple[str, ...]


def admin_routes() -> list[Route]:
    """Every named route of the admin site, nested resolvers included."""
    from django.contrib import admin
    from django.urls import URLPattern, URLResolver
    from django.urls.resolvers import RegexPattern

    found: list[Route] = []

    def walk(patterns: list[Any]) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names = tuple(getattr(pattern.pattern, "converters", {}))
                regex = (
                    tuple(re.compile(pattern.pattern._regex).groupindex)
                    if isinstance(pattern.pattern, RegexPattern)
                    else ()
                )
                found.append(Route(pattern.name, names, regex))

    walk(admin.site.get_urls())
    return found
