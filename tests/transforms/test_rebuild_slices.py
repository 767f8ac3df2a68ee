"""A rebuild writes an incremental model once, straight into its table, one slice of its
``cluster_by`` column at a time (``rebuild_slices``), and gives what one pass gives."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from tests.helpers.core_builder import config_with, insert_rows
from tests.transforms.test_incremental import (
    LAST_DAY,
    deliver,
    snapshot_of_models,
    stream_of_loads,
)
from transforms.runner import DataTestError, discover_models, run_transforms

START = datetime(2026, 1, 1)
BOUNDS = "(select [timestamp '2026-01-03', timestamp '2026-01-06'])"


def _events_model(tmp_path: Path, where: str) -> Path:
    """A SQL dir with one sliced incremental model over ``main.events``, which records the
    slice bounds each row was written under."""
    sql = tmp_path / "sql"
    for layer in ("staging", "intermediate", "marts", "macros"):
        (sql / layer).mkdir(parents=True)
    shutil.copy(RadarSettings().sql_dir / "macros" / "slice_macros.sql", sql / "macros")
    (sql / "intermediate" / "events_sliced.sql").write_text(
        "-- grain: one row per event\n-- key: event_id\n-- materialized: incremental\n"
        f"-- cluster_by: happened_at\n-- rebuild_slices: {BOUNDS}\n"
        "select event_id, happened_at, getvariable('slice_from') as slice_from,\n"
        "       getvariable('slice_until') as slice_until\n"
        f"from main.events {where}\n"
    )
    return sql


def _events_warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    conn = connect(tmp_path / "warehouse.duckdb")
    apply_schema(conn, RadarSettings().sql_dir)
    conn.execute("create table main.events (event_id integer, happened_at timestamp)")
    # ten days, three events a day, written newest first: the rebuild must order them
    conn.execute(
        "insert into main.events select i, ?::timestamp + to_hours(8 * i) "
        "from range(30) as t(i) order by i desc",
        [START],
    )
    conn.execute(
        "create table intermediate.events_sliced (event_id integer, happened_at timestamp, "
        "slice_from timestamp, slice_until timestamp)"
    )
    return conn


def test_a_rebuild_runs_the_query_once_per_slice_and_writes_in_order(tmp_path: Path):
    sql = _events_model(tmp_path, "where config.in_rebuild_slice(happened_at)")
    config = RadarSettings().config_dir
    with _events_warehouse(tmp_path) as conn:
        summary = run_transforms(conn, sql, config, START + timedelta(days=10))
        assert summary.rows["intermediate.events_sliced"] == 30  # the table's rows, tested
        rows = conn.execute(
            "select happened_at, slice_from, slice_until from intermediate.events_sliced "
            "order by rowid"
        ).fetchall()
        assert [r[0] for r in rows] == sorted(r[0] for r in rows)
        jan = [datetime(2026, 1, day) for day in (3, 6)]
        want = {(None, jan[0]), (jan[0], jan[1]), (jan[1], None)}
        assert {(r[1], r[2]) for r in rows} == want
        for happened_at, low, high in rows:
            assert (low is None or happened_at >= low) and (high is None or happened_at < high)

        # a day's run is no rebuild: its query reads no bound, not a rebuild's last one
        conn.execute("insert into main.events values (30, ?)", [START + timedelta(days=11)])
        summary = run_transforms(conn, sql, config, START + timedelta(days=12))
        assert summary.rows["intermediate.events_sliced"] == 31  # the copy of the new rows
        bounds = conn.execute(
            "select distinct slice_from, slice_until from intermediate.events_sliced "
            "where event_id = 30"
        ).fetchall()
        assert bounds == [(None, None)]


def test_a_rebuild_that_ignores_its_slices_fails_its_key_test(tmp_path: Path):
    """Each slice's query must keep only its slice; one that does not writes its rows once
    per slice, which the data tests, reading the rebuilt table itself, refuse."""
    sql = _events_model(tmp_path, "")
    with _events_warehouse(tmp_path) as conn:
        with pytest.raises(DataTestError, match="30 duplicated keys"):
            run_transforms(conn, sql, RadarSettings().config_dir, START + timedelta(days=10))


@pytest.mark.parametrize("warehouse_backend", ["file"], indirect=True)
def test_project_models_rebuilt_in_many_slices_equal_one_pass(
    tmp_path: Path, warehouse_backend, fresh_warehouse
):
    """Every model and mart of a planted world (late posts, edits, deletions, recounts),
    rebuilt with a slice every 25 posts, equals the rebuild in one slice."""
    config = config_with(tmp_path)
    accounts, loads = stream_of_loads(seed=5)
    sliced = tmp_path / "sql"
    shutil.copytree(RadarSettings().sql_dir, sliced)
    changed = 0
    for path in (sliced / "intermediate").glob("*.sql"):
        text = path.read_text()
        if "// 500000" in text:
            path.write_text(text.replace("// 500000", "// 25"))
            changed += 1
    assert changed >= 4
    snapshots = []
    for sql_dir in (RadarSettings().sql_dir, sliced):
        settings = fresh_warehouse(tmp_path / f"run-{len(snapshots)}")
        with connect(settings.warehouse) as conn:
            apply_schema(conn, settings.sql_dir)
            insert_rows(conn, "core.accounts", accounts)
            deliver(conn, loads)
            run_transforms(conn, sql_dir, config, LAST_DAY)
            snapshots.append(snapshot_of_models(conn, LAST_DAY))
            models = [m for m in discover_models(sql_dir) if m.rebuild_slices]
            slices = conn.execute(f"select len({models[0].rebuild_slices})").fetchone()[0]
            for model in models:  # in cluster order across the slices
                out_of_order = conn.execute(
                    f"select count(*) from (select created_at < lag(created_at) over "
                    f"(order by rowid) as back from {model.relation}) where back"
                ).fetchone()[0]
                assert out_of_order == 0, model.relation
    assert slices > 10  # the sliced run's
    assert snapshots[1] == snapshots[0]
