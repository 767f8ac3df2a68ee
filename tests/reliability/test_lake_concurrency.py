"""Loaders commit to one DuckLake at once while an analyst queries it throughout.

The loaders are given overlapping sets of platforms (two of them every platform), so
most landing files are wanted by two or more of them at the same moment; or disjoint
sets of files that hold the same keys (one platform's accounts, seen every day). Afterwards
every file is loaded exactly once and every core table equals a serial load of the same
files into a DuckDB file; the reader, a fifth process, saw only committed states (no key
twice, no file recorded without its rows, no count going down) and never an error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ingest import runs
from ingest.connector import TaskContext
from ingest.loader import pending_files
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from tests.helpers.paths import DEMO_FEED, ROOT
from tests.helpers.warehouse_helpers import table_contents
from transforms.runner import discover_models, run_transforms

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent
DAYS = [datetime(2026, 10, 2) + timedelta(days=d) for d in range(3)] + [datetime(2026, 11, 20)]
TABLES = [
    "core.accounts",
    "core.account_snapshots",
    "core.posts",
    "core.post_metric_snapshots",
    "meta.rejects",
]
# every table the transforms write (the incremental models among them), and the core
MODEL_TABLES = TABLES[:4] + [
    m.relation for m in discover_models(RadarSettings().sql_dir) if m.layer != "staging"
]
LOADERS = {
    "social": ["mastodon", "bluesky"],
    "video": ["youtube", "tiktok", "instagram", "bluesky"],
    "all-1": [],
    "all-2": [],
}


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose landing folder holds four days of every platform, not loaded: the
    demo feed's day and three days of a small synthetic world, in small files."""
    feed = tmp_path_factory.mktemp("feed")
    world = tmp_path_factory.mktemp("synthetic") / "world"
    subprocess.run(
        [sys.executable, "-m", "synthetic", "--seed", "5", "--accounts", "90",
         "--days", "3", "--start", DAYS[0].date().isoformat(), "--accounts-per-file", "6",
         "--out", str(world), "--quiet"],
        check=True, cwd=ROOT, capture_output=True,
    )  # fmt: skip
    shutil.copytree(DEMO_FEED, feed, dirs_exist_ok=True)
    for platform in ("mastodon", "bluesky"):
        shutil.copytree(world / platform, feed / platform, dirs_exist_ok=True)
    data_dir = tmp_path_factory.mktemp("landed") / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RADAR_DATA_DIR", str(data_dir))
        env.setenv("RADAR_FEED_DIR", str(feed))
        for day in DAYS:
            end = day + timedelta(days=1)
            for i, batch in enumerate(runs.plan_extract(day, end)):
                runs.extract(batch, TaskContext(day, end, "concurrent", f"extract-{i}"))
    return data_dir


def _copy(landed: Path, to: Path) -> Path:
    shutil.copytree(landed, to)
    return to


@pytest.mark.parametrize(
    "loaders",
    [LOADERS, {f"slice-{k}-of-3": [] for k in range(3)}],
    ids=["overlapping-platforms", "disjoint-files-same-keys"],
)
def test_loaders_and_a_reader_on_one_lake(
    loaders: dict[str, list[str]],
    landed: Path,
    tmp_path: Path,
    catalog_server,
    monkeypatch: pytest.MonkeyPatch,
):
    files = pending_files(landed / "landing")
    assert len(files) > 40 and len({platform for platform, _, _ in files}) == 5

    # the reference: every file loaded serially into a DuckDB file
    serial = _copy(landed, tmp_path / "serial")
    monkeypatch.setenv("RADAR_DATA_DIR", str(serial))
    settings = RadarSettings()
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        assert runs.load_pending(conn, serial, "concurrent").files_loaded == len(files)
    expected = table_contents(settings.warehouse, TABLES)

    lake_dir = _copy(landed, tmp_path / "lake-run")
    lake = catalog_server.lake(tmp_path / "lake")
    monkeypatch.setenv("RADAR_DATA_DIR", str(lake_dir))
    monkeypatch.setenv("RADAR_WAREHOUSE", f"ducklake:{lake.catalog}")
    monkeypatch.setenv("RADAR_LAKE_DATA_PATH", lake.data_path)
    with connect(RadarSettings().warehouse) as conn:
        apply_schema(conn, RadarSettings().sql_dir)

    barrier, stop = tmp_path / "barrier", tmp_path / "loaders-done"
    barrier.mkdir()
    env = os.environ.copy()
    reader = subprocess.Popen(
        [sys.executable, str(HERE / "lake_reader_driver.py"), str(lake_dir), str(stop)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    loaders = {
        name: subprocess.Popen(
            [
                sys.executable,
                str(HERE / "lake_load_driver.py"),
                str(barrier),
                str(len(LOADERS)),
                name,
                *platforms,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for name, platforms in LOADERS.items()
    }
    results = {}
    for name, process in loaders.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"loader {name} failed:\n{err[-3000:]}"
        results[name] = (json.loads(out.strip().splitlines()[-1]), err)
    stop.touch()
    rounds, reader_err = reader.communicate(timeout=120)
    assert reader.returncode == 0, f"the reader saw an error:\n{reader_err[-3000:]}"

    summaries = [summary for summary, _ in results.values()]
    # the loaders ran at the same time, not one after another
    assert max(s["started"] for s in summaries) < min(s["ended"] for s in summaries)
    # every file exactly once, whoever loaded it
    assert sum(s["files_loaded"] for s in summaries) == len(files)
    assert not any(s["failed"] for s in summaries)
    contended = sum(s["files_left_to_others"] + s["files_skipped"] for s in summaries)
    redone = sum(err.count("commit conflicted") for _, err in results.values())
    print(f"files loaded by another loader first: {contended}; commits redone: {redone}")

    target = RadarSettings().warehouse
    assert table_contents(target, TABLES) == expected
    with connect(target, read_only=True) as conn:
        paths, distinct = conn.execute(
            "select count(*), count(distinct path) from meta.loaded_files"
        ).fetchone()
    assert paths == distinct == len(files)

    # the reader queried while the loads committed: it saw more than the first and last state
    states = {json.loads(line)["files"] for line in rounds.strip().splitlines()}
    assert len(states) >= 3, states
    assert max(states) == len(files)


def test_transforms_running_while_loaders_commit_miss_no_row(
    landed: Path, tmp_path: Path, catalog_server, monkeypatch: pytest.MonkeyPatch
):
    """The incremental models read rows above their last watermark. Loaders take their
    load_id before they commit, so a watermark taken while a load is still open would
    skip that load's rows for good. Transforms run in a loop while two loaders commit;
    a last incremental run must then equal a rebuild from scratch (on a DuckDB file of
    the same files) in every intermediate model and mart."""
    as_of = DAYS[-1] + timedelta(days=1)
    tables = MODEL_TABLES

    serial = _copy(landed, tmp_path / "serial")
    monkeypatch.setenv("RADAR_DATA_DIR", str(serial))
    settings = RadarSettings()
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        runs.load_pending(conn, serial, "concurrent")
        run_transforms(conn, settings.sql_dir, settings.config_dir, as_of)
    expected = table_contents(settings.warehouse, tables, digits=12)

    lake_dir = _copy(landed, tmp_path / "lake-run")
    lake = catalog_server.lake(tmp_path / "lake")
    monkeypatch.setenv("RADAR_DATA_DIR", str(lake_dir))
    monkeypatch.setenv("RADAR_WAREHOUSE", f"ducklake:{lake.catalog}")
    monkeypatch.setenv("RADAR_LAKE_DATA_PATH", lake.data_path)
    with connect(RadarSettings().warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        # a first run before any load: every later row arrives incrementally
        run_transforms(conn, settings.sql_dir, settings.config_dir, as_of)

    barrier, stop = tmp_path / "barrier", tmp_path / "loaders-done"
    barrier.mkdir()
    # each load holds its transaction open a while: the transforms meet loads mid-way
    env = {**os.environ, "COMMIT_DELAY": "0.4"}
    loaders = [
        subprocess.Popen(
            [
                sys.executable,
                str(HERE / "lake_load_driver.py"),
                str(barrier),
                "3",
                name,
                *platforms,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for name, platforms in (("social", ["mastodon"]), ("rest", []))
    ]
    transforms = subprocess.Popen(
        [sys.executable, str(HERE / "lake_transform_driver.py"), str(barrier), "3", str(stop),
         as_of.isoformat()],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for process in loaders:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
    stop.touch()
    out, err = transforms.communicate(timeout=300)
    assert transforms.returncode == 0, err[-3000:]
    assert json.loads(out.strip().splitlines()[-1])["runs"] >= 2

    with connect(RadarSettings().warehouse) as conn:
        run_transforms(conn, settings.sql_dir, settings.config_dir, as_of)
    assert table_contents(RadarSettings().warehouse, tables, digits=12) == expected
