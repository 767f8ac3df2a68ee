"""Housekeeping for radar_maintenance: retention of raw and landing files, and upkeep of
the warehouse (a DuckDB file's checkpoint; a DuckLake's compaction and snapshot expiry).

Ages count from the run's data-interval end, so a rerun of an old maintenance interval
deletes what it deleted then, never more.
"""

from __future__ import annotations

import logging
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from ingest.loader import checksum
from radar.canonical import to_naive_utc
from radar.settings import RadarSettings
from radar.warehouse import LAKE_ALIAS, Lake, connect, may_hold_data

log = logging.getLogger(__name__)


def _day_dirs(root: Path, pattern: str) -> list[tuple[date, Path]]:
    found = []
    for path in root.glob(pattern):
        try:
            found.append((date.fromisoformat(path.name.removeprefix("dt=")), path))
        except ValueError:
            continue  # not a day partition: leave it alone
    return found


def prune_raw_archive(as_of: datetime) -> int:
    """Delete raw-archive days older than ``raw_retention_days``; returns the days removed."""
    settings = RadarSettings()
    cutoff = to_naive_utc(as_of).date() - timedelta(days=settings.raw_retention_days)
    removed = 0
    for day, path in _day_dirs(settings.raw_dir, "*/*/dt=*"):
        if day < cutoff:
            shutil.rmtree(path)
            removed += 1
    log.info("raw archive: removed %s day folders before %s", removed, cutoff)
    return removed


def prune_landing(as_of: datetime) -> int:
    """Delete loaded landing files older than ``landing_retention_days``; never unloaded ones."""
    settings = RadarSettings()
    cutoff = to_naive_utc(as_of).date() - timedelta(days=settings.landing_retention_days)
    old = [
        f
        for day, folder in _day_dirs(settings.landing_dir, "*/*/dt=*")
        if day < cutoff
        for f in folder.glob("*.parquet")
    ]
    if not old or not _warehouse_exists(settings):
        return 0
    with connect(settings.warehouse, read_only=True) as conn:
        loaded = dict(conn.execute("select path, checksum from meta.loaded_files").fetchall())
    removed = 0
    for path in old:
        rel = path.relative_to(settings.data_dir).as_posix()
        if loaded.get(rel) == checksum(path):
            path.unlink()
            removed += 1
    log.info("landing: removed %s loaded files before %s", removed, cutoff)
    return removed


def _warehouse_exists(settings: RadarSettings) -> bool:
    return may_hold_data(settings.warehouse)


def tend_warehouse(as_of: datetime) -> dict[str, int]:
    """A DuckDB file: ``CHECKPOINT``, folding the write-ahead log into the file. A DuckLake:
    ``tend_lake``. Returns what was done, counted."""
    settings = RadarSettings()
    if not _warehouse_exists(settings):
        return {}
    with connect(settings.warehouse) as conn:
        if not isinstance(settings.warehouse, Lake):
            conn.execute("checkpoint")
            return {"checkpoints": 1}
        keep_from = to_naive_utc(as_of) - timedelta(days=settings.lake_snapshot_retention_days)
        return tend_lake(conn, keep_from)


def tend_lake(conn, keep_from: datetime) -> dict[str, int]:
    """Upkeep of a DuckLake, in the order its own CHECKPOINT takes them:

    - rows still inlined in the catalog database (small commits) written out as Parquet;
    - small adjacent data files of a table merged into larger ones (every load and every
      transform run commits a few files per table; reads slow down as they pile up);
    - snapshots older than ``keep_from`` expired: time travel reaches back to it, no further;
    - data files that only expired snapshots used, and files in the data path that no
      snapshot knows (left by a writer killed mid-commit), deleted when older than
      ``keep_from`` (a file younger than that may belong to a commit in flight).

    Concurrent readers are unaffected: they read the snapshots that are kept."""
    lake = f"'{LAKE_ALIAS}'"
    conn.execute(f"call ducklake_flush_inlined_data({lake})")
    merged = conn.execute(f"call ducklake_merge_adjacent_files({lake})").fetchall()
    expired = conn.execute(
        f"call ducklake_expire_snapshots({lake}, older_than => ?::timestamptz)", [keep_from]
    ).fetchall()
    deleted = conn.execute(
        f"call ducklake_cleanup_old_files({lake}, older_than => ?::timestamptz)", [keep_from]
    ).fetchall()
    orphans = conn.execute(
        f"call ducklake_delete_orphaned_files({lake}, older_than => ?::timestamptz)", [keep_from]
    ).fetchall()
    done = {
        "tables_compacted": len(merged),
        "snapshots_expired": len(expired),
        "files_deleted": len(deleted),
        "orphaned_files_deleted": len(orphans),
    }
    log.info("lake upkeep (snapshots kept from %s): %s", keep_from, done)
    return done
