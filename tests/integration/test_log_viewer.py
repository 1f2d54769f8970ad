"""The log viewer and the live tail on moto: ranged chunks, line numbers, search, jumps, ANSI
colours, the tail's offsets and ETags, tenants and roles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from deployments import livetail, logread, logsearch
from deployments import repository as deployments
from deployments.schemas import DeploymentSchema, DeploymentStatus
from infra.core import aws
from infra.core.resources import LOGS, log_key
from projects import repository as projects

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]

S = DeploymentStatus
TENANT, OTHER = "tenant-a", "tenant-b"
PUSH = {"commit_sha": "0123456789abcdef0123456789abcdef01234567", "message": "Add pricing page"}
CHUNK = 1000  # a small chunk, so a few KB of log crosses many chunk boundaries


def url(page: str, deployment: DeploymentSchema, user_id: str = TENANT) -> str:
    return reverse(f"admin:deployments_deployment_{page}", args=[user_id, deployment.deployment_id])


@pytest.fixture
def make(aws_stage: str):
    """make(status, tenant=TENANT): a deployment of a project of that tenant, in that status."""
    made: dict[str, Any] = {}

    def build(status: S = S.READY, tenant: str = TENANT) -> DeploymentSchema:
        if tenant not in made:
            made[tenant] = projects.create_project(
                tenant, {"name": "storefront", "repo_url": "https://github.com/a/storefront"}
            )
        deployment = deployments.create_deployment(tenant, made[tenant].project_id, PUSH)
        if status is S.QUEUED:
            return deployment
        deployments.update_deployment_status(deployment.deployment_id, S.BUILDING)
        if status is not S.BUILDING:
            deployments.update_deployment_status(deployment.deployment_id, status)
        return deployments.get_deployment(tenant, deployment.deployment_id)

    return build


@pytest.fixture
def s3_gets(aws_stage: str) -> Iterator[list[dict[str, Any]]]:
    """The S3 calls made during the test, with each GetObject's byte range."""
    calls: list[dict[str, Any]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        headers = dict(params.get("headers", {}))
        calls.append({"operation": model.name, "range": headers.get("Range", "")})

    events = aws.s3().meta.events
    events.register("before-call.s3.*", record, unique_id="anchor-test-log-gets")
    yield calls
    events.unregister("before-call.s3.*", unique_id="anchor-test-log-gets")


def put_log(deployment: DeploymentSchema, body: bytes, **extra: Any) -> str:
    """Store the log's bytes as they are; returns the object's ETag."""
    return aws.s3().put_object(
        Bucket=LOGS.name(),
        Key=log_key(deployment.project_id, deployment.deployment_id),
        Body=body,
        **extra,
    )["ETag"]


def range_sizes(calls: list[dict[str, Any]]) -> list[int]:
    sizes = []
    for call in calls:
        if call["operation"] == "GetObject":
            first, _, last = call["range"].removeprefix("bytes=").partition("-")
            sizes.append(int(last) if not first else int(last) - int(first) + 1)
    return sizes


def numbered_lines(text: str) -> list[tuple[int, str]]:
    """(number, text) of each numbered line a viewer page shows."""
    rows = re.findall(
        r'<span class="anchor-ll" id="L(\d+)">'
        r'<a class="anchor-ln" href="#L\1">\1</a>(.*?)\n</span>',
        text,
    )
    return [(int(n), unescape(re.sub(r"<[^>]+>", "", body))) for n, body in rows]


def link(text: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', text)
    return unescape(found.group(1)) if found else None


def lines_of(count: int) -> bytes:
    # Line lengths vary (and include two-byte characters), so boundaries fall anywhere.
    return "".join(
        f"step {n} {'é' * (n % 7)}{'x' * (n % 13)}\n" for n in range(1, count + 1)
    ).encode()


# --- chunks -----------------------------------------------------------------------------------


def test_reading_on_chunk_by_chunk_shows_every_line_once_with_the_right_number(make, s3_gets):
    deployment = make()
    put_log(deployment, lines_of(600))
    seen: list[tuple[int | None, str]] = []
    chunk = logread.read_log_chunk(TENANT, deployment, start=0, chunk_bytes=CHUNK)
    while True:
        assert chunk.start == 0 or lines_of(600)[chunk.start - 1 : chunk.start] == b"\n"
        seen += [(line.number, line.text) for line in chunk.lines]
        if not chunk.has_newer:
            break
        position = logread.LogPosition(chunk.end, chunk.next_line)
        chunk = logread.read_log_chunk(
            TENANT, deployment, start=chunk.end, known=position, etag=chunk.etag, chunk_bytes=CHUNK
        )

    expected = lines_of(600).decode().splitlines()
    assert seen == [(n, text) for n, text in enumerate(expected, start=1)]
    assert max(range_sizes(s3_gets)) <= CHUNK


def test_reading_back_from_the_end_keeps_the_numbers_of_the_chunk_it_came_from(make):
    deployment = make()
    put_log(deployment, lines_of(300))
    expected = lines_of(300).decode().splitlines()
    first = logread.read_log_chunk(TENANT, deployment, start=0, chunk_bytes=CHUNK)
    second = logread.read_log_chunk(
        TENANT,
        deployment,
        start=first.end,
        known=logread.LogPosition(first.end, first.next_line),
        etag=first.etag,
        chunk_bytes=CHUNK,
    )

    back = logread.read_log_chunk(
        TENANT,
        deployment,
        end=second.start,
        known=logread.LogPosition(second.start, second.lines[0].number),
        etag=second.etag,
        chunk_bytes=CHUNK,
    )

    assert back.end == second.start
    assert [line.number for line in back.lines] == list(
        range(back.first_line, second.lines[0].number)
    )
    assert all(expected[line.number - 1] == line.text for line in back.lines)


def test_a_chunk_reached_at_an_arbitrary_byte_starts_at_the_next_line_and_is_not_numbered(make):
    deployment = make()
    body = lines_of(200)
    put_log(deployment, body)
    middle = 2503  # inside a line

    chunk = logread.read_log_chunk(TENANT, deployment, start=middle, chunk_bytes=CHUNK)

    assert body[chunk.start - 1 : chunk.start] == b"\n" and chunk.start > middle
    assert chunk.first_line is None and all(line.number is None for line in chunk.lines)
    assert chunk.lines[0].text == body[chunk.start :].split(b"\n")[0].decode()


def test_the_last_chunk_of_a_small_log_is_numbered_from_line_one(make):
    deployment = make()
    put_log(deployment, b"one\ntwo\nthree")

    chunk = logread.read_log_chunk(TENANT, deployment)

    assert [(line.number, line.text) for line in chunk.lines] == [
        (1, "one"),
        (2, "two"),
        (3, "three"),
    ]
    assert not chunk.has_newer and not chunk.has_older


def test_a_line_longer_than_a_chunk_is_cut_between_characters_never_inside_one(make):
    deployment = make()
    long_line = "é€😀" * 700  # 2-, 3- and 4-byte characters, 6,300 bytes on one line
    put_log(deployment, f"before\n{long_line}\nafter\n".encode())
    pieces: list[str] = []
    chunk = logread.read_log_chunk(TENANT, deployment, start=0, chunk_bytes=CHUNK)
    while True:
        for line in chunk.lines:
            assert "\ufffd" not in line.text  # no character was split
        pieces.append("\n".join(line.text for line in chunk.lines))
        if not chunk.has_newer:
            break
        chunk = logread.read_log_chunk(
            TENANT,
            deployment,
            start=chunk.end,
            known=logread.LogPosition(chunk.end, chunk.next_line),
            etag=chunk.etag,
            chunk_bytes=CHUNK,
        )
        if chunk.lines and chunk.lines[0].offset > 7:
            assert chunk.continues_line or chunk.lines[0].text == "after"

    assert "".join(pieces).replace("before", "").replace("after", "").replace("\n", "") == (
        long_line
    )
    assert chunk.lines[-1].number == 3  # the long line kept one number across its chunks


def test_an_unnumbered_read_that_starts_inside_a_character_never_shows_half_of_it(make):
    deployment = make()
    put_log(deployment, ("€" * 600).encode())  # one line, 1,800 bytes, no newline

    for start in (1, 2, 3, 500, 1001):
        chunk = logread.read_log_chunk(TENANT, deployment, start=start, chunk_bytes=CHUNK)
        assert chunk.lines and set(chunk.lines[0].text) == {"€"}


def test_a_replaced_log_is_read_from_its_start_and_says_so(make):
    deployment = make()
    old = put_log(deployment, lines_of(200))
    put_log(deployment, b"rebuilt\n" * 10)

    chunk = logread.read_log_chunk(
        TENANT,
        deployment,
        start=1500,
        known=logread.LogPosition(1500, 90),
        etag=old,
        chunk_bytes=CHUNK,
    )

    assert chunk.replaced and chunk.start == 0 and chunk.lines[0].number == 1
    assert chunk.lines[0].text == "rebuilt"


def test_missing_archived_and_empty_logs_read_as_such(make):
    missing, archived, empty = make(), make(), make()
    put_log(archived, b"old\n", StorageClass="GLACIER")
    put_log(empty, b"")

    assert logread.read_log_chunk(TENANT, missing).state == "missing"
    chunk = logread.read_log_chunk(TENANT, archived)
    assert chunk.state == "archived" and chunk.storage_class == "GLACIER"
    chunk = logread.read_log_chunk(TENANT, empty)
    assert chunk.available and chunk.lines == () and chunk.size == 0


# --- search and jumps -------------------------------------------------------------------------


def test_a_match_split_across_two_ranged_reads_is_found_with_its_line_number(make, s3_gets):
    deployment = make()
    head = b"".join(b"filler line %04d\n" % n for n in range(1, 59))  # 986 bytes
    body = head + b"xx Module not found: @/lib/analytics\n" + b"tail\n" * 50
    assert len(head) < CHUNK < len(head) + 20  # the phrase straddles the first read's end
    put_log(deployment, body)

    scan = logsearch.scan_log(
        TENANT, deployment, logsearch.TextMatcher("module NOT found"), chunk_bytes=CHUNK
    )

    assert [(line.number, line.text) for line in scan.matches] == [
        (59, "xx Module not found: @/lib/analytics")
    ]
    assert scan.matches[0].offset == len(head)
    assert len(range_sizes(s3_gets)) == 2


def test_a_search_reads_at_most_its_budget_and_continues_where_it_stopped(make, s3_gets):
    deployment = make()
    body = lines_of(2000)  # about 30 KB
    put_log(deployment, body)
    needle = "step 1777 "

    first = logsearch.scan_log(
        TENANT, deployment, logsearch.TextMatcher(needle), chunk_bytes=CHUNK, budget=4 * CHUNK
    )

    assert first.matches == () and first.resume is not None
    assert sum(range_sizes(s3_gets)) <= 4 * CHUNK and first.scanned <= 4 * CHUNK
    assert body[first.resume.offset - 1 : first.resume.offset] == b"\n"
    assert body[: first.resume.offset].count(b"\n") + 1 == first.resume.line
    reads = 0
    scan = first
    while scan.resume is not None and not scan.matches:
        scan = logsearch.scan_log(
            TENANT,
            deployment,
            logsearch.TextMatcher(needle),
            start=scan.resume,
            etag=scan.etag,
            chunk_bytes=CHUNK,
            budget=4 * CHUNK,
        )
        reads += 1
    assert [line.number for line in scan.matches] == [1777]
    assert reads > 3


def test_a_search_past_a_line_longer_than_a_read_keeps_offsets_and_numbers(make):
    deployment = make()
    long_line = b"head-marker " + b"z" * 3500
    body = b"first\n" + long_line + b"\nthe needle line\nlast\n"
    put_log(deployment, body)

    in_long = logsearch.scan_log(
        TENANT, deployment, logsearch.TextMatcher("head-marker"), chunk_bytes=CHUNK
    )
    after_it = logsearch.scan_log(
        TENANT, deployment, logsearch.TextMatcher("needle"), chunk_bytes=CHUNK
    )

    assert [(line.number, line.offset) for line in in_long.matches] == [(2, 6)]
    assert [(line.number, line.offset, line.text) for line in after_it.matches] == [
        (3, body.index(b"the needle"), "the needle line")
    ]


def test_search_ignores_colour_codes_and_case(make):
    deployment = make()
    put_log(deployment, b"ok\n\x1b[31mBuild \x1b[1mFAILED\x1b[0m here\nok\n")

    scan = logsearch.scan_log(TENANT, deployment, logsearch.TextMatcher("build failed"))

    assert [(line.number, line.text) for line in scan.matches] == [(2, "Build FAILED here")]


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


# --- tenants and roles ------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["log_view", "log_tail"])
def test_another_tenants_deployment_is_the_same_404_as_a_missing_one(client_as, make, page):
    theirs = make(tenant=OTHER)
    put_log(theirs, b"their secret output\n")
    client = client_as("support")

    other = client.get(url(page, theirs, user_id=TENANT))
    missing = client.get(
        reverse(f"admin:deployments_deployment_{page}", args=[TENANT, "dpl_0000000000000000"])
    )

    assert other.status_code == missing.status_code == 404
    assert b"their secret output" not in other.content


@pytest.mark.parametrize("page", ["log_view", "log_tail"])
@pytest.mark.parametrize("role", ["anonymous", "nonstaff"])
def test_anonymous_and_non_staff_users_get_the_login_page_and_no_log(client_as, make, page, role):
    deployment = make(S.BUILDING)
    put_log(deployment, b"secret build output\n")

    response = client_as(role).get(url(page, deployment))

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("admin:login")
    assert b"secret" not in response.content


@pytest.mark.parametrize("role", ["support", "operations"])
def test_staff_of_either_group_can_read_the_viewer_and_the_tail(client_as, make, role):
    deployment = make(S.BUILDING)
    put_log(deployment, b"line\n")
    client = client_as(role)

    assert client.get(url("log_view", deployment)).status_code == 200
    assert client.get(url("log_tail", deployment)).status_code == 200


# --- the live tail ----------------------------------------------------------------------------


def tail(client, deployment, offset: int = 0, etag: str = "", mark: str = "") -> dict[str, Any]:
    response = client.get(
        url("log_tail", deployment), {"offset": offset, "etag": etag, "mark": mark}
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    return response.json()


def after(client, deployment, answer: dict[str, Any]) -> dict[str, Any]:
    """The next poll, as the page's script makes it."""
    return tail(client, deployment, answer["offset"], answer["etag"], answer["mark"])


def texts(answer: dict[str, Any]) -> list[str]:
    return ["".join(text for _, text in line) for line in answer["lines"]]


def test_the_tail_brings_whole_lines_past_the_offset_and_waits_for_a_line_being_written(
    client_as, make
):
    deployment = make(S.BUILDING)
    first_etag = put_log(deployment, b"one\ntwo\nthr")
    client = client_as("support")

    first = tail(client, deployment)
    assert texts(first) == ["one", "two"] and first["offset"] == 8 and not first["final"]
    assert first["state"] == "lines" and first["status"] == "building"
    nothing = after(client, deployment, first)
    assert nothing["lines"] == [] and nothing["offset"] == 8 and nothing["state"] == "lines"
    # The orchestrator rewrites the object with more lines (S3 cannot append): a new ETag, the
    # same bytes before the offset, so the tail reads on.
    assert put_log(deployment, b"one\ntwo\nthree\nfour\n") != first_etag
    grown = after(client, deployment, first)
    assert grown["state"] == "lines" and texts(grown) == ["three", "four"]
    assert grown["offset"] == len(b"one\ntwo\nthree\nfour\n")


def test_a_log_replaced_by_another_starts_the_tail_over(client_as, make):
    deployment = make(S.BUILDING)
    put_log(deployment, b"".join(b"attempt 1: %d\n" % n for n in range(100)))
    client = client_as("support")
    first = tail(client, deployment)
    put_log(deployment, b"".join(b"attempt 2: %d\n" % n for n in range(300)))  # longer, other

    answer = after(client, deployment, first)

    assert answer["state"] == "replaced" and answer["lines"] == []
    restarted = tail(client, deployment)
    assert texts(restarted)[:2] == ["attempt 2: 0", "attempt 2: 1"]


def test_a_log_replaced_by_a_shorter_one_starts_the_tail_over(client_as, make):
    deployment = make(S.BUILDING)
    put_log(deployment, b"attempt 1\n" * 100)
    client = client_as("support")
    first = tail(client, deployment)
    put_log(deployment, b"attempt 2\n")

    assert after(client, deployment, first)["state"] == "replaced"
    assert texts(tail(client, deployment)) == ["attempt 2"]


def test_a_poll_without_the_mark_of_a_changed_log_starts_over(client_as, make):
    deployment = make(S.BUILDING)
    put_log(deployment, b"one\n")
    client = client_as("support")
    first = tail(client, deployment)
    put_log(deployment, b"one\ntwo\n")

    assert tail(client, deployment, first["offset"], first["etag"])["state"] == "replaced"


def test_the_tail_says_final_once_the_deployment_ends_and_brings_the_last_partial_line(
    client_as, make
):
    deployment = make(S.BUILDING)
    put_log(deployment, b"compiling\nDeployment ready")
    client = client_as("support")
    running = tail(client, deployment)
    assert texts(running) == ["compiling"] and not running["final"]

    deployments.update_deployment_status(deployment.deployment_id, S.READY)
    done = after(client, deployment, running)

    assert done["final"] and done["status"] == "ready"
    assert texts(done) == ["Deployment ready"] and not done["more"]
    # The timeline as the page would render it now: ended, with a final duration.
    assert "not yet" in running["timeline"] and "so far" in running["timeline"]
    assert '<ol class="anchor-timeline">' in done["timeline"]
    assert "not yet" not in done["timeline"] and "so far" not in done["timeline"]
    assert '<span class="badge badge-ready">ready</span>' in done["timeline"]


def test_a_queued_deployment_without_a_log_yet_tails_nothing(client_as, make):
    deployment = make(S.QUEUED)

    answer = tail(client_as("support"), deployment)

    assert "waiting in the queue" in answer.pop("timeline")
    assert answer == {
        "status": "queued",
        "final": False,
        "state": "missing",
        "offset": 0,
        "etag": "",
        "mark": "",
        "more": False,
        "lines": [],
    }


def test_a_long_burst_comes_in_reads_of_at_most_one_chunk(client_as, make, s3_gets):
    deployment = make(S.BUILDING)
    put_log(deployment, b"y" * 99 + b"\n" + (b"z" * 1023 + b"\n") * 400)  # 409,700 bytes
    client = client_as("support")
    s3_gets.clear()

    first = tail(client, deployment)

    assert first["more"] and first["offset"] <= 256 * 1024
    assert range_sizes(s3_gets) == [256 * 1024]
    second = after(client, deployment, first)
    assert not second["more"] and len(first["lines"]) + len(second["lines"]) == 401


def test_the_tail_costs_one_dynamodb_read_and_one_ranged_get(
    client_as, make, dynamodb_calls, s3_gets
):
    deployment = make(S.BUILDING)
    put_log(deployment, b"line\n" * 10)
    client = client_as("support")
    dynamodb_calls.clear()
    s3_gets.clear()

    tail(client, deployment, 10)

    assert len(dynamodb_calls) == 1
    assert [c["operation"] for c in s3_gets] == ["GetObject"]


def test_the_page_of_a_building_deployment_carries_the_tail_and_a_reload_link(client_as, make):
    deployment = make(S.BUILDING)
    etag = put_log(deployment, b"\x1b[32mstep one\x1b[0m\nstep tw")
    page = client_as("support").get(url("detail", deployment)).content.decode()

    live = re.search(r'<p class="anchor-live" id="anchor-live"([^>]*)>', page).group(1)
    assert f'data-tail-url="{url("log_tail", deployment)}"' in live
    first_line = b"\x1b[32mstep one\x1b[0m\n"
    assert f'data-offset="{len(first_line)}"' in live
    assert f'data-etag="{etag.strip(chr(34))}"' in live
    assert f'data-mark="{livetail.log_mark(first_line)}"' in live
    assert "Reload to see new lines" in page
    assert '<span class="ansi-fg-2">step one</span>' in page
    assert "step tw" not in page  # the line being written comes with the tail
    assert re.search(r'<script src="[^"]*anchor/logtail\.js" defer></script>', page)
