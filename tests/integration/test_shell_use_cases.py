"""The audited exports and the needs-attention feed from `manage.py shell`: the same use cases
the pages call, in the name of a staff account, each leaving its audit entry."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from deployments.repository import list_project_deployments
from infra.core.errors import NotFound
from infra.local import demo
from staff.models import AuditEntry, AuditKind
from tests.conftest import build_stage
from tests.integration.conftest import make_user

SMALL = ("--tenants", "2", "--max-deployments", "10", "--verbosity", "0", "--workers", "1")


@pytest.fixture
def seeded(mocked_aws: None, db: None) -> tuple[str, str]:
    """Demo data for two tenants; (userId, projectId) of the first tenant's first project."""
    build_stage()
    call_command("seed_demo", *SMALL, stdout=StringIO())
    plan = demo.plan_tenants(42, 1)[0]
    return plan.user_id, plan.projects[0].project_id


def _shell(command: str, capsys: pytest.CaptureFixture[str]) -> str:
    call_command("shell", command=command, verbosity=0)
    return capsys.readouterr().out.strip()


def test_the_shell_exports_a_tenants_deployments_and_records_the_export(
    seeded: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    user_id, project_id = seeded
    make_user("support")
    expected = list_project_deployments(user_id, project_id, limit=100).items

    out = _shell(
        f"rows = list(export_tenant_deployments('support-user', {user_id!r}, "
        f"project_id={project_id!r})); print(len(rows), rows[0].deployment_id)",
        capsys,
    )

    assert out == f"{len(expected)} {expected[0].deployment_id}"
    entry = AuditEntry.objects.get()
    assert entry.kind == AuditKind.EXPORT
    assert entry.tenant == user_id
    assert entry.username == "support-user"
    assert project_id in entry.change_message


def test_an_export_of_another_tenants_project_is_not_found_and_not_recorded(
    seeded: tuple[str, str],
) -> None:
    from staff.exports import export_tenant_deployments

    user_id, project_id = seeded
    other = demo.plan_tenants(42, 2)[1].user_id
    make_user("support")
    with pytest.raises(NotFound):
        export_tenant_deployments("support-user", other, project_id=project_id)
    assert not AuditEntry.objects.exists()
    assert user_id != other


def test_the_shell_exports_the_audit_trail_up_to_where_it_began(
    seeded: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    user_id, _project_id = seeded
    make_user("support")
    _shell(f"list(export_tenant_deployments('support-user', {user_id!r}))", capsys)

    out = _shell(
        "print([e.kind for e in export_audit_trail('support-user')])",
        capsys,
    )

    # The earlier export is in the file; the audit export's own entry comes after it.
    assert out == "['export']"
    assert AuditEntry.objects.filter(kind=AuditKind.EXPORT).count() == 2


def test_the_shell_reads_the_attention_feed_and_records_the_visit(
    seeded: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    make_user("support")

    out = _shell(
        "page = attention_feed('support-user', limit=5); "
        "print(len(page.rows) <= 5, all(r.kind for r in page.rows))",
        capsys,
    )

    assert out == "True True"
    entry = AuditEntry.objects.get()
    assert entry.kind == AuditKind.ATTENTION
    assert "needs-attention" in entry.change_message


def test_the_use_cases_refuse_an_account_without_the_permission(seeded: tuple[str, str]) -> None:
    from staff.attention import attention_feed
    from staff.exports import export_audit_trail, export_tenant_deployments

    user_id, _project_id = seeded
    clerk = User.objects.create_user(username="clerk", password="x-unused-x", is_staff=True)
    for call in (
        lambda: export_tenant_deployments(clerk, user_id),
        lambda: export_audit_trail(clerk),
        lambda: attention_feed(clerk),
    ):
        with pytest.raises(PermissionDenied):
            call()
    with pytest.raises(ValueError, match="no staff account"):
        attention_feed("nobody")
    assert not AuditEntry.objects.exists()
