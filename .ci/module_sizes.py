"""`make lint`'s size rule: no production module over 500 lines (issue 23, "one thing per module").

Production is every .py file of the tree except tests/, benchmarks/, migrations/ and what is not
the project's own (hidden folders such as .venv and .local, node_modules). A new package falls
under the rule the day it is created. Prints each offender with its line count and exits 1; exits
0 with one summary line when every module fits.

    python .ci/module_sizes.py [ROOT] [--max LINES]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

MAX_LINES = 500
NOT_PRODUCTION = {"tests", "benchmarks", "migrations", "node_modules", "__pycache__"}


def production_modules(root: Path) -> Iterator[Path]:
    """Every production .py file under `root`, in path order."""
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts[:-1]
        if any(part in NOT_PRODUCTION or part.startswith(".") for part in parts):
            continue
        yield path


def line_count(path: Path) -> int:
    """The file's lines, as `wc -l` counts them (a last line without a newline counts too)."""
    return len(path.read_text(encoding="utf-8", errors="replace").splitlines())


def oversized(root: Path, max_lines: int = MAX_LINES) -> list[tuple[Path, int]]:
    """(path relative to root, lines) of each production module over `max_lines`."""
    found = []
    for path in production_modules(root):
        lines = line_count(path)
        if lines > max_lines:
            found.append((path.relative_to(root), lines))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--max", type=int, default=MAX_LINES, dest="max_lines")
    options = parser.parse_args(argv)
    offenders = oversized(options.root, options.max_lines)
    for path, lines in offenders:
        print(f"{path}: {lines} lines (at most {options.max_lines}); split it by concern")
    if offenders:
        return 1
    count = sum(1 for _ in production_modules(options.root))
    print(f"module sizes: all {count} production modules are at most {options.max_lines} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
