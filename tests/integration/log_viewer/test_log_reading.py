"""Reading a build log on moto: ranged chunks, line numbers, replaced and missing logs, search."""

from __future__ import annotations

import pytest

from deployments import logread, logsearch
from tests.integration.log_viewer.conftest import CHUNK, TENANT, lines_of, put_log, range_sizes

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]


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
