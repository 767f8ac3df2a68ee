"""The DuckDB warehouse: connecting and applying the versioned schema in ``sql/schema``."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import duckdb

from ingest.errors import ConfigError, PermanentError, WarehouseLockedError

log = logging.getLogger(__name__)

_VERSION_FILE = re.compile(r"^(\d{4})_[\w-]+\.sql$")


def connect(
    path: Path, read_only: bool = False, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A warehouse connection in UTC, with a memory ceiling (``RADAR_DUCKDB_MEMORY_LIMIT``)."""
    if "?" in str(path):
        # DuckDB reads what follows a '?' in a database path as options: it would write its
        # WAL under another name, or fail
        raise ConfigError(f"warehouse path {path} contains '?', which DuckDB cannot open")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_creations(path)
        if not path.exists():
            _create_empty(path)
    if memory_limit is None:
        from ingest.settings import RadarSettings

        memory_limit = RadarSettings().duckdb_memory_limit
    # no table here depends on insertion order, and keeping it costs memory on large inserts
    config = {"preserve_insertion_order": False}
    if memory_limit:
        config["memory_limit"] = memory_limit
    try:
        conn = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.IOException as exc:
        _raise_if_held_outside_the_radar(path, exc)
        raise
    conn.execute("set TimeZone = 'UTC'")
    return conn


def _create_empty(path: Path) -> None:
    """An empty DuckDB file at ``path``, put there whole: it is built under a temporary name
    and linked into place, so a process killed while DuckDB writes a new file's headers
    never leaves a truncated file that no one can open. Another process creating the same
    warehouse at once wins or loses the link, never overwrites the file the winner opened."""
    tmp = path.with_name(f"{_creating_prefix(path)}{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        duckdb.connect(str(tmp)).close()
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return  # created by another process meanwhile: open theirs
        except OSError:  # a filesystem without hard links
            if path.exists():
                return
            os.replace(tmp, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        tmp.unlink(missing_ok=True)


def _creating_prefix(path: Path) -> str:
    return f".{path.name}.new-"


def _remove_stale_creations(path: Path) -> None:
    """Remove the temporary files of creations whose process was killed."""
    prefix = _creating_prefix(path)
    for stale in path.parent.iterdir():
        pid = stale.name.removeprefix(prefix).removesuffix(".wal")
        if stale.name.startswith(prefix) and pid.isdigit() and not _alive(int(pid)):
            stale.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # a PermissionError also means the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")
# a holder whose command line has one of these is a task or command of the radar: it ends
# by itself, so the task's retry (with backoff) is the right answer
_RADAR_COMMANDS = ("airflow", "-m transforms", "-m ingest", "-m ops", "-m bench")


def _raise_if_held_outside_the_radar(path: Path, exc: duckdb.IOException) -> None:
    """A lock held by a program outside the radar (a DuckDB CLI, a notebook, DBeaver) is not
    released by waiting: fail at once, naming the holder."""
    found = _LOCK_HOLDER.search(str(exc))
    if found is None:
        return
    pid = found["pid"]
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = found["exe"]  # another host or OS: the executable is all we know
    if any(marker in command for marker in _RADAR_COMMANDS):
        return
    raise WarehouseLockedError(
        f"warehouse {path} is locked by PID {pid} ({command[:120]}), a program outside the "
        "radar: close it (or open it with read_only=True while no DAG runs), then rerun"
    ) from exc


_GLOB_CHARACTERS = re.compile(r"([\[\]*?])")


def literal_file(path: Path | str) -> str:
    """``path`` for DuckDB's file readers, which expand ``*``, ``?`` and ``[...]`` as globs:
    each such character becomes a one-character class, so a recording named ``x[1].jsonl``
    is read as itself and never as ``x1.jsonl``."""
    return _GLOB_CHARACTERS.sub(r"[\1]", str(path))


def schema_files(sql_dir: Path) -> list[tuple[int, Path]]:
    found = []
    for path in sorted((sql_dir / "schema").glob("*.sql")):
        match = _VERSION_FILE.match(path.name)
        if match is None:
            raise ValueError(f"schema file {path.name} must be named NNNN_name.sql")
        found.append((int(match.group(1)), path))
    return found


def apply_schema(conn: duckdb.DuckDBPyConnection, sql_dir: Path) -> int:
    """Apply every schema file newer than the recorded version; returns the version."""
    conn.execute("create schema if not exists meta")
    conn.execute(
        "create table if not exists meta.schema_version "
        "(version integer primary key, name varchar not null, applied_at timestamp not null)"
    )
    current = conn.execute("select coalesce(max(version), 0) from meta.schema_version").fetchone()[
        0
    ]
    files = schema_files(sql_dir)
    newest_known = max((version for version, _ in files), default=0)
    if current > newest_known:
        raise PermanentError(
            f"warehouse schema version {current} is newer than this code knows "
            f"({newest_known}): a newer radar wrote it; run that version or a new warehouse"
        )
    applied = False
    for version, path in files:
        if version <= current:
            continue
        log.info("applying warehouse schema %s", path.name)
        conn.execute("begin transaction")
        try:
            conn.execute(path.read_text())
            conn.execute(
                "insert into meta.schema_version values (?, ?, now()::timestamp)",
                [version, path.name],
            )
            conn.execute("commit")
        except BaseException as exc:
            rollback_quietly(conn, exc)
            raise
        current = version
        applied = True
    if applied:
        # the migrations' DDL leaves the write-ahead log for the database file now, not at
        # the next checkpoint: a WAL holding DDL is what a crash would have to replay
        conn.execute("checkpoint")
    return current


def rollback_quietly(conn: duckdb.DuckDBPyConnection, cause: BaseException) -> None:
    """Roll back the open transaction after ``cause``, which the caller re-raises.

    A COMMIT that failed (a full disk, an I/O error) has already ended the transaction, so
    a ROLLBACK then fails with "no transaction is active", and would hide the real error:
    any failure to roll back is logged, never raised."""
    try:
        conn.execute("rollback")
    except duckdb.Error as exc:
        log.debug("rollback after %s: %s", type(cause).__name__, exc)


def table_columns(
    conn: duckdb.DuckDBPyConnection, relation: str, required_only: bool = False
) -> list[str]:
    """Column names of ``schema.table`` in order (only the NOT NULL ones with
    ``required_only``); empty when it does not exist."""
    schema, name = relation.split(".")
    rows = conn.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? and (not ? or is_nullable = 'NO') "
        "order by ordinal_position",
        [schema, name, required_only],
    ).fetchall()
    return [r[0] for r in rows]
