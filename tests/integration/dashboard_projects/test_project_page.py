"""The project page: deployments newest first, the 30-day chart, filters, paging, 404s and 503s."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from django.urls import reverse

from deployments.schemas import DeploymentStatus as S
from infra.core import aws
from projects.schemas import ProjectSchema
from staff.models import AuditEntry
from tests.integration.dashboard_projects.conftest import (
    MISSING_PROJECT,
    SHA,
    ClientAs,
    history,
    make_project,
    push,
    rows_of,
)
from tests.pages import edit_url, find_url, links, project_url, tenant_url, text, without_tokens
from web.projects import chart, views

pytestmark = pytest.mark.usefixtures("aws_stage")


# --- project page -------------------------------------------------------------------------------


def test_the_project_page_shows_the_project_and_its_deployments_newest_first(
    client_as: ClientAs, dynamodb_calls: list[str]
) -> None:
    project = make_project("usr_alice")
    history(project, (3, S.ERROR), (1, S.READY))
    dynamodb_calls.clear()
    response = client_as("support").get(project_url(project))
    assert response.status_code == 200
    # The project, one page of deployments and the chart's day counters: nothing more.
    assert dynamodb_calls == ["Query", "Query", "Query"]
    html = text(response)
    assert "<h1>Storefront</h1>" in html
    assert f'<a href="{tenant_url("usr_alice")}">Tenant usr_alice</a> &rsaquo; Storefront' in html
    assert "https://github.com/usr_alice/storefront" in html
    assert html.index("ready 1 days ago") < html.index("error 3 days ago")
    assert f'<code class="sha" title="{SHA}">0123456</code>' in html
    assert re.search(r'<time datetime="[^"]+" title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d SGT">', html)
    assert ">1m 30s<" in html
    assert ">1\xa0day ago</time>" in html


def test_the_chart_counts_the_last_30_days_per_day_stacked_by_outcome(
    client_as: ClientAs,
) -> None:
    project = make_project("usr_alice")
    history(project, (2, S.READY), (2.001, S.ERROR), (10, S.READY), (45, S.READY))
    html = text(client_as("support").get(project_url(project)))
    svg = html[html.index('<svg class="anchor-chart"') :].split("</svg>")[0]
    day = chart.build_chart([]).bars[-3].day  # two days ago, in Singapore
    assert f"{day:%a} {day.day} {day:%b}: 2 deployments (1 ready, 1 error)" in svg
    assert 'aria-label="3 deployments in the last 30 days"' in svg
    assert svg.count('class="chart-ready"') == 2 and svg.count('class="chart-error"') == 1
    assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org", "")
    assert "Only the newest" not in html


def test_a_long_history_costs_one_range_query_for_the_chart_whatever_its_size(
    client_as: ClientAs, dynamodb_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    project = make_project("usr_alice")
    history(project, *[(n, S.READY) for n in range(1, 8)], (40, S.ERROR), (50, S.READY))
    dynamodb_calls.clear()
    html = text(client_as("support").get(project_url(project)))
    # The project, the table's page (2 of 9 rows), then the 30-day window in one query.
    assert dynamodb_calls == ["Query", "Query", "Query"]
    assert 'aria-label="7 deployments in the last 30 days"' in html


def test_a_filtered_project_page_reads_the_chart_separately_and_stays_small(
    client_as: ClientAs, dynamodb_calls: list[str]
) -> None:
    project = make_project("usr_alice")
    history(project, (1, S.READY), (2, S.ERROR))
    dynamodb_calls.clear()
    html = text(client_as("support").get(project_url(project) + "?status=error"))
    assert dynamodb_calls == ["Query", "Query", "Query"]
    assert "error 2 days ago" in html and "ready 1 days ago" not in html
    assert 'aria-label="2 deployments in the last 30 days"' in html


def test_a_status_filtered_page_is_full_when_more_matches_exist(
    client_as: ClientAs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    project = make_project("usr_alice")
    history(project, (1, S.READY), (2, S.ERROR), (3, S.READY), (4, S.READY), (5, S.ERROR))
    support = client_as("support")
    html = text(support.get(project_url(project) + "?status=ready"))
    rows = rows_of(html)
    assert rows.count('<span class="badge badge-ready">ready</span>') == 2
    assert "ready 1 days ago" in html and "ready 3 days ago" in html
    following = text(support.get(links(html, "next")[0]))
    assert "ready 4 days ago" in following and "error" not in rows_of(following)
    assert links(following, "next") == []


def test_paging_through_deployments_goes_forward_and_back(
    client_as: ClientAs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    project = make_project("usr_alice")
    history(project, *[(n, S.READY) for n in range(1, 6)])
    support = client_as("support")
    pages, url = [], project_url(project)
    while url:
        html = text(support.get(url))
        pages.append(re.findall(r">ready (\d) days ago<", rows_of(html)))
        following = links(html, "next")
        url = following[0] if following else ""
    assert pages == [["1", "2"], ["3", "4"], ["5"]]
    assert links(html, "next") == []
    page_two = text(support.get(links(html, "prev")[0]))
    assert re.findall(r">ready (\d) days ago<", rows_of(page_two)) == ["3", "4"]
    page_one = text(support.get(links(page_two, "prev")[0]))
    assert re.findall(r">ready (\d) days ago<", rows_of(page_one)) == ["1", "2"]
    assert links(page_one, "prev") == [] and "Newest first" in page_one


def test_a_bad_status_filter_is_a_400_without_reading_anything(
    client_as: ClientAs, shop: ProjectSchema, dynamodb_calls: list[str]
) -> None:
    dynamodb_calls.clear()
    response = client_as("support").get(project_url(shop) + "?status=exploded")
    assert response.status_code == 400
    assert "exploded" in text(response) and dynamodb_calls == []


def test_a_tampered_project_page_cursor_is_a_400(client_as: ClientAs, shop: ProjectSchema) -> None:
    response = client_as("support").get(project_url(shop) + "?cursor=eyJzIjpbXX0:1abc:xyz")
    assert response.status_code == 400
    assert "Bad page link" in text(response)


def test_a_cursor_of_another_project_is_a_400(
    client_as: ClientAs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    first, second = make_project("usr_alice", "First"), make_project("usr_alice", "Second")
    history(first, (1, S.READY), (2, S.READY))
    push(second)
    support = client_as("support")
    query = links(text(support.get(project_url(first))), "next")[0].split("?")[1]
    assert support.get(project_url(second) + "?" + query).status_code == 400


@pytest.mark.parametrize("page", ["project", "edit"])
def test_a_project_of_another_tenant_is_the_same_404_as_a_missing_one(
    client_as: ClientAs, shop: ProjectSchema, page: str
) -> None:
    make_project("usr_mallory", "Mallory")
    operations = client_as("operations")
    url = project_url if page == "project" else edit_url
    theirs = operations.get(url(shop, user_id="usr_mallory"))
    missing_project = shop.model_copy(update={"project_id": MISSING_PROJECT})
    missing = operations.get(url(missing_project, user_id="usr_mallory"))
    assert theirs.status_code == missing.status_code == 404
    assert without_tokens(text(theirs)) == without_tokens(text(missing))
    assert "Storefront" not in text(theirs)


@pytest.mark.parametrize("project_id", ["prj_short", "PRJ_0000000000000000", "anything"])
def test_a_malformed_project_id_is_a_404(client_as: ClientAs, project_id: str) -> None:
    url = reverse("admin:projects_project_detail", args=["usr_alice", project_id])
    assert client_as("support").get(url).status_code == 404


@pytest.mark.parametrize("page", ["tenant", "project", "find-id"])
def test_an_unreachable_dynamodb_is_a_503_page_that_says_so(
    client_as: ClientAs, shop: ProjectSchema, page: str
) -> None:
    support = client_as("support")

    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.ap-southeast-1.amazonaws.com")

    url = {
        "tenant": tenant_url("usr_alice"),
        "project": project_url(shop),
        "find-id": find_url(shop.project_id),
    }[page]
    events = aws.dynamodb().meta.events
    events.register("before-call.dynamodb.*", unreachable, unique_id="test-unreachable")
    try:
        response = support.get(url)
    finally:  # the stage's own teardown still needs DynamoDB
        events.unregister("before-call.dynamodb.*", unique_id="test-unreachable")
    assert response.status_code == 503
    assert "DynamoDB or S3 cannot be reached" in text(response)
    if page == "find-id":  # even a failed cross-tenant look-up is in the audit trail
        entry = AuditEntry.objects.get()
        assert entry.change_message.endswith("failed: the data plane could not be reached")
