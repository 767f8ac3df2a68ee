"""The analyst copy: a read-only copy of the DuckDB warehouse file, published whole after
each signals run, for analysts to query while the DAGs write the warehouse itself.

DuckDB lets one process open a file for writing and no other process open it meanwhile:
an analyst holding ``data/warehouse.duckdb`` open would stop the next load, and could not
query while a load or the signals ran. The copy, ``data/published/warehouse.duckdb``, is
a file of its own that no DAG opens for writing, so readers of it never wait and never
block a run (docs/warehouse.md says how to open it and see a newer publish).

A publish holds the warehouse's write lock from start to end (so two publishes never
interleave, and nothing writes the file while its bytes are copied): it checkpoints the
warehouse, copies the file's bytes to a temporary name beside the copy, fsyncs it, checks
that it opens with the same tables, makes it read-only (0444) and renames it over the
published name, then fsyncs the folder. A reader with the previous copy open keeps reading
that file (its inode) undisturbed; a new session, or a DETACH and ATTACH, sees the new one.
A publish killed at any instant leaves the previous copy under the published name and at
most a temporary file, which the next publish removes.

Copying the checkpointed file's bytes was measured against ``ATTACH`` + ``COPY FROM
DATABASE`` on the same warehouses (docs/warehouse.md): 0.02 s against 0.11 s for the demo
(21 MB), 0.2 s against 5–7 s at a million posts (275 MB; COPY FROM DATABASE writes 154 MB).
"""

from __future__ import annotations

import errno
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from radar.errors import PermanentError
from radar.settings import RadarSettings
from radar.warehouse import connect

log = logging.getLogger(__name__)

PUBLISHED_FOLDER = "published"
PUBLISHED_NAME = "warehouse.duckdb"
# bytes per copy_file_range call: large, so the copy is a few system calls
_CHUNK_BYTES = 64 * 1024 * 1024
# copy_file_range refused (an old kernel, a filesystem or pair without it): read and write
_NO_COPY_RANGE = {errno.ENOSYS, errno.EXDEV, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}


class PublishError(RuntimeError):
    """The copy could not be made whole: nothing was published, the previous copy stays."""


@dataclass(frozen=True)
class Published:
    path: Path
    size_bytes: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.path} ({self.size_bytes / 1e6:.1f} MB in {self.seconds:.2f} s)"


def published_path(settings: RadarSettings | None = None) -> Path:
    """``<RADAR_DATA_DIR>/published/warehouse.duckdb``: where analysts open the copy."""
    settings = settings or RadarSettings()
    return settings.data_dir / PUBLISHED_FOLDER / PUBLISHED_NAME


def temp_prefix(published: Path) -> str:
    """Temporary copies are ``.<name>.publishing-<pid>`` beside the published name: the same
    filesystem, so the rename is atomic, and hidden from an analyst's ``*.duckdb``."""
    return f".{published.name}.publishing-"


def publish_analyst_copy(settings: RadarSettings | None = None) -> Published | None:
    """Publish the warehouse file as the analyst copy; ``None`` when the warehouse is not a
    DuckDB file (a DuckLake's readers never wait for its writers: nothing to publish).

    Raises when the copy cannot be made whole; the warehouse and the previous copy are
    then as they were, and no temporary file is left."""
    settings = settings or RadarSettings()
    warehouse = settings.warehouse
    if not isinstance(warehouse, Path):
        log.info("warehouse %s is no DuckDB file: its readers never wait; no copy", warehouse)
        return None
    if not warehouse.exists():
        raise PermanentError(f"no warehouse at {warehouse} to publish: run the signals first")
    target = published_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    tmp = target.with_name(f"{temp_prefix(target)}{os.getpid()}")
    # the write lock, held to the end: no radar process writes the file or publishes
    # meanwhile, so every temporary copy found now is a killed publish's
    with connect(warehouse) as conn:
        _remove_killed_publishes(target)
        conn.execute("checkpoint")
        wal = warehouse.with_name(f"{warehouse.name}.wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise PublishError(f"{wal} still holds changes after a checkpoint: not published")
        tables = _tables(conn)
        try:
            size = _copy_bytes(warehouse, tmp)
            _check_copy(tmp, tables)
            tmp.chmod(0o444)  # an analyst's accidental read-write open fails (unless root)
            # a WAL beside the published name would be replayed into the new copy
            target.with_name(f"{target.name}.wal").unlink(missing_ok=True)
            os.replace(tmp, target)
            _fsync_folder(target.parent)
        finally:
            tmp.unlink(missing_ok=True)
    published = Published(target, size, time.perf_counter() - began)
    log.info("published the analyst copy %s", published)
    return published


def _remove_killed_publishes(target: Path) -> None:
    prefix = temp_prefix(target)
    for stale in target.parent.iterdir():
        if stale.name.startswith(prefix):
            log.info("removing %s, left by a publish that was killed", stale)
            stale.unlink(missing_ok=True)


def _tables(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Schema, name and row count of every table and view, from the catalog alone."""
    return conn.execute(
        """select schema_name, table_name, estimated_size from duckdb_tables()
           where database_name = current_database()
           union all
           select schema_name, view_name, null from duckdb_views()
           where database_name = current_database() and not internal
           order by all"""
    ).fetchall()


def _copy_bytes(source: Path, target: Path) -> int:
    """Copy ``source`` to a new file ``target`` and fsync it; returns the bytes copied.
    ``copy_file_range`` copies inside the kernel (and shares the blocks where the
    filesystem can)."""
    with source.open("rb") as reading, target.open("wb") as writing:
        size = os.fstat(reading.fileno()).st_size
        copied = 0
        while copied < size:
            count = min(_CHUNK_BYTES, size - copied)
            done = _copy_chunk(reading.fileno(), writing.fileno(), copied, count)
            if done <= 0:
                raise PublishError(f"{source} ended at byte {copied} of {size} while copied")
            copied += done
        os.fsync(writing.fileno())
    return size


def _copy_chunk(source: int, target: int, offset: int, count: int) -> int:
    """Copy up to ``count`` bytes at ``offset`` to the same offset; returns how many."""
    if hasattr(os, "copy_file_range"):
        try:
            return os.copy_file_range(source, target, count, offset, offset)
        except OSError as exc:
            if exc.errno not in _NO_COPY_RANGE:
                raise
    return os.pwrite(target, os.pread(source, count, offset), offset)


def _check_copy(copy: Path, tables: list[tuple]) -> None:
    """The copy opens read-only and holds the warehouse's tables, views and row counts."""
    try:
        with duckdb.connect(str(copy), read_only=True) as conn:
            found = _tables(conn)
    except duckdb.Error as exc:
        raise PublishError(f"the copy {copy} does not open: {exc}") from exc
    if found != tables:
        missing = sorted(set(tables) ^ set(found))[:3]
        raise PublishError(f"the copy {copy} differs from the warehouse: {missing}")


def _fsync_folder(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
