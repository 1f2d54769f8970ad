"""docs/support-recipes.md: each recipe's code, read from the page itself, runs on demo data."""

from __future__ import annotations

import re
import shlex
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from infra.core.errors import NotFound
from tests.conftest import build_stage

RECIPES = Path(__file__).resolve().parents[2] / "docs" / "support-recipes.md"
COMMAND = "DEBUG=true .venv/bin/python manage.py local_shell"
# The tenants the recipes name are the first four of the default seed (seed 42); a tenant's
# data does not depend on how many tenants are seeded, so four keep the test quick.
# One writer: moto in-process is not safe under threads (its queries iterate a dict the
# seed's parallel writers change).
SEED = ("--tenants", "4", "--verbosity", "0", "--workers", "1")


def blocks() -> list[tuple[str, str, str]]:
    """(title, code, output shown) for every `local_shell` command of the page, in order."""
    found = []
    title = "intro"
    for part in re.split(r"(?m)^## ", RECIPES.read_text()):
        if part.startswith(tuple("123456789")):
            title = part.split("\n", 1)[0]
        for block in re.findall(r"```console\n(.*?)\n```", part, flags=re.S):
            for match in re.finditer(
                rf"^\$ {re.escape(COMMAND)} -v 0 <<'EOF'\n(.*?)\nEOF\n(.*?)(?=^\$ |\Z)",
                block + "\n",
                flags=re.S | re.M,
            ):
                found.append((title, match.group(1), match.group(2).strip()))
            for match in re.finditer(rf"^\$ {re.escape(COMMAND)} (.*)$", block, flags=re.M):
                words = shlex.split(match.group(1).split(" 2>&1")[0])
                if "-c" in words:
                    found.append((title, words[words.index("-c") + 1], ""))
    return found


def test_every_command_on_the_page_is_the_local_shell_as_written() -> None:
    commands = [line for line in RECIPES.read_text().splitlines() if line.startswith("$ ")]
    assert commands
    assert all(line.startswith(f"$ {COMMAND} ") for line in commands), commands
    assert len(blocks()) == len(commands)


@pytest.fixture(scope="module")
def recipe_results(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> dict:
    """Each recipe run once on moto in-process with the demo data: {code: output or error}."""
    from moto import mock_aws

    from infra.core import aws

    results: dict[str, str | BaseException] = {}
    aws.reset_clients()
    with django_db_blocker.unblock(), mock_aws():
        build_stage()
        call_command("seed_demo", *SEED, stdout=StringIO())
        staff, created = User.objects.get_or_create(username="operator", is_staff=True)
        # get_or_create: a transactional test that ran earlier flushes the migrations' groups.
        staff.groups.add(Group.objects.get_or_create(name="Operations")[0])
        for _title, code, _shown in blocks():
            out = StringIO()
            try:
                from contextlib import redirect_stdout

                with redirect_stdout(out):
                    call_command("shell", command=code, verbosity=0)
                results[code] = out.getvalue()
            except (Exception, SystemExit) as error:
                results[code] = error
        if created:
            staff.delete()
    aws.reset_clients()
    return results


@pytest.mark.parametrize(("title", "code", "shown"), blocks(), ids=[b[0][:40] for b in blocks()])
def test_the_recipe_runs_as_written_and_prints_what_the_page_shows(
    recipe_results: dict, title: str, code: str, shown: str
) -> None:
    result = recipe_results[code]
    if "acme-corp" in code:  # the page shows this one failing: another tenant's project
        assert isinstance(result, NotFound)
        return
    assert not isinstance(result, BaseException), f"{title}: {result!r}"
    assert result.strip()
    # Ids, names and counts that do not depend on when the demo was seeded match the page.
    if "lookup_deployment_owner" in code or "get_build_log" in code:
        assert result.strip().splitlines()[0] == shown.splitlines()[0]
