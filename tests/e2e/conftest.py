"""The browser tests' shared fixtures (tests/e2e/stage.py: moto's server, the console's
production server with one tenant's data, a Chromium page counting CSP violations) and the
session's report: the accessibility table (tests/e2e/axe.py) at the end."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import axe
from tests.e2e.stage import csp_violations, moto_server, page, stage

__all__ = ["csp_violations", "moto_server", "page", "stage"]  # fixtures, registered by import


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if axe.REPORT:
        terminalreporter.write_sep("-", "axe-core accessibility, every page checked")
        terminalreporter.write_line(axe.table())
        terminalreporter.write_line(f"(also in {axe.REPORT_FILE})")
