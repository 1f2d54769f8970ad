"""Tenants and roles on the viewer and the tail, and the live tail's offsets, ETags and end."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from deployments import livetail
from deployments import repository as deployments
from tests.factories import OTHER, TENANT
from tests.integration.log_viewer.conftest import S, put_log, range_sizes, url

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.parametrize("aws_stage", ["moto"], indirect=True),
]


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
