"""The log viewer page: line numbers, go to line, first error, search, ANSI colours, bad links."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from deployments import logread
from tests.integration.log_viewer.conftest import (
    CHUNK,
    S,
    lines_of,
    link,
    numbered_lines,
    put_log,
    range_sizes,
    url,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]


# --- the viewer page --------------------------------------------------------------------------


def test_the_viewer_numbers_lines_and_its_newer_and_older_links_keep_the_numbers(
    client_as, make, monkeypatch
):
    monkeypatch.setattr(logread, "LOG_CHUNK_BYTES", CHUNK)
    deployment = make()
    put_log(deployment, lines_of(400))
    expected = lines_of(400).decode().splitlines()
    client = client_as("support")

    first = client.get(url("log_view", deployment)).content.decode()
    shown = numbered_lines(first)
    assert shown[0] == (1, expected[0]) and link(first, "prev") is None
    page = first
    for _ in range(3):
        page = client.get(link(page, "next")).content.decode()
    later = numbered_lines(page)
    assert later and all(expected[n - 1] == text for n, text in later)
    back = numbered_lines(client.get(link(page, "prev")).content.decode())
    assert back[-1][0] == later[0][0] - 1
    assert all(expected[n - 1] == text for n, text in back)


def test_the_end_of_a_big_log_offers_to_number_its_lines_and_counting_lands_on_them(
    client_as, make, monkeypatch
):
    monkeypatch.setattr(logread, "LOG_CHUNK_BYTES", CHUNK)
    deployment = make()
    put_log(deployment, lines_of(400))
    expected = lines_of(400).decode().splitlines()
    client = client_as("support")

    end = client.get(url("log_view", deployment) + "?last=1").content.decode()
    assert numbered_lines(end) == []
    assert "Line numbers are not known this far into the log" in end
    assert expected[-1] in unescape(end)
    count = re.search(r'href="([^"]+)" class="anchor-logview-count"', end).group(1)
    response = client.get(unescape(count))
    assert response.status_code == 302
    target = response["Location"]
    page = client.get(target).content.decode()
    shown = numbered_lines(page)
    assert shown[-1] == (400, expected[-1])
    assert urlsplit(target).fragment == f"L{shown[0][0]}"


def test_going_to_a_line_opens_its_chunk_scrolled_to_it(client_as, make, monkeypatch):
    monkeypatch.setattr(logread, "LOG_CHUNK_BYTES", CHUNK)
    deployment = make()
    put_log(deployment, lines_of(400))
    client = client_as("support")

    response = client.get(url("log_view", deployment) + "?goto=345")

    assert response.status_code == 302 and response["Location"].endswith("#L345")
    page = client.get(response["Location"]).content.decode()
    assert numbered_lines(page)[0] == (345, lines_of(400).decode().splitlines()[344])


def test_jump_to_first_error_opens_the_first_error_line(client_as, make):
    deployment = make(S.ERROR)
    put_log(
        deployment,
        b"Cloning\nnpm WARN deprecated glob\nCompiling\n"
        b"./src/Cart.tsx(3,1): error TS2304: Cannot find name 'x'\nError: later\n",
    )
    client = client_as("support")

    response = client.get(url("log_view", deployment) + "?error=1")

    assert response.status_code == 302 and response["Location"].endswith("#L4")
    page = client.get(response["Location"]).content.decode()
    assert numbered_lines(page)[0] == (4, "./src/Cart.tsx(3,1): error TS2304: Cannot find name 'x'")


def test_the_error_patterns_come_from_settings(client_as, make, settings):
    settings.ANCHOR_LOG_ERROR_PATTERNS = [r"^BOOM\b"]
    deployment = make(S.ERROR)
    put_log(deployment, b"npm ERR! not an error here\nBOOMERANG\nBOOM went the build\n")

    response = client_as("support").get(url("log_view", deployment) + "?error=1")

    assert response.status_code == 302 and response["Location"].endswith("#L3")


def test_a_log_without_errors_says_so(client_as, make):
    deployment = make()
    put_log(deployment, b"Cloning\nBuild completed\n")

    response = client_as("support").get(url("log_view", deployment) + "?error=1")

    assert response.status_code == 200
    assert "no line matches the error patterns." in response.content.decode()


def test_search_lists_matching_lines_with_links_into_their_chunks(client_as, make):
    deployment = make(S.ERROR)
    put_log(deployment, b"alpha\nModule not found: x\nbeta\nmodule NOT FOUND again\n")
    client = client_as("support")

    page = client.get(url("log_view", deployment), {"q": "module not found"}).content.decode()

    assert "2 lines" in page
    links = re.findall(r'<a class="anchor-ln" href="([^"]+)"[^>]*>(\d+)</a>', page)
    assert [number for _, number in links] == ["2", "4"]
    opened = client.get(unescape(links[1][0])).content.decode()
    assert numbered_lines(opened)[0] == (4, "module NOT FOUND again")


def test_the_search_page_offers_to_continue_past_its_byte_bound(client_as, make, settings):
    settings.ANCHOR_LOG_SCAN_BYTES = 1  # at least one chunk a request
    deployment = make()
    filler = b"x" * 200 + b"\n"
    body = filler * 2000 + b"the needle\n"  # 402 KB: more than one 256 KiB read
    put_log(deployment, body)
    client = client_as("support")

    page = client.get(url("log_view", deployment), {"q": "needle"}).content.decode()

    assert "no line contains it so far" in page
    more = re.search(r'<a href="([^"]+)" class="anchor-logview-continue">', page).group(1)
    assert parse_qs(urlsplit(unescape(more)).query)["q"] == ["needle"]
    page = client.get(unescape(more)).content.decode()
    assert re.findall(r'<a class="anchor-ln" href="[^"]+"[^>]*>(\d+)</a>', page) == ["2001"]


@pytest.mark.parametrize(
    "hostile",
    [
        b"\x1b[31m<script>alert(1)</script>\x1b[0m",
        b'\x1b[38;5;1m"><img src=x onerror=alert(1)>\x1b[0m',
        b'\x1b]8;;javascript:alert(1)\x07click\x1b]8;;\x07 <b onmouseover="x">',
        b'\x1b[1;31;"><svg onload=alert(1)>m text &amp; </pre></span>',
    ],
)
def test_colour_codes_cannot_inject_markup(client_as, make, hostile):
    deployment = make(S.BUILDING)
    put_log(deployment, b"start\n" + hostile + b"\nend\n")
    client = client_as("support")

    pages = [
        client.get(url("log_view", deployment)).content.decode(),
        client.get(url("detail", deployment)).content.decode(),
        client.get(url("log_view", deployment), {"q": "e"}).content.decode(),
    ]

    for page in pages:
        logs = re.findall(r'<pre class="anchor-log[^"]*">(.*?)</pre>', page, re.S)
        assert logs and any("end" in re.sub("<[^>]+>", "", log) for log in logs)
        for log in logs:
            # Only the viewer's own markup: colour spans, line-number links, search marks.
            tags = re.findall(r"<(/?[a-zA-Z]+)([^>]*)>", log)
            assert {name for name, _ in tags} <= {"span", "/span", "a", "/a", "mark", "/mark"}
            for _name, attributes in tags:
                names = re.findall(r'\s([a-z-]+)="', attributes)
                assert set(names) <= {"class", "id", "href", "title", "aria-hidden"}, attributes
                assert "javascript:" not in attributes and "on" not in names
        assert "<script>alert" not in page
    tail = client.get(url("log_tail", deployment)).json()
    for line in tail["lines"]:
        for classes, _text in line:
            assert re.fullmatch(r"(ansi-[a-z0-9-]+( |$))*", classes)


def test_a_missing_or_archived_log_is_a_clear_page_not_an_error(client_as, make):
    missing, archived = make(S.QUEUED), make()
    put_log(archived, b"old\n", StorageClass="DEEP_ARCHIVE")
    client = client_as("support")

    response = client.get(url("log_view", missing))
    assert response.status_code == 200
    assert "No build log is stored for this deployment yet" in response.content.decode()
    response = client.get(url("log_view", archived))
    assert response.status_code == 200
    assert "Archived in DEEP_ARCHIVE." in response.content.decode()
    response = client.get(url("log_view", archived), {"q": "old"})
    assert response.status_code == 200 and "restored in S3" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "?start=12&line=3&v=abc&sig=forged",
        "?start=-1",
        "?start=1e3",
        "?goto=0",
        "?start=1&end=2",
        "?count=99999999999999999999",
        "?line=4&sig=x&v=%3Cscript%3E&start=1",
    ],
)
def test_damaged_links_are_a_bad_request_page(client_as, make, query):
    deployment = make()
    put_log(deployment, lines_of(50))

    response = client_as("support").get(url("log_view", deployment) + query)

    assert response.status_code == 400
    assert "Bad request" in response.content.decode()


def test_a_link_made_for_a_log_since_replaced_reads_the_new_log(client_as, make, monkeypatch):
    monkeypatch.setattr(logread, "LOG_CHUNK_BYTES", CHUNK)
    deployment = make()
    put_log(deployment, lines_of(300))
    client = client_as("support")
    newer = link(client.get(url("log_view", deployment)).content.decode(), "next")
    put_log(deployment, b"second build\n")

    page = client.get(newer).content.decode()

    assert "The log was replaced since that link was made" in page
    assert numbered_lines(page) == [(1, "second build")]


def test_each_page_of_the_viewer_costs_two_dynamodb_reads_and_one_ranged_get(
    client_as, make, dynamodb_calls, s3_gets
):
    deployment = make()
    put_log(deployment, lines_of(30_000))  # about 500 KB
    client = client_as("support")
    dynamodb_calls.clear()
    s3_gets.clear()

    page = client.get(url("log_view", deployment)).content.decode()
    client.get(link(page, "next"))

    # Per page: the deployment, then its project's name (for the breadcrumbs).
    assert dynamodb_calls == ["Query"] * 4
    crumbs = page.split('<div class="breadcrumbs">', 1)[1].split("</div>", 1)[0]
    assert ">storefront</a>" in crumbs and "Project prj_" not in crumbs
    assert [c["operation"] for c in s3_gets] == ["GetObject", "GetObject"]
    assert max(range_sizes(s3_gets)) <= 256 * 1024


def test_the_deployment_page_links_the_viewer_and_labels_log_times_as_utc(client_as, make):
    deployment = make()
    put_log(deployment, b"[06:00:01.000] Cloning\n")

    page = client_as("support").get(url("detail", deployment)).content.decode()

    assert f'href="{url("log_view", deployment)}"' in page
    assert "Times in the log are UTC" in page
    assert 'id="anchor-live"' not in page  # a finished deployment is not followed
