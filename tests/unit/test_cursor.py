"""Signed cursors: opaque, bound to their list, refused when tampered with."""

from __future__ import annotations

import pytest
from django.core import signing

from infra.core.dynamo import Cursor, decode_cursor, encode_cursor
from infra.core.errors import InvalidCursor

SCOPE = ("project_deployments", "usr_a", "prj_0123456789abcdef", "")
KEY = {"PK": "prj_0123456789abcdef", "SK": "DEPLOYMENT#2026-01-01T00:00:00.000Z#dpl_x"}


def test_a_cursor_round_trips_for_its_own_list_with_its_direction():
    assert decode_cursor(encode_cursor(SCOPE, KEY), SCOPE) == Cursor(KEY, backward=False)
    assert decode_cursor(encode_cursor(SCOPE, KEY, backward=True), SCOPE).backward


def test_a_cursor_does_not_grow_with_the_list_it_belongs_to():
    long_scope = ("project_deployments", "u" * 64, "prj_0123456789abcdef", "canceled")
    assert len(encode_cursor(long_scope, KEY)) == len(encode_cursor(SCOPE, KEY))


def test_an_old_format_cursor_that_carried_its_list_is_refused():
    old = signing.dumps({"s": list(SCOPE), "k": KEY}, salt="anchor.cursor", compress=True)
    with pytest.raises(InvalidCursor):
        decode_cursor(old, SCOPE)


def test_a_cursor_does_not_show_the_key_in_clear_text():
    assert "prj_0123456789abcdef" not in encode_cursor(SCOPE, KEY)


@pytest.mark.parametrize(
    "other",
    [
        ("project_deployments", "usr_b", "prj_0123456789abcdef", ""),
        ("project_deployments", "usr_a", "prj_fedcba9876543210", ""),
        ("project_deployments", "usr_a", "prj_0123456789abcdef", "error"),
        ("user_deployments", "usr_a"),
    ],
)
def test_a_cursor_from_another_list_is_refused(other):
    with pytest.raises(InvalidCursor):
        decode_cursor(encode_cursor(SCOPE, KEY), other)


@pytest.mark.parametrize(
    "mangle", [lambda c: c[:-2] + "xx", lambda c: "x" + c, lambda c: "", lambda c: "a:b"]
)
def test_a_tampered_cursor_is_refused(mangle):
    with pytest.raises(InvalidCursor):
        decode_cursor(mangle(encode_cursor(SCOPE, KEY)), SCOPE)


def test_items_read_back_as_plain_python_with_whole_numbers_as_int():
    from infra.core.dynamo import from_item, to_item

    stored = {
        "s": "text",
        "n": 3,
        "f": 1.5,
        "big": 10**20,
        "e": {"N": "1E+2"},
        "b": True,
        "m": {"x": [1, "y", None]},
        "ss": {"SS": ["a", "b"]},
    }
    item = to_item({k: v for k, v in stored.items() if k not in {"e", "ss"}})
    item["e"], item["ss"], item["z"] = stored["e"], stored["ss"], {"NULL": True}
    read = from_item(item)
    assert sorted(read.pop("ss")) == ["a", "b"]  # a set comes back as a list
    assert read == {
        "s": "text",
        "n": 3,
        "f": 1.5,
        "big": 10**20,
        "e": 100,
        "b": True,
        "m": {"x": [1, "y", None]},
        "z": None,
    }
