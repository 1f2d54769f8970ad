"""Newer / older / newest links for the dashboard's cursor-paginated lists.

A list's page is one query parameter (`cursor`, or another name when a page shows two lists)
holding one signed repository cursor that names a position and a direction: "older" reads on
from the last row shown, "newer" reads back from the first. The URL of the thousandth page is
as long as that of the second. A tampered cursor is a 400 page (the repository checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, QueryDict

from infra.core.dynamo import Page
from web.common import params


@dataclass(frozen=True)
class Pager:
    """The links of one paginated list; a link is None when there is nowhere to go."""

    first: bool  # this is the newest page
    next_url: str | None  # older rows
    previous_url: str | None  # newer rows
    first_url: str | None  # the newest page, when this is not it

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_url or self.previous_url)


def current_cursor(request: HttpRequest, param: str = "cursor") -> str | None:
    """The cursor this request asks for (None for the first page); InvalidCursor (a 400) for one
    no console could have made, before any read."""
    return params.cursor(request.GET, param)


def build_pager(request: HttpRequest, page: Page, *, param: str = "cursor") -> Pager:
    """Links to the older, newer and newest pages of `page`, keeping every other parameter."""

    def url(cursor: str | None) -> str:
        query: QueryDict = request.GET.copy()
        query.pop(param, None)
        if cursor:
            query[param] = cursor
        return _with_query(request, query)

    first = page.previous_cursor is None
    return Pager(
        first=first,
        next_url=url(page.next_cursor) if page.next_cursor else None,
        previous_url=url(page.previous_cursor) if page.previous_cursor else None,
        first_url=url(None) if not first and request.GET.get(param) else None,
    )


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
