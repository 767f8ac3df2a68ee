"""Housekeeping for radar_maintenance: retention of raw and landing files, checkpoints.

Ages count from the run's data-interval end, so a rerun of an old maintenance interval
deletes what it deleted then, never more.
"""

from __future__ import annotations

import logging
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

from ingest.canonical import to_naive_utc
from ingest.loader import checksum
from ingest.settings import RadarSettings
from ingest.warehouse import connect

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
    if not old or not settings.warehouse.exists():
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


def checkpoint_warehouse() -> None:
    settings = RadarSettings()
    if settings.warehouse.exists():
        with connect(settings.warehouse) as conn:
            conn.execute("checkpoint")
