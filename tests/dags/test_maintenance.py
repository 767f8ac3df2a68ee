"""radar_maintenance, run for real: retention by the data interval, never an unloaded file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from radar.settings import RadarSettings
from tests.helpers.warehouse_helpers import load_dag, query, run_radar


def test_old_raw_days_and_old_loaded_landing_files_go_unloaded_ones_stay(
    airflow_db, radar_env: Path, warehouse_backend, monkeypatch: pytest.MonkeyPatch
):
    # the demo day loaded for real: its landing files are in meta.loaded_files
    ingest, _ = run_radar(datetime(2026, 11, 20, tzinfo=UTC))
    assert str(ingest.state) == "success"
    loaded = sorted((radar_env / "landing").rglob("*.parquet"))
    assert loaded
    # a landing file nobody loaded (a crash before the load), and raw archive days
    unloaded = radar_env / "landing" / "mastodon" / "posts" / "dt=2026-11-20" / "late.parquet"
    unloaded.write_bytes(loaded[0].read_bytes())
    for day in ("2026-08-01", "2026-11-19"):
        raw = radar_env / "raw" / "mastodon" / "account_statuses" / f"dt={day}" / "r.jsonl.gz"
        raw.parent.mkdir(parents=True)
        raw.write_bytes(b"")
    monkeypatch.setenv("RADAR_LANDING_RETENTION_DAYS", "3")
    monkeypatch.setenv("RADAR_RAW_RETENTION_DAYS", "90")

    run = load_dag("radar_maintenance").test(logical_date=datetime(2026, 12, 1, tzinfo=UTC))

    assert str(run.state) == "success"
    raw_days = sorted(p.name for p in (radar_env / "raw").glob("*/*/dt=*"))
    assert raw_days == ["dt=2026-11-19"]  # 2026-08-01 is past 90 days before 12-01
    assert [p for p in (radar_env / "landing").rglob("*.parquet")] == [unloaded]
    # the warehouse keeps every row and the record of every loaded file
    warehouse = RadarSettings().warehouse
    assert query(warehouse, "select count(*) from meta.loaded_files") == [(len(loaded),)]
    assert query(warehouse, "select count(*) > 0 from core.posts") == [(True,)]
