"""A DuckLake keeps what the warehouse said: the candidates as of an earlier snapshot or
time are there to query (docs/warehouse.md), until radar_maintenance's upkeep expires
that snapshot; the upkeep merges small files and deletes orphans, never today's rows."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from ingest.maintenance import tend_lake
from radar.settings import RadarSettings
from radar.warehouse import connect
from tests.helpers.core_builder import config_with
from tests.helpers.warehouse_helpers import run_pipeline
from transforms.runs import build_signals

START, END = datetime(2026, 11, 20), datetime(2026, 11, 21)
CANDIDATES = "select scope_type, scope, scope_rank, account_id, score from marts.candidates"
# the documented queries (docs/warehouse.md): the snapshots, then a table as of one
SNAPSHOTS = "select snapshot_id, snapshot_time from ducklake_snapshots('warehouse')"
AT_VERSION = CANDIDATES + " at (version => ?) where as_of = ? order by all"
AT_TIME = CANDIDATES + " at (timestamp => ?::timestamptz) where as_of = ? order by all"


def _files(conn) -> int:
    return conn.execute(
        "select count(*) from ducklake_list_files('warehouse', 'candidates', schema => 'marts')"
    ).fetchone()[0]


@pytest.mark.parametrize("warehouse_backend", ["lake"], indirect=True)
def test_candidates_as_the_lake_showed_them_then(
    warehouse_backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    run_pipeline(START, END)
    with connect(warehouse_backend, read_only=True) as conn:
        before = conn.execute(CANDIDATES + " where as_of = ? order by all", [END]).fetchall()
        snapshot, at = conn.execute(SNAPSHOTS + " order by snapshot_id desc limit 1").fetchone()
    assert before
    time.sleep(0.05)

    # the marketer's weights change, and the day's signals are computed again
    monkeypatch.setenv(
        "RADAR_CONFIG_DIR",
        str(config_with(tmp_path, candidates={"weights": {"engagement": 0.9, "niche": 0.05,
                                                          "activity": 0.05}})),
    )  # fmt: skip
    build_signals(END, "signals_again")
    with connect(warehouse_backend, read_only=True) as conn:
        now = conn.execute(CANDIDATES + " where as_of = ? order by all", [END]).fetchall()
        assert now != before
        assert conn.execute(AT_VERSION, [snapshot, END]).fetchall() == before
        assert conn.execute(AT_TIME, [at, END]).fetchall() == before

    # upkeep that keeps every snapshot since just before that one: history stays; an
    # orphaned file older than the cutoff goes, a younger one (a commit in flight) stays
    data = Path(warehouse_backend.data_path)
    old_orphan, young_orphan = data / "marts" / "stray-old.parquet", data / "stray-new.parquet"
    for orphan in (old_orphan, young_orphan):
        duckdb.sql(f"copy (select 1 as x) to '{orphan}'")
    an_hour_ago = time.time() - 3600
    os.utime(old_orphan, (an_hour_ago, an_hour_ago))
    keep_from = at.astimezone(UTC).replace(tzinfo=None) - timedelta(minutes=5)
    with connect(warehouse_backend) as conn:
        files_before = _files(conn)
        done = tend_lake(conn, keep_from)
        assert done["orphaned_files_deleted"] == 1 and done["snapshots_expired"] == 0
        assert not old_orphan.exists() and young_orphan.exists()
        assert conn.execute(AT_VERSION, [snapshot, END]).fetchall() == before
        assert conn.execute(CANDIDATES + " where as_of = ? order by all", [END]).fetchall() == now

        # past the retention: the old snapshots are expired, their files deleted
        done = tend_lake(conn, datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=1))
        assert done["snapshots_expired"] > 0 and done["files_deleted"] > 0
        with pytest.raises(duckdb.Error):
            conn.execute(AT_VERSION, [snapshot, END]).fetchall()
        assert conn.execute(CANDIDATES + " where as_of = ? order by all", [END]).fetchall() == now
        assert _files(conn) <= files_before
    assert RadarSettings().lake_snapshot_retention_days == 14
