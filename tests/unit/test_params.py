"""The request-parsing helpers (web.common.params): what parses, and the 400 for what does not."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.core import signing

from infra.core.errors import InvalidCursor, ValidationError
from web.common import params


@pytest.mark.parametrize(
    "raw", ["²", "٣", "\uff11\uff12", "1.5", "-1", " 1", "1 ", "0x10", "1e3", "9" * 16]
)
def test_a_number_that_is_not_plain_ascii_digits_is_refused_naming_the_parameter(raw):
    with pytest.raises(ValidationError) as refused:
        params.whole_number({"goto": raw}, "goto")
    assert refused.value.errors == {"goto": ["must be a whole number of at most 15 digits"]}


def test_a_number_reads_absent_empty_and_below_its_minimum_as_such():
    assert params.whole_number({}, "n") is None
    assert params.whole_number({"n": ""}, "n") is None
    assert params.whole_number({"n": "007"}, "n") == 7
    with pytest.raises(ValidationError, match="at least 1"):
        params.whole_number({"n": "0"}, "n", minimum=1)


@pytest.mark.parametrize("signature", ["é", "\x00", "\U0001d7d8" * 27, "", "x" * 10_000])
def test_a_signature_of_any_characters_is_simply_wrong_never_an_error(signature):
    signer = signing.Signer(salt="test")
    assert params.signed(signer, "value", signature) is False
    assert params.signed(signer, "value", signer.signature("value")) is True
    assert params.signed(signer, "välue", signer.signature("välue")) is True


@pytest.mark.parametrize("raw", ["é", "a b", "x" * 1025, "abc\x00", "\uff41\uff42\uff43:def"])
def test_a_cursor_no_console_made_is_a_bad_page_link(raw):
    with pytest.raises(InvalidCursor, match="damaged"):
        params.cursor({"cursor": raw})


def test_a_cursor_shaped_like_a_signed_value_is_left_for_the_repository_to_check():
    made = signing.TimestampSigner(salt="x").sign_object({"k": {"PK": "a"}})
    assert params.cursor({"cursor": made}) == made
    assert params.cursor({}) is None


def test_a_choice_is_exact_and_its_refusal_lists_the_choices():
    assert params.choice({"s": "ready"}, "s", ["ready", "error"]) == "ready"
    for raw in ("READY", "ready ", "\uff52\uff45\uff41\uff44\uff59", "\u202eydaer"):
        with pytest.raises(ValidationError, match="is not one of ready, error"):
            params.choice({"s": raw}, "s", ["ready", "error"])


def test_a_token_must_match_whole():
    pattern = re.compile(r"[0-9a-f]{4}", re.ASCII)
    assert params.token({"m": "beef"}, "m", pattern, "not a mark") == "beef"
    with pytest.raises(ValidationError, match="not a mark"):
        params.token({"m": "beef\n"}, "m", pattern, "not a mark")


@pytest.mark.parametrize("day", [date(1, 1, 1), date(1969, 12, 31), date(9999, 12, 31)])
def test_a_day_at_the_calendars_edges_is_refused_with_the_range(day):
    with pytest.raises(ValidationError) as refused:
        params.check_day(day, "until")
    assert refused.value.errors == {"until": ["must be a date from 1970-01-01 to 9999-12-30"]}


def test_the_days_at_the_ends_of_the_range_are_usable():
    assert params.check_day(params.FIRST_DAY, "since") == date(1970, 1, 1)
    assert params.check_day(params.LAST_DAY, "until") == date(9999, 12, 30)
