"""Hostile input in the dashboard's forms, cursors and filters: a 4xx, never a 500, never stored."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from deployments import repository as deployments
from infra.core import aws
from infra.core.dynamo import from_item
from infra.core.errors import ValidationError
from infra.core.resources import PROJECTS
from infra.core.schemas import validate
from projects import repository as projects
from projects.schemas import CreateProjectSchema
from tests.factories import PUSH
from tests.reliability.conftest import scale
from tests.reliability.hostile.conftest import FIXTURES, ON_MOTO, TENANT

pytestmark = [pytest.mark.django_db]


HOSTILE = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(
        [
            "\u202egnp.exe",
            "a\u200bb",
            "../../etc/passwd",
            "'; DROP TABLE x; --",
            "<script>alert(1)</script>",
            "%00",
            "prj_" + "a" * 16,
            "dpl_" + "0" * 16,
            "http://169.254.169.254/latest/meta-data",
            "https://localhost/a/b",
            "x" * 5000,
            "eyJzIjpbXX0:1abc:xyz",
        ]
    ),
)


OLD_TARGETS = {"edit", "url", "cursor", "status", "find"}


def _stored_projects_are_valid() -> int:
    """Every project item is one CreateProjectSchema accepts (test code may Scan)."""
    items = aws.dynamodb().scan(TableName=PROJECTS.name())["Items"]
    for item in map(from_item, items):
        validate(
            CreateProjectSchema,
            {"name": item["name"], "repo_url": item["repoUrl"], "branch": item["branch"]},
        )
    return len(items)


@ON_MOTO
def test_hostile_input_everywhere_is_a_4xx_never_a_500_and_never_stored(operations_user, victim):
    client = Client()
    client.force_login(operations_user)
    statuses: Counter[str] = Counter()
    per_target = scale(ci=150, full=1_000)
    per_new_target = scale(ci=50, full=1_000)  # the forms and filters issue 13 added
    edit = reverse("admin:projects_project_edit", args=[TENANT, victim.project_id])
    project_page = reverse("admin:projects_project_detail", args=[TENANT, victim.project_id])

    def record(target: str, response: Any) -> None:
        statuses[f"{target} {response.status_code}"] += 1
        assert response.status_code < 500, (target, response.status_code)

    def form_field(field: str) -> None:
        @settings(max_examples=per_target, deadline=None, suppress_health_check=FIXTURES)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            current = projects.get_project(TENANT, victim.project_id)
            data = {
                "name": current.name,
                "repo_url": current.repo_url,
                "branch": current.branch,
                "expected_version": str(current.version),
                "reason": "fuzzing",
                field: value,
            }
            record(f"edit {field}", client.post(edit, data))

        one()

    def url_parameter(where: str) -> None:
        @settings(max_examples=per_target, deadline=None, suppress_health_check=FIXTURES)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            value = re.sub(r"[/\x00-\x1f\x7f]", "", value) or "x"
            if where == "deployment_id":
                url = reverse("admin:deployments_deployment_detail", args=[TENANT, value])
            elif where == "project_id":
                url = reverse("admin:projects_project_detail", args=[TENANT, value])
            else:
                url = reverse("admin:tenant_detail", args=[value])
            record(f"url {where}", client.get(url))

        one()

    @settings(max_examples=per_target, deadline=None, suppress_health_check=FIXTURES)
    @given(cursor=HOSTILE, status=HOSTILE, query=HOSTILE)
    def query_parameters(cursor: str, status: str, query: str) -> None:
        record("cursor", client.get(project_page, {"cursor": cursor}))
        record("status", client.get(project_page, {"status": status}))
        record("find q", client.get(reverse("admin:find"), {"q": query}))

    shipped = deployments.create_deployment(TENANT, victim.project_id, PUSH)
    redeploy = reverse(
        "admin:deployments_deployment_redeploy", args=[TENANT, shipped.deployment_id]
    )

    def redeploy_field(field: str) -> None:
        @settings(max_examples=per_new_target, deadline=None, suppress_health_check=FIXTURES)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            data = {"reason": "fuzzing the redeploy", "request_key": "k" * 32, field: value}
            record(f"redeploy {field}", client.post(redeploy, data))

        one()

    def filter_parameter(page: str, name: str) -> None:
        url = (
            reverse("admin:audit")
            if page == "audit"
            else reverse("admin:tenant_export", args=[TENANT])
        )

        @settings(max_examples=per_new_target, deadline=None, suppress_health_check=FIXTURES)
        @given(value=HOSTILE)
        def one(value: str) -> None:
            query = {name: value, **({"format": "csv"} if page == "export" else {})}
            response = client.get(url, query)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)  # a stream that fails mid-way counts too
            record(f"{page} {name}", response)

        one()

    for field in ("name", "repo_url", "branch", "reason"):
        form_field(field)
    for field in ("reason", "request_key"):
        redeploy_field(field)
    for name in ("staff", "kind", "tenant", "since", "before"):
        filter_parameter("audit", name)
    for name in ("project", "status", "until"):
        filter_parameter("export", name)
    for where in ("user_id", "project_id", "deployment_id"):
        url_parameter(where)
    query_parameters()
    stored = _stored_projects_are_valid()
    print(f"\nhostile input: {sum(statuses.values())} requests {dict(sorted(statuses.items()))}")
    print(f"stored projects, every one valid: {stored}")
    per_target_seen = Counter(target.rsplit(" ", 1)[0] for target in statuses.elements())
    assert min(per_target_seen.values()) >= per_new_target * 0.9, per_target_seen  # each target
    old_targets = {t: n for t, n in per_target_seen.items() if t.split()[0] in OLD_TARGETS}
    assert min(old_targets.values()) >= per_target * 0.9, old_targets


@ON_MOTO
def test_the_repository_refuses_what_the_forms_would(aws_stage):
    @settings(max_examples=scale(ci=200, full=1_000), deadline=None)
    @given(name=HOSTILE, repo_url=HOSTILE, branch=HOSTILE)
    def create(name: str, repo_url: str, branch: str) -> None:
        with contextlib.suppress(ValidationError):
            projects.create_project(TENANT, {"name": name, "repo_url": repo_url, "branch": branch})

    create()
    _stored_projects_are_valid()
