"""`make lint`'s module-size rule (.ci/module_sizes.py), run as make runs it, on made-up trees."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "module_sizes.py"


def write(root: Path, relative: str, lines: int) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"value_{n} = {n}\n" for n in range(lines)))


def run(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(root), *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_a_production_module_over_500_lines_fails_lint_and_is_named(tmp_path: Path) -> None:
    write(tmp_path, "deployments/storage.py", 501)
    write(tmp_path, "deployments/logread.py", 500)
    write(tmp_path, "newpackage/web/views.py", 900)

    result = run(tmp_path)

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "deployments/storage.py: 501 lines (at most 500); split it by concern",
        "newpackage/web/views.py: 900 lines (at most 500); split it by concern",
    ]


def test_tests_benchmarks_migrations_and_foreign_code_are_not_held_to_it(tmp_path: Path) -> None:
    write(tmp_path, "deployments/repository.py", 400)
    write(tmp_path, "tests/integration/test_everything.py", 2000)
    write(tmp_path, "benchmarks/scale.py", 900)
    write(tmp_path, "staff/migrations/0001_initial.py", 700)
    write(tmp_path, ".venv/lib/python3.11/site-packages/django/db/models/base.py", 2500)
    write(tmp_path, "tests/e2e/node_modules/pkg/setup.py", 600)

    result = run(tmp_path)

    assert result.returncode == 0, result.stdout
    expected = "module sizes: all 1 production modules are at most 500 lines"
    assert result.stdout.strip() == expected


def test_the_limit_can_be_set_for_a_trial(tmp_path: Path) -> None:
    write(tmp_path, "infra/local/localaws.py", 301)

    assert run(tmp_path, "--max", "300").returncode == 1
    assert run(tmp_path, "--max", "301").returncode == 0
