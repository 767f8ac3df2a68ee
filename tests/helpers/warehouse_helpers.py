"""Running the pipeline steps without Airflow, and reading tables back for comparison."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from datetime import datetime
from pathlib import Path

import duckdb

from ingest import runs
from ingest.connector import TaskContext
from radar.settings import PROJECT_ROOT
from radar.warehouse import WarehouseTarget, connect
from transforms import runs as signal_runs
from transforms.runner import discover_models

CORE = [
    "core.accounts",
    "core.account_snapshots",
    "core.posts",
    "core.post_metric_snapshots",
]
# every mart the model files in sql/marts define, found by the runner's own loader, in the
# order it builds them (each after the marts it reads), so that a new mart is compared too
MARTS = [m.relation for m in discover_models(PROJECT_ROOT / "sql") if m.layer == "marts"]
CORE_AND_MARTS = CORE + MARTS
DAGS_DIR = PROJECT_ROOT / "dags"


def load_dag(dag_id: str):
    """A fresh DAG object from dags/<dag_id>.py, parsed now (it reads RADAR_* as it parses).

    ``_radar`` is parsed again too: its defaults (retry delay, platforms) read the
    environment at import, and an earlier test's import must not leak into this one."""
    if "_radar" in sys.modules:
        importlib.reload(sys.modules["_radar"])
    spec = importlib.util.spec_from_file_location(f"{dag_id}_under_test", DAGS_DIR / f"{dag_id}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, dag_id)()


def run_radar(logical_date: datetime):
    """``social_ingest`` for the day ``logical_date`` names (the interval that starts on
    it), then ``signals`` as of that day's end, each a real ``dag.test()``; returns both
    DAG runs."""
    ingest = load_dag("social_ingest").test(logical_date=logical_date)
    signals = load_dag("signals").test(logical_date=logical_date)
    return ingest, signals


def run_pipeline(start: datetime, end: datetime, run_id: str = "manual__test") -> dict:
    """plan → extract → load → transforms, as the DAG does, in-process."""
    for i, batch in enumerate(runs.plan_extract(start, end)):
        runs.extract(batch, TaskContext(start, end, run_id, f"extract-{i}"))
    loaded = runs.load(run_id, "social_ingest", start, end)
    return {"load": loaded, "signals": signal_runs.build_signals(end, run_id)}


def table_contents(
    warehouse: WarehouseTarget, tables: list[str] = CORE_AND_MARTS, digits: int | None = None
) -> dict[str, list]:
    """Every row of each table, sorted, for exact comparison between runs. ``load_id`` is
    left out: it records which load last wrote a row, so a rerun rightly changes it.

    With ``digits``, floating-point values are rounded to that many significant digits:
    two backends may add the same numbers in another order (a median's interpolation
    differs in the 16th digit between the DuckDB file and a DuckLake)."""
    contents = {}
    with connect(warehouse, read_only=True) as conn:
        for table in tables:
            described = conn.execute(f"describe {table}").fetchall()
            listed = ", ".join(
                f"round({c}, coalesce({digits} - 1 - floor(log10(abs(nullif({c}, 0))))::int, 0))"
                if digits and kind in ("DOUBLE", "FLOAT")
                else c
                for c, kind, *_ in described
                if c != "load_id"
            )
            contents[table] = sorted(
                map(repr, conn.execute(f"select {listed} from {table}").fetchall())
            )
    return contents


def query(warehouse: WarehouseTarget, sql: str, params: list | None = None) -> list[tuple]:
    with connect(warehouse, read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def landed_rows(platform_dir: Path) -> dict[str, list[str]]:
    """Every landed row of one platform's landing folder, per entity, sorted: two ways of
    extracting the same recordings must land the same rows."""
    rows = {}
    with duckdb.connect() as conn:
        for entity_dir in sorted(platform_dir.iterdir()):
            found = conn.execute(f"select * from read_parquet('{entity_dir}/*/*.parquet')")
            rows[entity_dir.name] = sorted(map(repr, found.fetchall()))
    return rows
