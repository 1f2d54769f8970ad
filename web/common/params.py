"""The one way dashboard views read what a request carries: numbers, tokens, signed values,
cursors, the days of date filters (which Django's DateField parses) and choices. Anything
unparseable raises ValidationError (or InvalidCursor), which `web.common.dashboard.dashboard_view`
answers with the admin-styled 400 page naming the parameter and what was wrong: never a 500,
whatever the bytes.

Every helper takes the query (`request.GET`, `request.POST`: any mapping of str to str) and the
parameter's name; an absent or empty parameter is None. Digits are ASCII digits only (Python's
`str.isdigit` also accepts "²" and "٣", which `int` then refuses or misreads).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import NoReturn

from django.core import signing

from infra.core.errors import InvalidCursor, ValidationError

# The days a date filter may name. Nothing the console stores predates 1970, and the last day
# leaves room for the filters' arithmetic (the day after the To date, Singapore's UTC+8): a day
# nearer the calendar's edges would overflow Python's datetime.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9999, 12, 30)
CURSOR_MAX = 1024  # characters of a signed page cursor (ours are under 300)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
# What Django's signing emits: URL-safe base64, ':' between parts, '.' for a compressed payload.
_SIGNED = re.compile(r"[A-Za-z0-9_\-:.]+", re.ASCII)


def refuse(name: str, problem: str) -> NoReturn:
    """Raise the 400 for parameter `name`: "invalid input: goto: line numbers start at 1"."""
    raise ValidationError({name: [problem]})


def _raw(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name)
    return None if value is None or value == "" else value


def whole_number(
    query: Mapping[str, str], name: str, *, digits: int = 15, minimum: int = 0
) -> int | None:
    """A whole number of at most `digits` ASCII digits, at least `minimum`; None if absent."""
    raw = _raw(query, name)
    if raw is None:
        return None
    if len(raw) > digits or not _DIGITS.fullmatch(raw):
        refuse(name, f"must be a whole number of at most {digits} digits")
    number = int(raw)
    if number < minimum:
        refuse(name, f"must be at least {minimum}")
    return number


def token(
    query: Mapping[str, str], name: str, pattern: re.Pattern[str], problem: str
) -> str | None:
    """A value that must match `pattern` whole (an ETag, a mark); `problem` says what it is not."""
    raw = _raw(query, name)
    if raw is None:
        return None
    if not pattern.fullmatch(raw):
        refuse(name, problem)
    return raw


def choice(query: Mapping[str, str], name: str, allowed: Iterable[str]) -> str | None:
    """One of `allowed`, exactly (no trimming, no case folding); None if absent."""
    raw = _raw(query, name)
    if raw is None:
        return None
    options = list(allowed)
    if raw not in options:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        refuse(name, f"{shown!r} is not one of {', '.join(options)}")
    return raw


def cursor(query: Mapping[str, str], name: str = "cursor") -> str | None:
    """A signed page cursor's shape (the repository checks its signature and its list): None if
    absent, InvalidCursor for anything no console could have made."""
    raw = _raw(query, name)
    if raw is None:
        return None
    if len(raw) > CURSOR_MAX or not _SIGNED.fullmatch(raw):
        raise InvalidCursor("this page link is damaged; start again from the first page")
    return raw


def signed(signer: signing.Signer, value: str, signature: str | None) -> bool:
    """Whether `signature` is the signer's for `value`, compared in constant time as bytes (so a
    non-ASCII signature is simply wrong, not an error). False when there is none."""
    if not signature:
        return False
    return signing.constant_time_compare(signature, signer.signature(value))


def check_day(day: date, name: str) -> date:
    """`day` if a filter can use it (FIRST_DAY to LAST_DAY), else the 400 saying so."""
    if not FIRST_DAY <= day <= LAST_DAY:
        refuse(name, f"must be a date from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}")
    return day
