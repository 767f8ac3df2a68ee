"""Which instants a signals run computes: params, then the loads that triggered it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from transforms.runs import as_of_instants, with_missed_loads

LOGICAL = datetime(2026, 11, 21, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 3)


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


def test_a_load_whose_asset_event_started_no_run_is_computed_by_the_next(
    tmp_path, monkeypatch: pytest.MonkeyPatch
):
    """Airflow drops an asset event that arrives while the signals run its earlier event
    queued waits to be created (one queue row per asset): the next run computes that load's
    interval too, from meta.runs, and nothing that is not a load of the signals' assets."""
    monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path))
    settings = RadarSettings()
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        conn.executemany(
            "insert into meta.runs (run_id, dag_id, data_interval_end, loaded_at, "
            "transformed_at) values (?, ?, ?, ?, ?)",
            [
                ["done", "social_ingest", datetime(2026, 11, 18), datetime(2026, 11, 18), NOW],
                ["dropped", "social_ingest", datetime(2026, 11, 19), datetime(2026, 11, 19), None],
                ["orders", "campaign_ingest", datetime(2026, 11, 19), NOW, None],
                ["this", "social_ingest", datetime(2026, 11, 20), datetime(2026, 11, 20), None],
                ["other", "niche_discovery", datetime(2026, 11, 17), NOW, None],
                ["unloaded", "social_ingest", datetime(2026, 11, 16), None, None],
            ],
        )
    event = ["2026-11-20T00:00:00+00:00"]
    assert with_missed_loads(event, ("social_ingest", "campaign_ingest")) == [
        "2026-11-19T00:00:00+00:00",
        "2026-11-20T00:00:00+00:00",
    ]
    # once computed, the interval is marked and asked for no more
    with connect(settings.warehouse) as conn:
        conn.execute(
            "update meta.runs set transformed_at = ? where data_interval_end = ?",
            [NOW, datetime(2026, 11, 19)],
        )
    assert with_missed_loads(event, ("social_ingest",)) == event
