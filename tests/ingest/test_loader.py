"""The loader: exactly-once per landing file, crash-safe, order-independent merges."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from ingest import runs
from ingest.connector import TaskContext
from ingest.landing import write_parquet_atomic
from ingest.loader import LandingFileChangedError, load_pending
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from tests.helpers.feed_builder import mastodon_account, mastodon_status, page_line, write_pages
from tests.helpers.small_disk import fill, mounted_small_disk
from tests.helpers.warehouse_helpers import query, table_contents

T1, T2 = datetime(2026, 11, 20, 6), datetime(2026, 11, 21, 6)
CORE = [
    "core.accounts",
    "core.account_snapshots",
    "core.posts",
    "core.post_metric_snapshots",
    "meta.rejects",
]


def _feed(feed: Path, day: str, fetched: datetime, followers: int, likes: int) -> None:
    alice = mastodon_account("alice", "greens.social", followers)
    post = mastodon_status(alice, "greens.social", "1", datetime(2026, 11, 19), "tofu", likes=likes)
    bad = mastodon_status(alice, "greens.social", "2", datetime(2026, 11, 19), "x")
    bad["created_at"] = "yesterday"
    write_pages(
        feed,
        "mastodon",
        "accounts_lookup",
        day,
        "lookup",
        [page_line("https://greens.social/api/v1/accounts/lookup?acct=alice", fetched, alice)],
    )
    write_pages(
        feed,
        "mastodon",
        "account_statuses",
        day,
        "statuses",
        [page_line("https://greens.social/api/v1/accounts/1/statuses", fetched, [post, bad])],
    )


def _extract(day: datetime, run_id: str) -> None:
    end = day.replace(day=day.day + 1)
    for i, batch in enumerate(runs.plan_extract(day, end)):
        runs.extract(batch, TaskContext(day, end, run_id, f"extract-{i}"))


@pytest.fixture
def two_days(tmp_path: Path, warehouse_backend, monkeypatch: pytest.MonkeyPatch) -> RadarSettings:
    """Two days of one account's recordings, on each warehouse backend in turn."""
    feed = tmp_path / "feed"
    _feed(feed, "2026-11-20", T1, 20_000, 100)
    _feed(feed, "2026-11-21", T2, 21_000, 150)
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon"]')
    return RadarSettings()


def _load(settings: RadarSettings, run_id: str = "run", **kwargs) -> dict:
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        return load_pending(conn, settings.data_dir, run_id, **kwargs)


def test_each_landing_file_is_loaded_exactly_once(two_days: RadarSettings):
    _extract(datetime(2026, 11, 20), "run-a")
    first = _load(two_days)
    assert first.files_loaded == 5 and first.rows["posts"] == 1 and first.rows["rejects"] == 1
    again = _load(two_days)
    assert again.files_loaded == 0 and again.files_skipped == 5
    assert query(two_days.warehouse, "select count(*) from meta.loaded_files") == [(5,)]
    assert query(two_days.warehouse, "select count(*) from meta.rejects") == [(1,)]


def test_rerun_of_the_same_interval_duplicates_nothing(two_days: RadarSettings):
    _extract(datetime(2026, 11, 20), "run-a")
    _load(two_days)
    once = table_contents(two_days.warehouse, CORE[:-1])
    _extract(datetime(2026, 11, 20), "run-b")  # new landing files with the same rows
    assert _load(two_days).files_loaded == 5
    assert table_contents(two_days.warehouse, CORE[:-1]) == once
    assert query(two_days.warehouse, "select count(*) from meta.rejects") == [(1,)]


def test_crash_before_commit_leaves_nothing_and_the_retry_loads_it(
    two_days: RadarSettings, tmp_path: Path, fresh_warehouse
):
    _extract(datetime(2026, 11, 20), "run-a")
    calls = {"n": 0}

    def crash_on_third_file():
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("simulated crash")

    with pytest.raises(KeyboardInterrupt):
        _load(two_days, before_commit=crash_on_third_file)
    assert query(two_days.warehouse, "select count(*) from meta.loaded_files") == [(2,)]
    assert query(two_days.warehouse, "select count(*) from core.posts") == [(0,)]
    assert _load(two_days).files_loaded == 3
    crashed = table_contents(two_days.warehouse, CORE)

    clean_settings = fresh_warehouse(tmp_path / "clean")
    _extract(datetime(2026, 11, 20), "run-a")
    _load(clean_settings)
    assert table_contents(clean_settings.warehouse, CORE) == crashed


def test_newest_observation_wins_whatever_the_load_order(two_days: RadarSettings):
    _extract(datetime(2026, 11, 21), "run-late")
    _load(two_days)
    _extract(datetime(2026, 11, 20), "run-early")  # older data arrives after newer
    _load(two_days)
    assert query(two_days.warehouse, "select observed_at, first_seen_at from core.accounts") == [
        (T2, T1)
    ]
    assert query(
        two_days.warehouse, "select followers from core.account_snapshots order by observed_at"
    ) == [(20_000,), (21_000,)]
    assert query(
        two_days.warehouse, "select likes from core.post_metric_snapshots order by observed_at"
    ) == [(100,), (150,)]


def test_a_rewritten_landing_file_is_refused(two_days: RadarSettings):
    _extract(datetime(2026, 11, 20), "run-a")
    _load(two_days)
    landed = next(two_days.landing_dir.glob("mastodon/posts/dt=*/*.parquet"))
    import pyarrow.parquet as pq

    table = pq.read_table(landed)
    write_parquet_atomic(table.slice(0, 0), landed)
    with pytest.raises(LandingFileChangedError, match="must never be rewritten"):
        _load(two_days)


def _random_parts(seed: int, parts: int) -> list:
    """Landing batches whose keys overlap at random: most keys new and seen once, some
    repeated within a batch or across batches, with ties on observed_at."""
    import random

    from ingest.batch import MappedBatch
    from radar.canonical import Account, Post, PostKind, PostMetricSnapshot

    rng = random.Random(seed)
    days = [datetime(2026, 11, d, 6) for d in (18, 19, 20)]
    batches = []
    for part in range(parts):
        batch = MappedBatch("mastodon")
        for _ in range(40):
            n = rng.randrange(60)
            seen = rng.choice(days)
            account = f"user{n % 7}@greens.social"
            batch.posts.append(
                Post(
                    platform="mastodon",
                    post_id=f"https://greens.social/s/{n}",
                    account_id=account,
                    created_at=datetime(2026, 11, 17),
                    text=f"post {n} as seen in part {part}, row {len(batch.posts)}",
                    hashtags=[f"t{rng.randrange(3)}"],
                    kind=PostKind.original,
                    observed_at=seen,
                )
            )
            batch.post_metric_snapshots.append(
                PostMetricSnapshot(
                    platform="mastodon",
                    post_id=f"https://greens.social/s/{n}",
                    observed_at=seen,
                    likes=rng.randrange(100),
                    comments=part,
                    shares=None,
                )
            )
            batch.accounts.append(
                Account(
                    platform="mastodon",
                    account_id=account,
                    handle=account,
                    bio=f"bio from part {part}",
                    discovered_via=f"via part {part} row {len(batch.accounts)}",
                    observed_at=seen,
                )
            )
        batches.append(batch)
    return batches


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_files_loaded_together_or_one_by_one_give_the_same_tables(
    tmp_path: Path, radar_env: Path, seed: int
):
    """The loader inserts keys that are new and seen once straight from the files and
    merges the rest; which path a row takes must not change the result."""
    from ingest.landing import land_batch

    settings = RadarSettings()
    day = datetime(2026, 11, 20).date()
    parts = _random_parts(seed, 6)
    together = tmp_path / "together"
    for i, batch in enumerate(parts):  # two files first, then four in one group
        land_batch(batch, together / "landing", day, "run", f"task-{i}")
        if i in (1, 5):
            with connect(together / "warehouse.duckdb") as conn:
                apply_schema(conn, settings.sql_dir)
                load_pending(conn, together, "run")
    one_by_one = tmp_path / "one_by_one"
    for i, batch in enumerate(parts):
        land_batch(batch, one_by_one / "landing", day, "run", f"task-{i}")
        with connect(one_by_one / "warehouse.duckdb") as conn:
            apply_schema(conn, settings.sql_dir)
            assert load_pending(conn, one_by_one, "run").files_loaded == 3
    tables = CORE[:-1]
    expected = table_contents(one_by_one / "warehouse.duckdb", tables)
    assert table_contents(together / "warehouse.duckdb", tables) == expected
    posts = query(together / "warehouse.duckdb", "select count(*) from core.posts")[0][0]
    assert 30 < posts < 60


@pytest.mark.parametrize("key_hash", ["0", "hash({keys}) % 5"], ids=["one-hash", "five-hashes"])
def test_keys_whose_hashes_collide_merge_as_their_own_keys(
    tmp_path: Path, radar_env: Path, monkeypatch: pytest.MonkeyPatch, key_hash: str
):
    """The loader picks the keys to merge by their hash; a key that shares its hash with
    another is merged instead of inserted straight, and must end as the same row."""
    from ingest import loader
    from ingest.landing import land_batch

    settings = RadarSettings()
    day = datetime(2026, 11, 20).date()
    warehouses = {}
    for name, collide in (("exact", False), ("colliding", True)):
        data_dir = tmp_path / name
        if collide:
            monkeypatch.setattr(loader, "KEY_HASH", key_hash)
        for i, batch in enumerate(_random_parts(4, 4)):  # two groups: the second merges
            land_batch(batch, data_dir / "landing", day, "run", f"task-{i}")
            if i in (1, 3):
                with connect(data_dir / "warehouse.duckdb") as conn:
                    apply_schema(conn, settings.sql_dir)
                    load_pending(conn, data_dir, "run")
        warehouses[name] = table_contents(data_dir / "warehouse.duckdb", CORE[:-1])
    assert warehouses["colliding"] == warehouses["exact"]


@pytest.fixture
def small_disk(tmp_path: Path):
    with mounted_small_disk(tmp_path / "small_disk", "4m") as mount:
        yield mount


# the DuckDB file's own failure mode; a lake's small writes go into its catalog database
@pytest.mark.parametrize("warehouse_backend", ["file"], indirect=True)
def test_a_full_disk_at_commit_raises_its_own_error_and_loses_nothing(
    two_days: RadarSettings, small_disk: Path, monkeypatch: pytest.MonkeyPatch
):
    """A COMMIT that fails for want of space has already ended its transaction: the
    loader's rollback must not replace the disk's error with "no transaction is active"."""
    import duckdb

    monkeypatch.setenv("RADAR_WAREHOUSE_PATH", str(small_disk / "warehouse.duckdb"))
    settings = RadarSettings()
    _extract(datetime(2026, 11, 20), "run-a")
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)  # checkpointed: the schema is on disk
        filler = fill(small_disk)
        with pytest.raises(duckdb.Error) as raised:
            load_pending(conn, settings.data_dir, "run-a")
    assert "no transaction is active" not in str(raised.value)
    assert "No space left on device" in str(raised.value), raised.value
    filler.unlink()
    assert query(settings.warehouse, "select count(*) from meta.loaded_files") == [(0,)]
    assert _load(settings, "run-a").files_loaded == 5
    assert query(settings.warehouse, "select count(*) from core.posts") == [(1,)]


_KILLED_ON_THIRD_COMMIT = """
import os, signal, sys
from pathlib import Path
from ingest.loader import load_pending
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect

settings, groups = RadarSettings(), []
def kill_on_third_commit():
    groups.append(1)
    if len(groups) == 3:
        os.kill(os.getpid(), signal.SIGKILL)
with connect(settings.warehouse) as conn:
    apply_schema(conn, settings.sql_dir)
    load_pending(conn, settings.data_dir, sys.argv[1], before_commit=kill_on_third_commit)
"""


def test_meta_runs_counts_what_a_killed_attempt_committed(
    two_days: RadarSettings, tmp_path: Path, fresh_warehouse
):
    """A load killed after two of its groups committed, then retried: meta.runs counts the
    run's files and rows over both attempts, as meta.loaded_files has them."""
    import os
    import signal
    import subprocess
    import sys

    start, end = datetime(2026, 11, 20), datetime(2026, 11, 21)
    _extract(start, "run-a")
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_ON_THIRD_COMMIT, "run-a"],
        env=os.environ.copy(),
        cwd=Path(__file__).resolve().parents[2],
    )
    assert killed.returncode == -signal.SIGKILL
    assert query(two_days.warehouse, "select count(*) from meta.loaded_files") == [(2,)]
    runs.load("run-a", "social_ingest", start, end)
    recorded = "select files_loaded, rows_loaded, rejects_loaded from meta.runs"
    from_files = """select count(*), sum(row_count) filter (where entity <> 'rejects'),
                           sum(row_count) filter (where entity = 'rejects')
                    from meta.loaded_files where run_id = 'run-a'"""
    assert query(two_days.warehouse, recorded) == query(two_days.warehouse, from_files)

    uninterrupted = fresh_warehouse(tmp_path / "uninterrupted")
    _extract(start, "run-a")
    runs.load("run-a", "social_ingest", start, end)
    assert query(uninterrupted.warehouse, recorded) == query(two_days.warehouse, recorded)
    assert query(two_days.warehouse, recorded) == [(5, 4, 1)]


@pytest.mark.parametrize("statistics", [True, False])
def test_a_row_without_a_required_value_is_diverted_with_or_without_file_statistics(
    two_days: RadarSettings, statistics: bool
):
    """The loader skips its scan for missing values only when every row group's statistics
    say there are none; a landing file written without statistics is read row by row."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    _extract(datetime(2026, 11, 20), "run-a")
    (path,) = (two_days.landing_dir / "mastodon" / "posts").rglob("*.parquet")
    table = pq.read_table(path)
    nulled = pc.if_else(pc.equal(table["kind"], "original"), None, table["observed_at"])
    table = table.set_column(table.schema.get_field_index("observed_at"), "observed_at", nulled)
    pq.write_table(table, path, compression="zstd", write_statistics=statistics)

    summary = _load(two_days)

    assert summary.failed == [] and summary.rows["posts"] == 1
    assert query(two_days.warehouse, "select count(*) from core.posts") == [(0,)]
    assert query(
        two_days.warehouse, "select reason from meta.rejects where reason like 'loader:%'"
    ) == [("loader: no value for observed_at",)]
