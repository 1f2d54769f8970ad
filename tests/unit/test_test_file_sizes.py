"""Every test file stays under 600 lines: a newcomer reads one whole, and a long one is split."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
LIMIT = 600


def test_every_file_under_tests_is_shorter_than_600_lines() -> None:
    too_long = {
        str(path.relative_to(TESTS.parent)): lines
        for path in sorted(TESTS.rglob("*.py"))
        if "node_modules" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) >= LIMIT
    }
    assert too_long == {}, (
        f"split these by what they test (shared fixtures and data go to tests/factories.py, "
        f"tests/pages.py or a conftest.py): {too_long}"
    )
