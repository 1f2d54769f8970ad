"""The status machine's rules (deployments.rules): what is final, in flight, cancelable, stuck."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from deployments import rules
from deployments.rules import DeploymentStatus as S

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Record:
    status: S
    started_at: datetime | None = None


def test_final_statuses_are_the_ones_the_machine_moves_nowhere_from():
    assert {S.READY, S.ERROR, S.CANCELED} == rules.FINAL_STATUSES
    assert all(not rules.TRANSITIONS[s] for s in rules.FINAL_STATUSES)
    assert set(S) - rules.FINAL_STATUSES == rules.IN_FLIGHT


@pytest.mark.parametrize("status", list(S))
def test_a_stored_string_answers_like_its_status(status):
    assert rules.is_final(status.value) is status.is_final
    assert rules.is_in_flight(status.value) is (status in (S.QUEUED, S.BUILDING))


@pytest.mark.parametrize("status", list(S))
def test_only_a_queued_or_building_deployment_can_be_canceled(status):
    assert rules.can_cancel(Record(status)) is (status in (S.QUEUED, S.BUILDING))
    assert (status in rules.CANCELABLE) is (status in S.CANCELED.allowed_sources())


def test_a_build_is_stuck_only_past_the_threshold(settings):
    settings.STUCK_BUILD_AFTER = timedelta(hours=1)
    just_over = NOW - timedelta(hours=1, seconds=1)
    assert rules.is_stuck(Record(S.BUILDING, just_over), NOW)
    assert not rules.is_stuck(Record(S.BUILDING, NOW - timedelta(minutes=59)), NOW)
    assert not rules.is_stuck(Record(S.BUILDING, None), NOW)
    assert not rules.is_stuck(Record(S.QUEUED, just_over), NOW)
    settings.STUCK_BUILD_AFTER = timedelta(hours=2)
    assert not rules.is_stuck(Record(S.BUILDING, just_over), NOW)
