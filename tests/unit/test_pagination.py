"""Newer / older / newest links of the dashboard's cursor-paginated lists."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.test import RequestFactory

from infra.core.dynamo import Page
from web.common.pagination import build_pager, without

factory = RequestFactory()


def query(url: str | None) -> dict[str, list[str]]:
    assert url is not None
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def test_the_first_page_links_only_to_older_rows_and_keeps_other_parameters() -> None:
    request = factory.get("/admin/p/", {"status": "error"})
    pager = build_pager(request, Page(items=[1], next_cursor="C2"))
    assert query(pager.next_url) == {"status": ["error"], "cursor": ["C2"]}
    assert pager.first and pager.previous_url is None and pager.first_url is None


def test_a_later_page_links_both_ways_and_to_the_newest_with_one_cursor_each() -> None:
    request = factory.get("/admin/p/", {"status": "error", "cursor": "C3"})
    pager = build_pager(request, Page(items=[1], next_cursor="C4", previous_cursor="B3"))
    assert query(pager.next_url) == {"status": ["error"], "cursor": ["C4"]}
    assert query(pager.previous_url) == {"status": ["error"], "cursor": ["B3"]}
    assert query(pager.first_url) == {"status": ["error"]}
    assert not pager.first


def test_the_url_of_a_deep_page_is_as_long_as_that_of_the_second() -> None:
    second = build_pager(factory.get("/admin/p/", {"cursor": "X" * 150}), Page([1], "Y" * 150))
    deep = build_pager(factory.get("/admin/p/", {"cursor": "Z" * 150}), Page([1], "W" * 150, "V"))
    assert len(deep.next_url or "") == len(second.next_url or "")


def test_the_last_page_has_no_older_link() -> None:
    request = factory.get("/admin/p/", {"cursor": "C9"})
    pager = build_pager(request, Page(items=[1], previous_cursor="B9"))
    assert pager.next_url is None and pager.previous_url and pager.has_other_pages


def test_a_second_list_on_the_page_pages_with_its_own_parameter() -> None:
    request = factory.get("/admin/t/", {"cursor": "P2", "dcursor": "D1"})
    pager = build_pager(request, Page(items=[1], next_cursor="D2"), param="dcursor")
    assert query(pager.next_url) == {"cursor": ["P2"], "dcursor": ["D2"]}


def test_without_drops_paging_when_the_filter_changes() -> None:
    request = factory.get("/admin/p/", {"cursor": "C2", "status": "ready"})
    assert without(request, "cursor", status="error") == "/admin/p/?status=error"
