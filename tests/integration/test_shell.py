"""`manage.py shell` for support: everything a support query needs is already imported."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from moto.server import ThreadedMotoServer

from deployments.repository import list_project_deployments
from infra.core import aws
from infra.core.errors import NotFound
from infra.local import demo
from staff.lookups import lookup_deployment_owner, lookup_project_owner
from staff.management.commands.shell import Command as ShellCommand
from staff.models import AuditEntry
from tests.conftest import build_stage

ROOT = Path(__file__).resolve().parents[2]
# One writer: moto in-process is not safe under threads.
SMALL = ("--tenants", "2", "--max-deployments", "10", "--verbosity", "0", "--workers", "1")


def first_tenant() -> tuple[str, str, str]:
    """(userId, projectId, name) of the first demo tenant's first project (seed 42)."""
    plan = demo.plan_tenants(42, 1)[0]
    return plan.user_id, plan.projects[0].project_id, plan.projects[0].name


@pytest.fixture
def seeded(mocked_aws: None) -> None:
    build_stage()
    call_command("seed_demo", *SMALL, stdout=StringIO())


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server on a free loopback port, with this process's clients pointed at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    aws.reset_clients()
    yield endpoint
    aws.reset_clients()
    server.stop()


def run_manage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_namespace_holds_repository_schemas_exceptions_and_ready_clients(
    mocked_aws: None,
) -> None:
    namespace: dict[str, Any] = ShellCommand(stdout=StringIO()).get_namespace(verbosity=0)

    for name in (
        "get_project",
        "list_user_projects",
        "list_project_deployments",
        "list_user_deployments",
        "get_deployment",
        "get_build_log",
        "ProjectSchema",
        "DeploymentSchema",
        "DeploymentStatus",
        "NotFound",
        "Unavailable",
        "InvalidCursor",
        "Page",
        "aws",
        "lookup_deployment_owner",
        "LogEntry",
    ):
        assert name in namespace, name
    assert namespace["dynamodb"].meta.service_model.service_name == "dynamodb"
    assert namespace["s3"].meta.service_model.service_name == "s3"
    assert namespace["NotFound"] is NotFound
    # Cross-tenant look-ups only through the audited helpers.
    assert "resolve_deployment_tenant" not in namespace
    assert "resolve_project_tenant" not in namespace


def test_no_imports_still_gives_an_empty_shell(mocked_aws: None) -> None:
    assert ShellCommand(stdout=StringIO()).get_namespace(verbosity=0, no_imports=True) == {}


@pytest.mark.usefixtures("seeded")
def test_shell_c_answers_a_query_on_seeded_data(capsys: pytest.CaptureFixture[str]) -> None:
    user_id, project_id, name = first_tenant()

    call_command(
        "shell", command=f"print(get_project({user_id!r}, {project_id!r}).name)", verbosity=0
    )

    assert capsys.readouterr().out.strip() == name


def test_the_interactive_shell_points_to_the_audited_owner_look_ups(mocked_aws: None) -> None:
    out = StringIO()
    ShellCommand(stdout=out).get_namespace(verbosity=1, command=None)
    assert "audit trail" in out.getvalue()
    assert "lookup_deployment_owner" in out.getvalue()


def test_manage_py_shell_c_reads_a_real_endpoint_in_a_new_process(moto_server: str) -> None:
    build_stage()
    call_command("seed_demo", *SMALL, stdout=StringIO())
    user_id, project_id, name = first_tenant()

    result = run_manage("shell", "-c", f"print(get_project({user_id!r}, {project_id!r}))")

    assert result.returncode == 0, result.stderr
    assert f"project_id='{project_id}'" in result.stdout
    assert f"name='{name}'" in result.stdout


def test_manage_py_shell_lists_what_it_imported() -> None:
    result = run_manage("shell", "-v", "2", "-c", "print(type(dynamodb).__name__)")

    assert result.returncode == 0, result.stderr
    assert "from projects.repository import" in result.stdout
    assert "from infra.core.errors import" in result.stdout
    assert "dynamodb = aws.dynamodb()" in result.stdout
    assert result.stdout.strip().endswith("DynamoDB")


@pytest.fixture
def staff(db: None) -> User:
    return User.objects.create_user(username="mei", password="x-unused-x", is_staff=True)


@pytest.mark.usefixtures("seeded", "staff")
def test_an_audited_look_up_names_the_owner_and_leaves_an_entry() -> None:
    user_id, project_id, _name = first_tenant()
    deployment = list_project_deployments(user_id, project_id, limit=1).items[0]

    assert lookup_deployment_owner(deployment.deployment_id, staff="mei") == (user_id, project_id)
    assert lookup_project_owner(project_id, staff="mei") == user_id

    entries = list(AuditEntry.objects.order_by("action_time"))
    assert [e.object_id for e in entries] == [deployment.deployment_id, project_id]
    assert all(e.user.username == "mei" for e in entries)
    assert f"owned by tenant {user_id}" in entries[0].change_message
    assert "manage.py shell" in entries[0].change_message


@pytest.mark.usefixtures("seeded", "staff")
def test_an_audited_look_up_of_an_unknown_id_is_recorded_too() -> None:
    with pytest.raises(NotFound):
        lookup_deployment_owner("dpl_0000000000000000", staff="mei")
    assert "not found" in AuditEntry.objects.get().change_message


@pytest.mark.usefixtures("seeded")
def test_an_audited_look_up_needs_a_real_staff_account(db: None) -> None:
    User.objects.create_user(username="visitor", password="x-unused-x", is_staff=False)
    with pytest.raises(ValueError, match="no staff account"):
        lookup_deployment_owner("dpl_0000000000000000", staff="visitor")
    assert not AuditEntry.objects.exists()
