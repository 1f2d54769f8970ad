"""What the pages say: project names, the "stuck" badge, plain validation messages, the stale-edit
conflict, Find's unknown id and its error tied to the box, the chart's table, the favicon."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from deployments import repository as deployments
from deployments.schemas import DeploymentStatus as S
from infra.core.dynamo import now
from projects import repository as projects
from projects.schemas import ProjectSchema
from staff.models import AuditEntry
from tests.factories import PUSH

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]

TENANT = "usr_alice"


@pytest.fixture
def shop(aws_stage: str) -> ProjectSchema:
    project = projects.create_project(
        TENANT, {"name": "Storefront", "repo_url": "https://github.com/alice/storefront"}
    )
    deployments.create_deployment(TENANT, project.project_id, PUSH)
    return projects.get_project(TENANT, project.project_id)


def html(response) -> str:
    return response.content.decode()


def deployment_url(deployment_id: str) -> str:
    return reverse("admin:deployments_deployment_detail", args=[TENANT, deployment_id])


def edit_url(project: ProjectSchema) -> str:
    return reverse("admin:projects_project_edit", args=[TENANT, project.project_id])


def building(project: ProjectSchema, started_ago: timedelta):
    deployment = deployments.create_deployment(TENANT, project.project_id, PUSH)
    deployments.update_deployment_status(deployment.deployment_id, S.BUILDING)
    deployments.update_deployment(deployment.deployment_id, started_at=now() - started_ago)
    return deployment


# --- project names ------------------------------------------------------------------------------


def test_the_deployment_page_names_its_project_in_the_breadcrumbs_and_fields(
    client_as, shop: ProjectSchema, dynamodb_calls: list[str]
) -> None:
    deployment_id = shop.latest_deployment.deployment_id
    dynamodb_calls.clear()
    page = html(client_as("support").get(deployment_url(deployment_id)))
    crumbs = re.search(r'<div class="breadcrumbs">.*?</div>', page, re.S).group()
    assert ">Storefront</a>" in crumbs and f"Project {shop.project_id}" not in crumbs
    assert 'Storefront</a> <span class="anchor-id quiet">' + shop.project_id in page
    # The deployment, then its project (beside the S3 reads): two reads, nothing per row.
    assert dynamodb_calls == ["Query", "Query"]


def test_a_deployment_whose_project_is_gone_still_shows_with_the_project_id(
    client_as, shop: ProjectSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.core.errors import NotFound

    def gone(*_args, **_kwargs):
        raise NotFound("project gone")

    monkeypatch.setattr(projects, "get_project", gone)
    response = client_as("support").get(deployment_url(shop.latest_deployment.deployment_id))
    assert response.status_code == 200
    assert f"Project {shop.project_id}</a>" in html(response)


# --- the stuck badge ----------------------------------------------------------------------------


def test_a_build_running_past_the_threshold_carries_a_stuck_badge_and_a_fresh_one_does_not(
    client_as, shop: ProjectSchema
) -> None:
    stuck = building(shop, timedelta(hours=2))
    fresh = building(shop, timedelta(minutes=5))
    support = client_as("support")
    badge = '<span class="badge badge-stuck" title="Building for over an hour">stuck</span>'

    assert badge in html(support.get(deployment_url(stuck.deployment_id)))
    assert badge not in html(support.get(deployment_url(fresh.deployment_id)))
    project_page = html(
        support.get(reverse("admin:projects_project_detail", args=[TENANT, shop.project_id]))
    )
    assert project_page.count(badge) == 1
    row = project_page[project_page.index(stuck.deployment_id) :][:400]
    assert "badge-building" in row and badge in row
    assert html(support.get(reverse("admin:tenant_detail", args=[TENANT]))).count(badge) == 1


def test_the_status_column_comes_right_after_the_deployment_id(
    client_as, shop: ProjectSchema
) -> None:
    # Second, so a phone shows it before the table scrolls sideways.
    page = html(
        client_as("support").get(
            reverse("admin:projects_project_detail", args=[TENANT, shop.project_id])
        )
    )
    headers = re.findall(r'<th scope="col">([^<]*)</th>', page[page.index('id="deployments"') :])
    assert headers[:3] == ["Deployment", "Status", "Commit"]


# --- the project edit form ----------------------------------------------------------------------


def form(project: ProjectSchema, **changes: object) -> dict[str, object]:
    return {
        "name": project.name,
        "repo_url": project.repo_url,
        "branch": project.branch,
        "expected_version": project.version,
        "reason": "The tenant asked on the support chat",
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "x" * 51}, "Name must be at most 50 characters."),
        ({"name": " ab "}, "Name must be at least 3 characters."),
        (
            {"repo_url": "ftp://github.com/a/b"},
            "Repository URL must start with http:// or https://.",
        ),
        (
            {"repo_url": "not a url"},
            "Repository URL must be a web address such as https://github.com/owner/repo.",
        ),
        (
            {"repo_url": "https://github.com/only-owner"},
            "Repository URL must name the repository",
        ),
    ],
    ids=["long-name", "short-name", "ftp-url", "not-a-url", "no-repo"],
)
def test_validation_messages_are_in_plain_words(
    client_as, shop: ProjectSchema, changes: dict[str, str], message: str
) -> None:
    response = client_as("operations").post(edit_url(shop), form(shop, **changes))
    assert response.status_code == 400
    page = html(response)
    assert message in page
    assert "String should" not in page and "Input should" not in page and "URL scheme" not in page


def test_a_stale_edit_is_headed_as_a_conflict_and_offers_the_current_values(
    client_as, shop: ProjectSchema
) -> None:
    projects.update_project(TENANT, shop.project_id, {"name": "Changed elsewhere"})
    response = client_as("operations").post(edit_url(shop), form(shop, branch="develop"))

    assert response.status_code == 409
    page = html(response)
    assert '<h2 id="conflict-heading">Conflict: this project was changed while you were' in page
    assert "You opened the form at version 1; someone else has saved version 2 since." in page
    # The form now holds the current values and version, so saving again starts from them.
    assert 'value="Changed elsewhere"' in page
    assert '<input type="hidden" name="expected_version" value="2"' in page
    # The change that was not saved is shown beside the current value.
    assert re.search(r"<th scope=\"row\">Branch</th><td>main</td><td>develop</td>", page)
    assert projects.get_project(TENANT, shop.project_id).branch == "main"
    assert not AuditEntry.objects.filter(object_id=shop.project_id).exists()


# --- find ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["prj_0000000000000000", "dpl_0000000000000000"])
def test_find_on_an_unknown_id_says_no_record_has_it_and_keeps_the_query(
    client_as, shop: ProjectSchema, query: str
) -> None:
    response = client_as("support").get(reverse("admin:find") + f"?q={query}")
    assert response.status_code == 404
    page = html(response)
    assert (
        '<p class="errornote" id="anchor-find-error">No project or deployment has this id.</p>'
        in page
    )
    assert f'value="{query}"' in page  # the box keeps what was typed, to correct it


def test_the_find_error_is_tied_to_the_box_and_only_when_there_is_one(client_as, shop) -> None:
    support = client_as("support")
    wrong = html(support.get(reverse("admin:find") + "?q=two+words"))
    box = re.search(r'<input id="anchor-find-q"[^>]*>', wrong).group()
    assert 'aria-invalid="true"' in box and 'aria-describedby="anchor-find-error"' in box
    assert 'id="anchor-find-error"' in wrong
    fine = html(support.get(reverse("admin:find")))
    box = re.search(r'<input id="anchor-find-q"[^>]*>', fine).group()
    assert "aria-invalid" not in box and "aria-describedby" not in box


# --- the index, the chart, the favicon ----------------------------------------------------------


def test_the_index_find_entry_is_described_by_an_id_without_spaces(client_as, shop) -> None:
    page = html(client_as("support").get(reverse("admin:index")))
    described = re.findall(r'aria-describedby="([^"]*)"', page)
    assert described and all(" " not in ref for ref in described), described
    for ref in described:
        assert f'id="{ref}"' in page


def test_the_chart_counts_can_be_read_as_a_table(client_as, shop: ProjectSchema) -> None:
    page = html(
        client_as("support").get(
            reverse("admin:projects_project_detail", args=[TENANT, shop.project_id])
        )
    )
    table = page[page.index('<details class="anchor-chart-table">') :]
    table = table[: table.index("</details>")]
    assert "<summary>Show the counts as a table</summary>" in table
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", table)
    assert len(rows) == 30
    # Today (first row, newest first) has the one queued deployment: total 1, queued 1.
    cells = re.findall(r"<td>(\d+)</td>", rows[0])
    assert cells == ["1", "0", "0", "0", "0", "1"]


def test_every_admin_page_links_the_favicon(client, aws_stage: str) -> None:
    login = html(client.get(reverse("admin:login")))
    assert re.search(
        r'<link rel="icon" type="image/svg\+xml" href="/static/anchor/favicon[^"]*\.svg"', login
    )
