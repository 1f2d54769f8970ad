"""The dashboard's template tags: what staff see for statuses, SHAs, times and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.template import Context, Template

from web.templatetags.anchor import duration, local_time, relative_time, short_sha


def render(source: str, **context: object) -> str:
    return Template("{% load anchor %}" + source).render(Context(context))


def test_a_status_shows_as_a_badge_coloured_by_its_value() -> None:
    html = render("{{ s|status_badge }}", s="building")
    assert html == '<span class="badge badge-building">building</span>'


def test_an_unknown_status_is_escaped_and_grey() -> None:
    html = render("{{ s|status_badge }}", s="<b>odd</b>")
    assert 'class="badge badge-unknown"' in html
    assert "<b>" not in html and "&lt;b&gt;odd&lt;/b&gt;" in html


def test_a_commit_sha_shows_seven_characters_with_the_full_sha_on_hover() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert short_sha(sha) == f'<code class="sha" title="{sha}">0123456</code>'


def test_absolute_times_are_shown_in_singapore_time() -> None:
    moment = datetime(2025, 3, 1, 23, 30, 5, tzinfo=UTC)
    assert local_time(moment) == "2025-03-02 07:30:05 SGT"


def test_a_relative_time_carries_the_singapore_time_on_hover() -> None:
    moment = datetime.now(UTC) - timedelta(hours=3, minutes=10)
    html = str(relative_time(moment))
    assert ">3\xa0hours ago</time>" in html
    assert f'title="{local_time(moment)}"' in html


def test_a_moment_under_a_minute_ago_reads_just_now() -> None:
    assert ">just now</time>" in str(relative_time(datetime.now(UTC)))


def test_durations_read_as_hours_minutes_and_seconds() -> None:
    assert duration(45.4) == "45s"
    assert duration(187) == "3m 07s"
    assert duration(2 * 3600 + 5 * 60 + 9) == "2h 05m"
    assert duration(None) == "—"
    assert relative_time(None) == "—"


def test_the_stuck_threshold_is_spelt_out_as_staff_say_it() -> None:
    from staff.actions import spelt_out

    said = {m: spelt_out(timedelta(minutes=m)) for m in (1, 45, 60, 90, 120, 180)}
    assert said == {
        1: "a minute",
        45: "45 minutes",
        60: "an hour",
        90: "90 minutes",
        120: "2 hours",
        180: "3 hours",
    }


def test_the_unreadable_row_links_to_the_record_as_stored_when_its_key_names_one() -> None:
    from web.templatetags.anchor import unreadable_url

    deployment = {"PK": "prj_abc", "SK": "DEPLOYMENT#2026-11-30T02:00:00.000Z#dpl_bad"}
    assert unreadable_url(deployment, "acme") == "/admin/tenants/acme/deployments/dpl_bad/"
    project = {"PK": "prj_abc", "SK": "METADATA"}
    assert unreadable_url(project, "acme") == "/admin/tenants/acme/projects/prj_abc/"
    assert unreadable_url(deployment, "") == ""  # a list of many tenants: no link
    assert unreadable_url({"PK": "prj_abc", "SK": "COUNTS#2026-11"}, "acme") == ""
