"""SIGKILL the load and the transforms at random instants: the warehouse always reopens,
a rerun always converges, and every table ends equal to an uninterrupted run's.

A small synthetic world (60 accounts, 4 days, both platforms) runs day by day as the DAGs
would, each step its own process (``crash_driver.py``): extract, load, transform. First
uninterrupted, for the reference tables and each step's duration; then again in a fresh
data dir, where the loads and transforms are killed with SIGKILL after a random delay
(within 90 % of the step's reference duration, 40 % for the first load, or within its
first 0.3 s, where the warehouse is opened, created and migrated), a planned number of
times each, before a last attempt that must succeed, as a retried Airflow task would. The
very first load of the fresh warehouse always takes some of the kills. After every kill
the warehouse must open.

Every table of ``core``, ``meta``, ``intermediate``, ``marts`` and ``config`` is then
compared, row for row, with the reference. Left out are the columns that record when or
in which transaction a row was written, which a kill rightly changes (a killed attempt
burns ``meta.load_seq`` values and clock time): ``load_id``, ``meta.loaded_files.loaded_at``,
``meta.runs.loaded_at``/``transformed_at``, ``meta.cursors.updated_at``,
``meta.schema_version.applied_at``, ``meta.transform_state.rebuilt_at``/``updated_at``/
``load_watermark`` (a ``meta.load_seq`` value) and ``meta.tracking_queue.queued_at``. Run
ids are not left out: every attempt of a day's run keeps its run id, as Airflow's retries do.

It runs on both warehouses: the DuckDB file, and a DuckLake on a real Postgres catalog
(a quarter of the kills: each lake step is slower), where a kill can land in the middle of a
DuckLake commit or between a loader's file claims and its commit.

CI-sized by default (32 kills, seeded); ``RADAR_CRASH_KILLS=500 make soak`` runs longer,
``RADAR_CRASH_SEED`` picks other instants. The figures print as one ``crash test:`` line.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from radar.warehouse import Lake, WarehouseTarget, connect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("crash_driver.py")
DAYS = [date(2026, 8, 1) + timedelta(days=i) for i in range(4)]
KILLED_STEPS = ("load", "transform")
KILLS = int(os.environ.get("RADAR_CRASH_KILLS", "32"))
SEED = int(os.environ.get("RADAR_CRASH_SEED", "15"))
# the first load of a fresh warehouse takes at least this many of the kills
FIRST_LOAD_KILLS = 4
SCHEMAS = ("core", "meta", "intermediate", "marts", "config")
IGNORED = {
    "meta.load_seq": {"value"},  # the lake's sequence, a one-row table
    "meta.loaded_files": {"loaded_at"},
    "meta.runs": {"loaded_at", "transformed_at"},
    "meta.cursors": {"updated_at"},
    "meta.schema_version": {"applied_at"},
    "meta.transform_state": {"rebuilt_at", "updated_at", "load_watermark"},
    "meta.tracking_queue": {"queued_at"},
}
IGNORED_EVERYWHERE = {"load_id"}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    subprocess.run(
        [sys.executable, "-m", "synthetic", "--seed", "7", "--accounts", "60"]
        + ["--days", str(len(DAYS)), "--start", DAYS[0].isoformat(), "--out", str(out)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return out


def _env(data_dir: Path, world: Path, lake: Lake | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RADAR_")}
    env.update(
        RADAR_DATA_DIR=str(data_dir),
        RADAR_FEED_DIR=str(world),
        RADAR_SOURCE="fixture",
        RADAR_PLATFORMS='["mastodon", "bluesky"]',
    )
    if lake is not None:
        env.update(RADAR_WAREHOUSE=f"ducklake:{lake.catalog}", RADAR_LAKE_DATA_PATH=lake.data_path)
    return env


def _start(step: str, day: date, env: dict[str, str]) -> subprocess.Popen:
    # stderr to a file: a pipe nobody reads while the step runs could fill and stall it
    errors = tempfile.TemporaryFile("w+")
    process = subprocess.Popen(
        [sys.executable, str(DRIVER), step, day.isoformat()],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    process.errors = errors
    ready = process.stdout.readline().strip()
    if ready != "ready":
        process.communicate(timeout=60)
        raise AssertionError(f"{step} {day} did not start: {_stderr(process)}")
    return process


def _stderr(process: subprocess.Popen) -> str:
    process.errors.seek(0)
    text = process.errors.read()[-3000:]
    process.errors.close()
    return text


def _run(step: str, day: date, env: dict[str, str]) -> float:
    """Run a step to its end; returns its duration after start-up."""
    process = _start(step, day, env)
    began = time.monotonic()
    out, _ = process.communicate(timeout=300)
    elapsed = time.monotonic() - began
    errors = _stderr(process)
    assert process.returncode == 0 and "done" in out, f"{step} {day} failed: {errors}"
    return elapsed


def _opens(warehouse: WarehouseTarget) -> None:
    """The warehouse opens (replaying whatever write-ahead log a kill left) and reads."""
    if isinstance(warehouse, Path) and not warehouse.exists():
        return
    if isinstance(warehouse, Lake) and not _catalog_made(warehouse):
        return  # killed before its first attach made the catalog: as a file not yet created
    with connect(warehouse, read_only=True) as conn:
        conn.execute("select count(*) from duckdb_tables()").fetchone()


def _catalog_made(lake: Lake) -> bool:
    import psycopg2

    conn = psycopg2.connect(lake.postgres_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("select to_regclass('ducklake_metadata') is not null")
            return cur.fetchone()[0]
    finally:
        conn.close()


def _tables(warehouse: WarehouseTarget) -> dict[str, Counter]:
    """Every row of every table, minus the ignored columns, as a multiset per table."""
    contents = {}
    with connect(warehouse, read_only=True) as conn:
        tables = conn.execute(
            "select schema_name || '.' || table_name from duckdb_tables() "
            f"where database_name = current_database() and schema_name in {SCHEMAS} "
            "order by 1"
        ).fetchall()
        for (table,) in tables:
            ignored = IGNORED.get(table, set()) | IGNORED_EVERYWHERE
            columns = [r[0] for r in conn.execute(f"describe {table}").fetchall()]
            listed = ", ".join(f'"{c}"' for c in columns if c not in ignored)
            if not listed:
                continue  # nothing of it is compared (the lake's meta.load_seq)
            rows = conn.execute(f"select {listed} from {table}").fetchall()
            contents[table] = Counter(map(repr, rows))
    return contents


@pytest.mark.parametrize("backend", ["file", "lake"])
def test_killed_loads_and_transforms_end_as_an_uninterrupted_run(
    backend: str, world: Path, tmp_path: Path, request: pytest.FixtureRequest
):
    began = time.monotonic()
    lakes = {"reference": None, "crashed": None}
    if backend == "lake":
        server = request.getfixturevalue("catalog_server")
        lakes = {name: server.lake(tmp_path / f"{name}-lake") for name in lakes}
    kills = KILLS if backend == "file" else max(KILLS // 4, FIRST_LOAD_KILLS + 2)
    reference = _env(tmp_path / "reference", world, lakes["reference"])
    spans = {}
    for day in DAYS:
        for step in ("extract", *KILLED_STEPS):
            spans[step, day] = _run(step, day, reference)

    rng = random.Random(SEED)
    instances = [(step, day) for day in DAYS for step in KILLED_STEPS]
    planned = Counter({("load", DAYS[0]): min(FIRST_LOAD_KILLS, kills)})
    planned.update(rng.choice(instances) for _ in range(kills - min(FIRST_LOAD_KILLS, kills)))
    crashed = _env(tmp_path / "crashed", world, lakes["crashed"])
    warehouse = lakes["crashed"] or tmp_path / "crashed" / "warehouse.duckdb"
    figures = Counter()
    loaded_once = False
    for day in DAYS:
        _run("extract", day, crashed)
        for step in KILLED_STEPS:
            span, landed, attempts = spans[step, day], 0, 0
            while landed < planned[step, day] and attempts < 3 * planned[step, day]:
                attempts += 1
                process = _start(step, day, crashed)
                # a process runs a little slower or faster than its reference; the first
                # load is killed within its first 40 %, so that it rarely completes first
                # (once the first kill has created and migrated the warehouse, it is faster)
                latest = 0.4 * span if step == "load" and not loaded_once else 0.9 * span
                early = rng.random() < 0.25
                time.sleep(rng.uniform(0, min(latest, 0.3) if early else latest))
                if process.poll() is not None:  # it finished first: a rerun, not a kill
                    figures["finished before the kill"] += 1
                    loaded_once |= step == "load"
                    process.communicate()
                    errors = _stderr(process)
                    assert process.returncode == 0, f"{step} {day} failed: {errors}"
                    continue
                landed += 1
                process.send_signal(signal.SIGKILL)
                process.communicate(timeout=60)
                errors = _stderr(process)  # 0: it ended in the same instant, not by failing
                assert process.returncode in (-signal.SIGKILL, 0), f"{step} {day}: {errors}"
                figures["kills"] += 1
                figures[f"kills during {step}"] += 1
                if step == "load" and not loaded_once:
                    figures["kills during the first load"] += 1
                if isinstance(warehouse, Path) and Path(f"{warehouse}.wal").exists():
                    figures["kills that left a WAL to replay"] += 1
                _opens(warehouse)
            _run(step, day, crashed)  # the retry that converges
            loaded_once |= step == "load"

    expected = _tables(lakes["reference"] or tmp_path / "reference" / "warehouse.duckdb")
    got = _tables(warehouse)
    assert sorted(got) == sorted(expected)
    lost = {t: sum((expected[t] - got[t]).values()) for t in expected}
    extra = {t: sum((got[t] - expected[t]).values()) for t in expected}
    figures["rows lost"] = sum(lost.values())
    figures["rows doubled or changed"] = sum(extra.values())
    figures["rows compared"] = sum(sum(c.values()) for c in expected.values())
    figures["tables compared"] = len(expected)
    figures["wall seconds"] = round(time.monotonic() - began)
    figures["reference seconds per step"] = {
        step: round(sum(v for (s, _), v in spans.items() if s == step), 1)
        for step in ("extract", *KILLED_STEPS)
    }
    print(f"crash test ({backend}):", json.dumps(dict(figures)))
    assert figures["kills during the first load"] >= 1
    differing = {t: (lost[t], extra[t]) for t in expected if lost[t] or extra[t]}
    assert not differing, f"tables that differ (rows lost, rows extra): {differing}"
