"""The accessibility gate's set-up: without axe-core installed it skips locally, fails in CI."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import axe


@pytest.fixture
def no_axe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setattr(axe, "AXE_JS", tmp_path / "node_modules" / "axe-core" / "axe.min.js")
    axe.axe_source.cache_clear()
    yield
    axe.axe_source.cache_clear()


def test_without_axe_core_a_local_run_skips_and_says_how_to_install_it(
    no_axe: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"run `npm ci` in tests/e2e"):
        axe.axe_source()


def test_without_axe_core_a_ci_run_fails(no_axe: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run in CI"):
        axe.axe_source()


def test_the_table_counts_each_impact_per_page_and_scheme() -> None:
    rows = [
        axe.Row("index", "light", "/", counts=Counter({"moderate": 2}), review=1),
        axe.Row("index", "dark", "/", counts=Counter({"minor": 1})),
    ]
    table = axe.table(rows).splitlines()
    assert table[2].split() == ["index", "light", "0", "0", "2", "0", "1"]
    assert table[3].split() == ["index", "dark", "0", "0", "0", "1", "0"]
    assert "2 checks of 1 pages" in table[4] and "2 moderate, 1 minor" in table[4]
