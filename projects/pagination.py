"""Next / previous / first links for the dashboard's cursor-paginated lists.

DynamoDB only pages forward, so "previous" is kept in the URL: a list's page is the query
parameter `cursor` (or another name, when a page shows two lists) and the cursors of the pages
before it ride along as a repeated parameter (`back`), an empty value standing for the first page.
Every cursor in the trail is a signed repository cursor, checked again when it is used, so a
tampered trail is a 400 page like a tampered cursor. The trail keeps the last MAX_TRAIL pages;
beyond that "previous" still works that far back and "first page" always works.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, QueryDict

from infra.core.dynamo import Page

MAX_TRAIL = 40


@dataclass(frozen=True)
class Pager:
    """The links of one paginated list; a link is None when there is nowhere to go."""

    number: int | None  # 1-based, None when the trail was cut short
    next_url: str | None
    previous_url: str | None
    first_url: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_url or self.previous_url)


def current_cursor(request: HttpRequest, param: str = "cursor") -> str | None:
    """The cursor this request asks for (None for the first page)."""
    return request.GET.get(param) or None


def build_pager(
    request: HttpRequest, page: Page, *, param: str = "cursor", back_param: str = "back"
) -> Pager:
    """Links to the next, previous and first pages of `page`, keeping every other parameter."""
    current = request.GET.get(param, "")
    trail = request.GET.getlist(back_param)[-MAX_TRAIL:]

    def url(cursor: str, new_trail: list[str]) -> str:
        query: QueryDict = request.GET.copy()
        query.pop(param, None)
        query.pop(back_param, None)
        if cursor:
            query[param] = cursor
            query.setlist(back_param, new_trail)
        return _with_query(request, query)

    next_url = url(page.next_cursor, [*trail, current]) if page.next_cursor else None
    if trail:
        previous_url = url(trail[-1], trail[:-1])
    elif current:
        previous_url = url("", [])
    else:
        previous_url = None
    first_url = url("", []) if current else None
    if not current:
        number: int | None = 1
    elif trail and trail[0] == "":
        number = len(trail) + 1
    else:
        number = None
    return Pager(number=number, next_url=next_url, previous_url=previous_url, first_url=first_url)


def without(request: HttpRequest, *params: str, **replace: str) -> str:
    """This page's URL with `params` removed and `replace` set (e.g. a filter resetting paging)."""
    query: QueryDict = request.GET.copy()
    for name in (*params, *replace):
        query.pop(name, None)
    for name, value in replace.items():
        if value:
            query[name] = value
    return _with_query(request, query)


def _with_query(request: HttpRequest, query: QueryDict) -> str:
    return f"{request.path}?{query.urlencode()}" if query else request.path
