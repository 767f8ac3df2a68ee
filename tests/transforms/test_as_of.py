"""Which instants a signals run computes: params, then the loads that triggered it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from transforms.runs import as_of_instants

LOGICAL = datetime(2026, 11, 21, tzinfo=UTC)


def test_the_requested_as_of_wins():
    got = as_of_instants("2026-11-05T00:00:00+00:00", [{"data_interval_end": "x"}], LOGICAL)
    assert got == ["2026-11-05T00:00:00+00:00"]


def test_every_loaded_interval_gets_its_own_as_of_oldest_first():
    extras = [
        {"data_interval_end": "2026-11-20T00:00:00+00:00", "run_id": "backfill__b"},
        {"data_interval_end": "2026-11-19T00:00:00+00:00", "run_id": "backfill__a"},
        {"data_interval_end": "2026-11-20T00:00:00+00:00", "run_id": "rerun"},
        {},  # an event from elsewhere, without an interval
    ]
    assert as_of_instants(None, extras, LOGICAL) == [
        "2026-11-19T00:00:00+00:00",
        "2026-11-20T00:00:00+00:00",
    ]


def test_a_manual_run_falls_back_to_its_interval_end_and_never_guesses():
    assert as_of_instants(None, [], LOGICAL) == [LOGICAL.isoformat()]
    with pytest.raises(ValueError, match="no as_of"):
        as_of_instants(None, [], None)
