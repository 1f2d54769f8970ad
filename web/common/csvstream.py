"""Streamed CSV downloads: rows written one at a time, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import StreamingHttpResponse

logger = logging.getLogger("anchor.dashboard")

# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): =, +, -, @; their
# fullwidth forms (U+FF1D, U+FF0B, U+FF0D, U+FF20), which spreadsheets set to East Asian input
# normalise to the ASCII ones; and any C0 control character or DEL (tab, CR, LF and the rest),
# which some spreadsheets skip before looking at what follows.
_FORMULA_START = (
    "=",
    "+",
    "-",
    "@",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
    *map(chr, range(0x20)),
    "\x7f",
)


def safe_cell(value: Any) -> str:
    """The cell as text, quoted with a leading apostrophe when a spreadsheet would run it."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


class _Line:
    """A file-like object whose write() returns what it was given (Django's streaming CSV way)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]], *, what: str) -> Iterator[str]:
    """The header, then each row as one CSV line. Should reading fail mid-way (the response has
    already begun, so no error page can follow), a last line says the export is incomplete."""
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow(header)  # the BOM makes spreadsheets read UTF-8
    count = 0
    try:
        for row in rows:
            yield writer.writerow([safe_cell(cell) for cell in row])
            count += 1
    except Exception:
        logger.exception("%s export stopped after %d rows", what, count)
        yield writer.writerow(
            [f"EXPORT INCOMPLETE: reading stopped after {count} rows; export again."]
        )


def csv_response(filename: str, lines: Iterator[str]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
