"""Next / previous / first links of the dashboard's cursor-paginated lists."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.test import RequestFactory

from infra.core.dynamo import Page
from projects.pagination import build_pager, without

factory = RequestFactory()


def query(url: str | None) -> dict[str, list[str]]:
    assert url is not None
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def test_the_first_page_links_only_forward_and_keeps_other_parameters() -> None:
    request = factory.get("/list/", {"status": "ready"})
    pager = build_pager(request, Page(items=[1], next_cursor="C2"))
    assert pager.number == 1 and pager.previous_url is None and pager.first_url is None
    assert query(pager.next_url) == {"status": ["ready"], "cursor": ["C2"], "back": [""]}


def test_a_later_page_goes_back_one_page_at_a_time() -> None:
    request = factory.get("/list/", {"cursor": "C3", "back": ["", "C2"]})
    pager = build_pager(request, Page(items=[1], next_cursor="C4"))
    assert pager.number == 3
    assert query(pager.previous_url) == {"cursor": ["C2"], "back": [""]}
    assert query(pager.next_url) == {"cursor": ["C4"], "back": ["", "C2", "C3"]}
    assert pager.first_url == "/list/"


def test_page_two_goes_back_to_the_plain_first_page() -> None:
    request = factory.get("/list/", {"cursor": "C2", "back": [""]})
    pager = build_pager(request, Page(items=[1]))
    assert pager.previous_url == "/list/" and pager.next_url is None


def test_a_second_list_on_the_page_pages_with_its_own_parameters() -> None:
    request = factory.get("/tenant/", {"cursor": "P2", "back": [""]})
    pager = build_pager(
        request, Page(items=[1], next_cursor="D2"), param="dcursor", back_param="dback"
    )
    assert query(pager.next_url) == {
        "cursor": ["P2"],
        "back": [""],
        "dcursor": ["D2"],
        "dback": [""],
    }


def test_changing_the_filter_starts_again_from_the_first_page() -> None:
    request = factory.get("/list/", {"cursor": "C2", "back": [""], "status": "ready"})
    assert without(request, "cursor", "back", status="error") == "/list/?status=error"
    assert without(request, "cursor", "back", "status") == "/list/"
