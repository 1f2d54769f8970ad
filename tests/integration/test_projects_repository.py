"""The projects repository on a real (emulated) DynamoDB: create, read, list, update."""

from __future__ import annotations

import pytest

from infra.core import aws
from infra.core.errors import Conflict, InvalidCursor, NotFound, ValidationError
from infra.core.resources import PROJECTS
from projects import repository as projects

pytestmark = pytest.mark.usefixtures("aws_stage")

WEB = {"name": "web", "repo_url": "https://github.com/acme/web"}


def test_create_project_stores_an_item_with_the_designed_key_layout():
    project = projects.create_project("usr_a", WEB)
    item = aws.dynamodb().get_item(
        TableName=PROJECTS.name(), Key={"PK": {"S": project.project_id}, "SK": {"S": "METADATA"}}
    )["Item"]
    assert project.project_id.startswith("prj_")
    assert item["userId"] == {"S": "usr_a"}
    assert item["repoUrl"] == {"S": "https://github.com/acme/web"}
    assert item["version"] == {"N": "1"}
    assert item["createdAt"]["S"].endswith("Z") and len(item["createdAt"]["S"]) == 24


def test_get_project_returns_what_was_created():
    created = projects.create_project("usr_a", WEB)
    assert projects.get_project("usr_a", created.project_id) == created


def test_create_project_refuses_invalid_input_without_writing():
    with pytest.raises(ValidationError) as caught:
        projects.create_project("usr_a", {"name": "x", "repo_url": "nope"})
    assert set(caught.value.errors) == {"name", "repo_url"}
    assert projects.list_user_projects("usr_a").items == []


def test_create_project_refuses_a_malformed_tenant_id():
    with pytest.raises(ValidationError):
        projects.create_project("usr a/../b", WEB)


def test_create_project_is_conditional_on_the_id_being_new(monkeypatch):
    first = projects.create_project("usr_a", WEB)
    monkeypatch.setattr(projects, "new_project_id", lambda: first.project_id)
    with pytest.raises(Conflict):
        projects.create_project("usr_b", {**WEB, "name": "hijack"})
    assert projects.get_project("usr_a", first.project_id).name == "web"


@pytest.mark.parametrize("project_id", ["prj_missing000000000", "prj_", "nope", "", "prj_ABC"])
def test_get_project_of_an_unknown_or_malformed_id_is_not_found(project_id):
    with pytest.raises(NotFound):
        projects.get_project("usr_a", project_id)


def test_update_project_changes_fields_and_bumps_the_version():
    created = projects.create_project("usr_a", WEB)
    updated = projects.update_project("usr_a", created.project_id, {"branch": "develop"})
    assert updated.branch == "develop"
    assert updated.name == "web"
    assert updated.version == 2
    assert updated.updated_at >= created.updated_at
    assert projects.get_project("usr_a", created.project_id) == updated


def test_a_stale_edit_with_expected_version_raises_conflict_and_changes_nothing():
    created = projects.create_project("usr_a", WEB)
    projects.update_project("usr_a", created.project_id, {"name": "web-2", "expected_version": 1})
    with pytest.raises(Conflict):
        projects.update_project(
            "usr_a", created.project_id, {"name": "web-3", "expected_version": 1}
        )
    stored = projects.get_project("usr_a", created.project_id)
    assert (stored.name, stored.version) == ("web-2", 2)


def test_update_of_a_missing_project_is_not_found_and_creates_nothing():
    with pytest.raises(NotFound):
        projects.update_project("usr_a", "prj_0000000000000000", {"name": "ghost"})
    assert projects.list_user_projects("usr_a").items == []


def test_update_project_refuses_invalid_changes():
    created = projects.create_project("usr_a", WEB)
    with pytest.raises(ValidationError) as caught:
        projects.update_project("usr_a", created.project_id, {"repo_url": "ftp://x/y"})
    assert "repo_url" in caught.value.errors


def test_list_user_projects_pages_newest_first_without_duplicates_or_gaps():
    created = [
        projects.create_project("usr_a", {**WEB, "name": f"site-{i:02d}"}) for i in range(11)
    ]
    seen, cursor, pages = [], None, 0
    while True:
        page = projects.list_user_projects("usr_a", limit=4, cursor=cursor)
        pages += 1
        assert page.items, "a next link must never lead to an empty page"
        seen += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert [p.project_id for p in seen] == [
        p.project_id for p in sorted(created, key=lambda p: p.created_at, reverse=True)
    ]
    assert len({p.project_id for p in seen}) == 11


def test_a_page_that_is_exactly_full_has_no_next_cursor():
    for i in range(4):
        projects.create_project("usr_a", {**WEB, "name": f"site-{i}"})
    page = projects.list_user_projects("usr_a", limit=4)
    assert len(page.items) == 4
    assert page.next_cursor is None


def test_a_tampered_cursor_is_refused():
    for i in range(3):
        projects.create_project("usr_a", {**WEB, "name": f"site-{i}"})
    cursor = projects.list_user_projects("usr_a", limit=2).next_cursor
    with pytest.raises(InvalidCursor):
        projects.list_user_projects("usr_a", limit=2, cursor=cursor[:-3] + "abc")
