"""import_project: history with its own ids and dates, written once, never over another tenant."""

from __future__ import annotations

import pytest

from infra.core.errors import Conflict, ValidationError
from projects.repository import get_project, import_project, list_user_projects
from projects.schemas import ProjectSchema
from tests.factories import CREATED, project_record

pytestmark = pytest.mark.usefixtures("aws_stage")


def project(**changes: object) -> ProjectSchema:
    """acme-corp's storefront as an import gives it: its own id, creation date and version."""
    return project_record(
        **{
            "user_id": "acme-corp",
            "repo_url": "https://github.com/acme-corp/storefront",
            "version": 2,
            **changes,
        }
    )


def test_an_imported_project_keeps_its_own_id_and_creation_date() -> None:
    assert import_project(project()) is True

    stored = get_project("acme-corp", "prj_0123456789abcdef")
    assert stored.created_at == CREATED
    assert stored.version == 2
    assert [p.project_id for p in list_user_projects("acme-corp").items] == ["prj_0123456789abcdef"]


def test_importing_the_same_project_again_changes_nothing() -> None:
    import_project(project())

    assert import_project(project(name="renamed-storefront")) is False
    assert get_project("acme-corp", "prj_0123456789abcdef").name == "storefront"
    assert len(list_user_projects("acme-corp").items) == 1


def test_an_id_held_by_another_tenant_is_refused_and_left_alone() -> None:
    import_project(project())

    with pytest.raises(Conflict):
        import_project(project(user_id="globex"))
    assert get_project("acme-corp", "prj_0123456789abcdef").user_id == "acme-corp"


@pytest.mark.parametrize(
    ("field", "value"),
    [("user_id", "acme corp"), ("project_id", "prj_short"), ("repo_url", "not a url")],
)
def test_an_invalid_project_is_refused_before_anything_is_written(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        import_project(project(**{field: value}))
    assert list_user_projects("acme-corp").items == []
