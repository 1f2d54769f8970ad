"""Retention dates and the Restore header (deployments.archive), from the declared lifecycle."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from deployments import archive
from infra.core.resources import ARTIFACTS, LOGS


def test_the_restore_header_reads_as_in_progress_or_restored_until_its_expiry():
    assert archive.parse_restore(None) is None
    assert archive.parse_restore('ongoing-request="true"') == archive.RestoreState(ongoing=True)
    done = archive.parse_restore(
        'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'
    )
    assert done == archive.RestoreState(False, datetime(2012, 12, 21, tzinfo=UTC))
    assert done.restored
    assert archive.parse_restore("nonsense") is None


def test_lifecycle_dates_round_up_to_the_next_midnight_utc():
    written = datetime(2025, 3, 1, 6, 30, tzinfo=UTC)

    assert archive.lifecycle_due(written, 30) == datetime(2025, 4, 1, tzinfo=UTC)
    assert archive.artifact_expires_at(written) == datetime(2025, 5, 31, tzinfo=UTC)
    assert archive.lifecycle_due(datetime(2025, 3, 1, tzinfo=UTC), 1) == datetime(
        2025, 3, 2, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("storage_class", "next_class", "days"),
    [("STANDARD", "GLACIER", 30), ("GLACIER", "DEEP_ARCHIVE", 365), ("DEEP_ARCHIVE", None, None)],
)
def test_each_log_class_moves_on_as_the_declared_lifecycle_rule_says(
    storage_class, next_class, days
):
    written = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)

    retention = archive.log_retention(storage_class, written)

    assert retention.next_class == next_class
    expected = archive.lifecycle_due(written, days) if days else None
    assert retention.moves_at == expected


def test_the_dates_come_from_the_declaration_not_from_constants_of_their_own():
    assert LOGS.rules[0].transitions == ((30, "GLACIER"), (365, "DEEP_ARCHIVE"))
    assert archive.retention_days() == ARTIFACTS.rules[0].expiration_days == 90


@pytest.mark.parametrize(
    ("storage_class", "wanted", "used"),
    [
        ("DEEP_ARCHIVE", "Expedited", "Standard"),
        ("DEEP_ARCHIVE", "Standard", "Standard"),
        ("DEEP_ARCHIVE", "Bulk", "Bulk"),
        ("GLACIER", "Expedited", "Expedited"),
    ],
)
def test_deep_archive_allows_only_standard_or_bulk(storage_class, wanted, used):
    assert archive.restore_tier(storage_class, wanted) == used


@pytest.mark.parametrize(
    ("size", "moves"),
    [(0, False), (2_400, False), (128 * 1024 - 1, False), (128 * 1024, True), (10**7, True)],
)
def test_only_logs_of_the_declared_minimum_size_or_more_get_a_moving_date(size, moves):
    written = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)

    retention = archive.log_retention("STANDARD", written, size=size)

    assert retention.next_class == "GLACIER"
    assert (retention.moves_at is not None) is moves
    assert retention.below_minimum == (None if moves else 128 * 1024)
    assert moves or retention.minimum_text == "128 KB"


def test_varies_by_storage_class_lets_small_logs_move_to_glacier():
    logs = replace(LOGS, transition_minimum_object_size="varies_by_storage_class")

    assert logs.transition_minimum_bytes("GLACIER") == 0
    assert logs.transition_minimum_bytes("DEEP_ARCHIVE") == 0
    assert logs.transition_minimum_bytes("STANDARD_IA") == 128 * 1024
    assert LOGS.transition_minimum_bytes("GLACIER") == 128 * 1024
    assert LOGS.transition_minimum_object_size == "all_storage_classes_128K"
