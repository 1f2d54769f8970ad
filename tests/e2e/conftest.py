"""The browser tests' session report: the accessibility table (tests/e2e/axe.py) at the end."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import axe


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if axe.REPORT:
        terminalreporter.write_sep("-", "axe-core accessibility, every page checked")
        terminalreporter.write_line(axe.table())
        terminalreporter.write_line(f"(also in {axe.REPORT_FILE})")
