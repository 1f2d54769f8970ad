"""The tenant page: projects with their latest deployment, its two paged lists, bad cursors."""

from __future__ import annotations

import pytest

from projects.schemas import ProjectSchema
from tests.integration.dashboard_projects.conftest import SHA, ClientAs, make_project, push
from tests.pages import links, tenant_url, text
from web.projects import views

pytestmark = pytest.mark.usefixtures("aws_stage")


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
