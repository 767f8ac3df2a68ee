"""The real DAGs, run in-process with dag.test() on the bundled demo feed:
social_ingest for the interval, then signals as of its end."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from radar.settings import RadarSettings
from tests.helpers.paths import DEMO_FEED
from tests.helpers.warehouse_helpers import CORE_AND_MARTS, query, run_radar, table_contents

LOGICAL_DATE = datetime(2026, 11, 20, tzinfo=UTC)  # the day 11-20: [11-20, 11-21)


def _run() -> tuple[str, str]:
    ingest, signals = run_radar(LOGICAL_DATE)
    return str(ingest.state), str(signals.state)


def test_demo_run_succeeds_and_ranks_candidates(demo_run):
    assert demo_run.states == ("success", "success")
    warehouse = demo_run.warehouse
    scopes = dict(query(warehouse, "select scope, count(*) from marts.candidates group by 1"))
    assert set(scopes) >= {"plant_based_cooking", "sourdough_baking", "houseplants", "green_oven"}
    (interval,) = query(
        warehouse,
        "select data_interval_start, data_interval_end, files_loaded > 0,"
        " transformed_at is not null from meta.runs",
    )
    assert interval == (datetime(2026, 11, 20), datetime(2026, 11, 21), True, True)
    # the export holds exactly the candidate rows of that as-of
    export = demo_run.data_dir / "exports" / "candidates-2026-11-21.csv"
    with export.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == sum(scopes.values())
    assert {r["scope"] for r in rows} == set(scopes)
    parquet = export.with_suffix(".parquet")
    assert query(warehouse, f"select count(*) from '{parquet}'") == [(len(rows),)]


def test_malformed_records_are_rejected_and_the_run_still_succeeds(demo_run):
    assert demo_run.states == ("success", "success")
    rejects = query(
        demo_run.warehouse,
        "select platform, entity, source_path, reason from meta.rejects order by 1, 2",
    )
    entities = {(platform, entity) for platform, entity, _, _ in rejects}
    assert {("mastodon", "posts"), ("bluesky", "posts"), ("mastodon", "page")} <= entities
    assert all(path.startswith("demo/") and reason for _, _, path, reason in rejects)


def test_running_the_same_interval_twice_changes_no_core_or_mart_table(
    demo_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    assert demo_run.states == ("success", "success")
    first = table_contents(demo_run.warehouse, CORE_AND_MARTS)
    # the campaign marts need campaign_ingest's orders and clicks, which this DAG pair does
    # not load (tests/ingest/campaigns and tests/transforms/test_campaign_marts rerun them)
    social = [t for t in CORE_AND_MARTS if not t.startswith("marts.campaign_")]
    assert all(first[t] for t in social), "every table should have rows"
    # the second run, on a copy of the first's data dir (the shared run stays as it was)
    shutil.copytree(demo_run.data_dir, tmp_path / "data")
    monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RADAR_FEED_DIR", str(DEMO_FEED))
    monkeypatch.delenv("RADAR_WAREHOUSE_PATH", raising=False)
    warehouse = RadarSettings().warehouse
    assert warehouse == tmp_path / "data" / "warehouse.duckdb"
    assert _run() == ("success", "success")
    assert table_contents(warehouse, CORE_AND_MARTS) == first
    assert query(warehouse, "select count(*) from meta.runs") == [(2,)]
