"""The dashboard's find, tenant, project and project-edit pages, through the Django test client."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from deployments import repository as deployments
from deployments.schemas import DeploymentSchema
from deployments.schemas import DeploymentStatus as S
from infra.core import aws
from infra.core.dynamo import now
from projects import repository as projects
from projects.schemas import ProjectSchema
from staff.models import AuditEntry
from web.projects import chart, views

pytestmark = pytest.mark.usefixtures("aws_stage")

ClientAs = Callable[[str], Client]
SHA = "0123456789abcdef0123456789abcdef01234567"
MISSING_PROJECT = "prj_0000000000000000"


# --- data ---------------------------------------------------------------------------------------


def make_project(user_id: str, name: str = "Storefront") -> ProjectSchema:
    slug = name.lower().replace(" ", "-")
    return projects.create_project(
        user_id, {"name": name, "repo_url": f"https://github.com/{user_id}/{slug}"}
    )


def push(project: ProjectSchema, message: str = "Fix the checkout button") -> DeploymentSchema:
    return deployments.create_deployment(
        project.user_id, project.project_id, {"commit_sha": SHA, "message": message}
    )


def history(project: ProjectSchema, *rows: tuple[float, S]) -> list[DeploymentSchema]:
    """Import past deployments: one per (days ago, status), each built for 90 seconds."""
    made = []
    for days_ago, status in rows:
        created = now() - timedelta(days=days_ago)
        final = status in (S.READY, S.ERROR, S.CANCELED)
        made.append(
            DeploymentSchema(
                deployment_id=deployments.new_deployment_id(),
                project_id=project.project_id,
                user_id=project.user_id,
                commit_sha=SHA,
                message=f"{status.value} {days_ago} days ago",
                branch="main",
                status=status,
                created_at=created,
                updated_at=created,
                started_at=created + timedelta(seconds=10) if status != S.QUEUED else None,
                ended_at=created + timedelta(seconds=100) if final else None,
            )
        )
    deployments.import_deployments(project.user_id, project.project_id, made)
    return made


def project_url(project: ProjectSchema, user_id: str | None = None) -> str:
    return reverse(
        "admin:projects_project_detail", args=[user_id or project.user_id, project.project_id]
    )


def edit_url(project: ProjectSchema, user_id: str | None = None) -> str:
    return reverse(
        "admin:projects_project_edit", args=[user_id or project.user_id, project.project_id]
    )


def tenant_url(user_id: str) -> str:
    return reverse("admin:tenant_detail", args=[user_id])


def find_url(query: str) -> str:
    return reverse("admin:find") + "?" + f"q={query}"


def text(response: Any) -> str:
    return response.content.decode()


def without_tokens(html: str) -> str:
    """A page's HTML without the per-response CSRF token (the only part that differs)."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def rows_of(html: str) -> str:
    """The rows of the page's deployments table (the chart's table of counts comes before it)."""
    return html.split('id="deployments"')[1].split("<tbody>")[1].split("</tbody>")[0]


def links(html: str, rel: str) -> list[str]:
    return [m.replace("&amp;", "&") for m in re.findall(rf'href="([^"]*)" rel="{rel}"', html)]


@pytest.fixture
def shop() -> ProjectSchema:
    """Tenant usr_alice's project with one queued deployment."""
    project = make_project("usr_alice")
    push(project)
    return projects.get_project("usr_alice", project.project_id)


# --- who may see what ---------------------------------------------------------------------------


PAGES = ["find", "tenant", "project", "edit"]


def page_url(page: str, project: ProjectSchema) -> str:
    return {
        "find": reverse("admin:find"),
        "tenant": tenant_url(project.user_id),
        "project": project_url(project),
        "edit": edit_url(project),
    }[page]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ["anonymous", "nonstaff"])
def test_anonymous_and_non_staff_users_get_the_admin_login_not_data(
    client_as: ClientAs, shop: ProjectSchema, role: str, page: str
) -> None:
    response = client_as(role).get(page_url(page, shop))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login") + "?next=")
    assert "Storefront" not in text(response)


@pytest.mark.parametrize("page", ["find", "tenant", "project"])
@pytest.mark.parametrize("role", ["support", "operations"])
def test_support_and_operations_can_read_every_page(
    client_as: ClientAs, shop: ProjectSchema, role: str, page: str
) -> None:
    assert client_as(role).get(page_url(page, shop)).status_code == 200


def test_support_cannot_open_or_post_the_edit_form(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    support = client_as("support")
    page = support.get(edit_url(shop))
    assert page.status_code == 403
    assert "Permission denied" in text(page)
    posted = support.post(
        edit_url(shop),
        {"name": "Hijacked", "repo_url": shop.repo_url, "branch": "main", "expected_version": 1},
    )
    assert posted.status_code == 403
    assert projects.get_project("usr_alice", shop.project_id).name == "Storefront"
    detail = text(support.get(project_url(shop)))
    assert "Edit project" not in detail


def test_operations_see_the_edit_link_on_the_project_page(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    detail = text(client_as("operations").get(project_url(shop)))
    assert f'href="{edit_url(shop)}"' in detail


def test_the_admin_menu_offers_find_to_staff_who_may_use_it(client_as: ClientAs) -> None:
    index = text(client_as("support").get(reverse("admin:index")))
    assert "Find a tenant, project or deployment" in index
    assert f'href="{reverse("admin:find")}"' in index


def test_staff_without_a_dashboard_group_see_no_dashboard_and_get_403(
    db: None, shop: ProjectSchema
) -> None:
    user = User.objects.create_user("newhire", password="x-long-password-1", is_staff=True)
    client = Client()
    client.force_login(user)
    assert "Find a tenant" not in text(client.get(reverse("admin:index")))
    assert client.get(tenant_url("usr_alice")).status_code == 403
    assert client.get(project_url(shop)).status_code == 403


# --- find ---------------------------------------------------------------------------------------


def test_find_with_a_user_id_goes_to_the_tenant_without_reading_anything(
    client_as: ClientAs, dynamodb_calls: list[str]
) -> None:
    response = client_as("support").get(find_url("  usr_alice  "))
    assert response.status_code == 302
    assert response.url == tenant_url("usr_alice")
    assert dynamodb_calls == []
    assert not AuditEntry.objects.exists()


def test_find_with_a_project_id_opens_the_project_and_is_audited(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    response = client_as("support").get(find_url(shop.project_id))
    assert response.status_code == 302
    assert response.url == project_url(shop)
    entry = AuditEntry.objects.get()
    assert entry.user.username == "support-user"
    assert entry.object_id == shop.project_id
    assert "usr_alice" in entry.change_message


def test_find_with_a_deployment_id_opens_the_deployment_and_is_audited(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    deployment_id = shop.latest_deployment.deployment_id
    response = client_as("operations").get(find_url(deployment_id))
    assert response.status_code == 302
    assert response.url == reverse(
        "admin:deployments_deployment_detail", args=["usr_alice", deployment_id]
    )
    entry = AuditEntry.objects.get()
    assert (entry.user.username, entry.object_id) == ("operations-user", deployment_id)


@pytest.mark.parametrize("query", [MISSING_PROJECT, "dpl_0000000000000000"])
def test_find_with_an_unknown_id_is_a_404_and_the_attempt_is_audited(
    client_as: ClientAs, query: str
) -> None:
    response = client_as("support").get(find_url(query))
    assert response.status_code == 404
    assert "No project or deployment has this id." in text(response)
    assert "for this tenant" not in text(response)
    assert "not found" in AuditEntry.objects.get(object_id=query).change_message


@pytest.mark.parametrize("query", ["prj_NOT-AN-ID", "dpl_x", "prj_"])
def test_find_with_a_malformed_id_is_a_404(client_as: ClientAs, query: str) -> None:
    assert client_as("support").get(find_url(query)).status_code == 404


def test_find_with_something_that_is_no_id_shows_the_form_with_a_400(
    client_as: ClientAs,
) -> None:
    response = client_as("support").get(find_url("two words"))
    assert response.status_code == 400
    assert "That is not a tenant userId" in text(response)


def test_find_with_nothing_typed_shows_the_form(client_as: ClientAs) -> None:
    response = client_as("support").get(reverse("admin:find") + "?q=%20%20")
    assert response.status_code == 200
    assert 'name="q"' in text(response)


def test_staff_who_may_view_but_not_find_by_id_get_a_403_for_ids_and_no_audit(
    db: None, shop: ProjectSchema
) -> None:
    user = User.objects.create_user("viewer", password="x-long-password-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_tenant_data"))
    client = Client()
    client.force_login(user)
    assert client.get(find_url(shop.project_id)).status_code == 403
    assert client.get(find_url("usr_alice")).status_code == 302
    assert "Find a tenant</a>" in text(client.get(reverse("admin:index")))
    assert not AuditEntry.objects.exists()


# --- tenant page --------------------------------------------------------------------------------


def test_the_tenant_page_lists_projects_with_their_latest_deployment_in_two_calls(
    client_as: ClientAs, dynamodb_calls: list[str]
) -> None:
    first, second = make_project("usr_alice", "Storefront"), make_project("usr_alice", "Blog")
    deployment = push(first, "Ship the new cart")
    make_project("usr_bob", "Bobs secret")
    dynamodb_calls.clear()
    response = client_as("support").get(tenant_url("usr_alice"))
    assert response.status_code == 200
    assert dynamodb_calls == ["Query", "Query"]
    html = text(response)
    assert "Tenant usr_alice" in html
    assert html.index("Blog") < html.index("Storefront")  # newest first
    assert "Bobs secret" not in html
    assert '<span class="badge badge-queued">queued</span>' in html
    assert f'title="{SHA}">0123456</code>' in html
    assert "Ship the new cart" in html
    assert second.project_id in html and deployment.deployment_id in html


def test_the_tenant_pages_two_lists_page_separately(
    client_as: ClientAs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    made = [make_project("usr_alice", f"Project {n}") for n in range(3)]
    for _ in range(3):
        push(made[0])
    support = client_as("support")
    first = text(support.get(tenant_url("usr_alice")))
    next_projects, next_deployments = links(first, "next")
    assert "dcursor=" in next_deployments and "cursor=" in next_projects
    second = text(support.get(next_projects))
    assert "Project 0" in second and "Project 2" not in second
    both = text(support.get(links(second, "next")[-1]))
    assert "Project 0" in both  # the projects list stayed on its page 2
    assert both.count('class="badge badge-queued"') == 1 + 1  # one latest summary + one row
    back = links(both, "prev")
    assert len(back) == 2
    again = text(support.get(back[0]))
    assert "Project 2" in again and "Project 0" not in again


def test_an_unknown_tenant_is_a_404(client_as: ClientAs) -> None:
    response = client_as("support").get(tenant_url("usr_nobody"))
    assert response.status_code == 404


def test_a_malformed_tenant_id_is_a_404_without_reading_anything(
    client_as: ClientAs, dynamodb_calls: list[str]
) -> None:
    assert client_as("support").get(tenant_url("bad.tenant*id")).status_code == 404
    assert dynamodb_calls == []


@pytest.mark.parametrize("param", ["cursor", "dcursor"])
def test_a_tampered_tenant_page_cursor_is_a_400(
    client_as: ClientAs, shop: ProjectSchema, param: str
) -> None:
    response = client_as("support").get(tenant_url("usr_alice") + f"?{param}=abc:def:ghi")
    assert response.status_code == 400
    assert "Bad page link" in text(response)


def test_a_cursor_of_one_list_is_refused_by_the_other(
    client_as: ClientAs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    make_project("usr_alice", "One")
    make_project("usr_alice", "Two")
    support = client_as("support")
    next_projects = links(text(support.get(tenant_url("usr_alice"))), "next")[0]
    swapped = next_projects.replace("cursor=", "dcursor=")
    assert support.get(swapped).status_code == 400


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


# --- edit ---------------------------------------------------------------------------------------


def form_data(project: ProjectSchema, **changes: Any) -> dict[str, Any]:
    return {
        "name": project.name,
        "repo_url": project.repo_url,
        "branch": project.branch,
        "expected_version": project.version,
        "reason": "The tenant renamed the repository",
        **changes,
    }


def test_the_edit_form_shows_the_current_values(client_as: ClientAs, shop: ProjectSchema) -> None:
    response = client_as("operations").get(edit_url(shop))
    assert response.status_code == 200
    html = text(response)
    assert 'value="Storefront"' in html
    assert f'value="{shop.repo_url}"' in html
    assert f'<input type="hidden" name="expected_version" value="{shop.version}"' in html
    assert "Tenant usr_alice</a> &rsaquo; <a href" in html and "&rsaquo; Edit</div>" in html


def test_saving_an_edit_changes_the_project_says_so_and_records_before_and_after(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    operations = client_as("operations")
    response = operations.post(
        edit_url(shop), form_data(shop, name="  Storefront v2 ", branch="release/2")
    )
    assert response.status_code == 302 and response.url == project_url(shop)
    stored = projects.get_project("usr_alice", shop.project_id)
    assert (stored.name, stored.branch, stored.version) == ("Storefront v2", "release/2", 2)
    page = text(operations.get(response.url))
    assert "Saved project “Storefront v2”" in page
    entry = AuditEntry.objects.get(object_id=shop.project_id)
    assert entry.user.username == "operations-user"
    assert "branch: main → release/2" in entry.change_message
    assert "name: Storefront → Storefront v2" in entry.change_message


def test_invalid_input_is_shown_next_to_each_field_and_nothing_is_saved(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    response = client_as("operations").post(
        edit_url(shop), form_data(shop, name=" ab ", repo_url="ftp://example.com/x", branch="a..b")
    )
    assert response.status_code == 400
    html = text(response)
    assert "Please correct the errors below." in html
    for field in ("name", "repo_url", "branch"):
        row = html[html.index(f"field-{field}") :][:600]
        assert '<ul class="errorlist' in row, field
    assert "at least 3 characters" in html
    assert projects.get_project("usr_alice", shop.project_id) == shop
    assert not AuditEntry.objects.exists()


def test_a_stale_edit_is_refused_with_a_clear_conflict_message(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    projects.update_project("usr_alice", shop.project_id, {"name": "Changed elsewhere"})
    response = client_as("operations").post(edit_url(shop), form_data(shop, branch="develop"))
    assert response.status_code == 409
    assert "Conflict: this project was changed while you were editing it" in text(response)
    stored = projects.get_project("usr_alice", shop.project_id)
    assert (stored.name, stored.branch) == ("Changed elsewhere", "main")
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("version", ["1" + "0" * 40, "-1", "abc"])
def test_a_forged_version_is_a_form_error_not_a_crash(
    client_as: ClientAs, shop: ProjectSchema, version: str
) -> None:
    data = {**form_data(shop, branch="develop"), "expected_version": version}
    response = client_as("operations").post(edit_url(shop), data)
    assert response.status_code in (200, 400)
    assert projects.get_project("usr_alice", shop.project_id).branch == "main"


def test_saving_an_unchanged_form_writes_nothing(client_as: ClientAs, shop: ProjectSchema) -> None:
    operations = client_as("operations")
    response = operations.post(edit_url(shop), form_data(shop))
    assert response.status_code == 302
    assert "Nothing changed" in text(operations.get(response.url))
    assert projects.get_project("usr_alice", shop.project_id).version == shop.version


def test_an_edit_posted_without_the_csrf_token_is_refused(
    operations_user: User, shop: ProjectSchema
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operations_user)
    response = client.post(edit_url(shop), form_data(shop, name="No token"))
    assert response.status_code == 403
    assert projects.get_project("usr_alice", shop.project_id).name == "Storefront"


def test_editing_another_tenants_project_is_a_404_and_changes_nothing(
    client_as: ClientAs, shop: ProjectSchema
) -> None:
    response = client_as("operations").post(
        edit_url(shop, user_id="usr_mallory"), form_data(shop, name="Pwned")
    )
    assert response.status_code == 404
    assert projects.get_project("usr_alice", shop.project_id).name == "Storefront"


def test_times_on_the_page_are_singapore_times(client_as: ClientAs, shop: ProjectSchema) -> None:
    html = text(client_as("support").get(project_url(shop)))
    local = shop.created_at.astimezone(UTC) + timedelta(hours=8)
    assert f"{local:%Y-%m-%d %H:%M:%S} SGT" in html
    assert datetime.now(UTC)  # the page was rendered now: created is "just now"
    assert ">just now</time>" in html


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_pages_refuse_methods_they_do_not_serve(
    client_as: ClientAs, shop: ProjectSchema, method: str
) -> None:
    operations = client_as("operations")
    for url in (tenant_url("usr_alice"), project_url(shop), edit_url(shop)):
        assert getattr(operations, method)(url).status_code == 405
    assert projects.get_project("usr_alice", shop.project_id) == shop
