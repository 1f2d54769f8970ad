"""The tenant's deployments as streamed CSV: filters, tenant isolation, safety, cost."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from projects import repository as projects
from staff.models import AuditEntry, AuditKind

pytestmark = pytest.mark.django_db

S = DeploymentStatus
TENANT, OTHER = "tenant-a", "tenant-b"
SHA = "0123456789abcdef0123456789abcdef01234567"
START = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 SGT


def history(project_id: str, user_id: str, count: int, *, message: str = "push") -> None:
    """`count` deployments, one an hour from START, every fifth an error, the rest ready."""
    rows = []
    for n in range(count):
        created = START + timedelta(hours=n)
        rows.append(
            DeploymentSchema(
                deployment_id=f"dpl_{n:016d}",
                project_id=project_id,
                user_id=user_id,
                status=S.ERROR if n % 5 == 0 else S.READY,
                commit_sha=SHA,
                branch="main",
                message=f"{message} {n}",
                created_at=created,
                updated_at=created,
                started_at=created,
                ended_at=created + timedelta(minutes=2),
            )
        )
    deployments.import_deployments(user_id, project_id, rows)


@pytest.fixture
def shop(aws_stage: str):
    return projects.create_project(
        TENANT, {"name": "shop", "repo_url": "https://github.com/a/shop"}
    )


def export(client, user_id: str = TENANT, **query: str):
    return client.get(reverse("admin:tenant_export", args=[user_id]), {"format": "csv", **query})


def rows_of(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:])))


def test_the_export_form_lists_the_tenants_projects(client_as, shop):
    response = client_as("support").get(reverse("admin:tenant_export", args=[TENANT]))
    assert response.status_code == 200
    text = response.content.decode()
    assert f'<option value="{shop.project_id}">shop ({shop.project_id})</option>' in text
    assert 'name="format" value="csv"' in text
    tenant_page = client_as("support").get(reverse("admin:tenant_detail", args=[TENANT]))
    assert reverse("admin:tenant_export", args=[TENANT]) in tenant_page.content.decode()


def test_every_deployment_newest_first_then_each_filter(client_as, shop):
    other_project = projects.create_project(
        TENANT, {"name": "blog", "repo_url": "https://github.com/a/blog"}
    )
    history(shop.project_id, TENANT, 30)
    history(other_project.project_id, TENANT, 3, message="blog")
    client = client_as("support")

    everything = rows_of(export(client))
    assert len(everything) == 33
    created = [r["created_at_utc"] for r in everything]
    assert created == sorted(created, reverse=True)

    shop_rows = rows_of(export(client, project=shop.project_id))
    assert len(shop_rows) == 30 and {r["project_id"] for r in shop_rows} == {shop.project_id}
    errors = rows_of(export(client, project=shop.project_id, status="error"))
    assert [r["deployment_id"] for r in errors] == [f"dpl_{n:016d}" for n in (25, 20, 15, 10, 5, 0)]
    assert {r["status"] for r in rows_of(export(client, status="error"))} == {"error"}
    # Singapore days: START is 10:00 SGT on 1 March, so 1 March holds hours 0..13 (to 23:59 SGT).
    first_day = rows_of(
        export(client, project=shop.project_id, since="2026-03-01", until="2026-03-01")
    )
    assert len(first_day) == 14
    second_day = rows_of(export(client, since="2026-03-02", until="2026-03-02"))
    assert {r["deployment_id"] for r in second_day} == {f"dpl_{n:016d}" for n in range(14, 30)}
    row = everything[-1]
    assert row["created_at_utc"] == "2026-03-01T02:00:00.000Z"
    assert row["commit_sha"] == SHA and row["branch"] == "main"


def test_a_cell_a_spreadsheet_would_run_is_quoted(client_as, shop):
    deployments.create_deployment(
        TENANT, shop.project_id, {"commit_sha": SHA, "message": '=HYPERLINK("http://x","y")'}
    )
    (row,) = rows_of(export(client_as("support")))
    assert row["message"] == '\'=HYPERLINK("http://x","y")'


def test_another_tenants_project_is_a_404_and_its_rows_never_appear(client_as, shop):
    theirs = projects.create_project(
        OTHER, {"name": "secret", "repo_url": "https://github.com/b/secret"}
    )
    history(theirs.project_id, OTHER, 3, message="secret")
    client = client_as("support")

    assert export(client, project=theirs.project_id).status_code == 404
    assert rows_of(export(client)) == []
    assert export(client, user_id="nobody-here").status_code == 200  # a header-only file
    form = client.get(reverse("admin:tenant_export", args=["nobody-here"]))
    assert form.status_code == 404


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"project": "prj_nope"}, "A project id is prj_ followed by 16"),
        ({"status": "exploded"}, "Select a valid choice"),
        ({"since": "2026-03-05", "until": "2026-03-01"}, "must not be after the To date"),
        ({"until": "soon"}, "Enter a valid date"),
    ],
)
def test_a_bad_filter_is_a_400_on_the_form(client_as, shop, query, says):
    response = export(client_as("support"), **query)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_the_export_is_audited_with_its_filters(client_as, shop):
    rows_of(export(client_as("support"), project=shop.project_id, status="ready"))
    entry = AuditEntry.objects.get()
    assert (entry.kind, entry.tenant, entry.object_id) == (
        AuditKind.EXPORT,
        TENANT,
        shop.project_id,
    )
    assert entry.after == {"filters": {"project": shop.project_id, "status": "ready"}}


@pytest.mark.parametrize("status", [None, "error"])
def test_the_export_reads_one_query_page_per_thousand_rows(client_as, shop, dynamodb_calls, status):
    history(shop.project_id, TENANT, 2_500)
    client = client_as("support")
    dynamodb_calls.clear()

    query = {"project": shop.project_id, **({"status": status} if status else {})}
    rows = rows_of(export(client, **query))

    assert len(rows) == (500 if status else 2_500)
    # One Query reads the project (the tenant check), then one Query per page of 1,000 items.
    assert dynamodb_calls == ["Query"] * (1 + (1 if status else 3))


def test_unauthenticated_users_get_the_login_page(client_as, shop):
    response = export(client_as("anonymous"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert export(client_as("nonstaff")).status_code == 302
