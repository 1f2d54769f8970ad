"""The dashboard's template tags: what staff see for statuses, SHAs, times and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.template import Context, Template

from projects.templatetags.anchor import duration, local_time, relative_time, short_sha


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
