"""The warehouse: connecting and applying the versioned schema in ``sql/schema``.

Two backends run the same SQL (see docs/warehouse.md):

- a DuckDB file (the default, ``data/warehouse.duckdb``): one process writes at a time, and
  while it does no other process can open the file;
- a DuckLake (``RADAR_WAREHOUSE=ducklake:…``): a catalog database (Postgres for several
  machines; a DuckDB or SQLite file on one) and Parquet data files under a data path.
  Writers commit snapshots, readers see the last committed one and never wait.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

from radar.descriptions import apply_comments, load_descriptions, pending_comments
from radar.errors import ConfigError, PermanentError, WarehouseLockedError

log = logging.getLogger(__name__)

_VERSION_FILE = re.compile(r"^(\d{4})_[\w-]+\.sql$")

LAKE_PREFIX = "ducklake:"
# the name the lake is attached under; every connection then USEs it, so the models'
# schema-qualified names (core.posts, marts.candidates) mean the same on both backends
LAKE_ALIAS = "warehouse"


@dataclass(frozen=True)
class Lake:
    """A DuckLake: ``catalog`` is what DuckDB's ATTACH takes after ``ducklake:`` —
    ``postgres:<libpq settings>``, ``sqlite:<file>`` or a DuckDB file (``x.ducklake``) —
    and ``data_path`` the folder (or object-store prefix) of its Parquet files."""

    catalog: str
    data_path: str

    @classmethod
    def parse(cls, url: str, data_path: Path | str) -> Lake:
        catalog = url.removeprefix(LAKE_PREFIX).strip()
        if not catalog:
            raise ConfigError(f"RADAR_WAREHOUSE={url!r} names no catalog after 'ducklake:'")
        return cls(catalog, str(data_path))

    @property
    def kind(self) -> str:
        """``postgres``, ``sqlite`` or ``duckdb``: which database holds the catalog."""
        head = self.catalog.split(":", 1)[0]
        return head if head in ("postgres", "sqlite") else "duckdb"

    @property
    def postgres_dsn(self) -> str:
        """The libpq connection settings of a Postgres catalog."""
        return self.catalog.removeprefix("postgres:")

    def __str__(self) -> str:
        # printed in logs: a password given inline never is
        return f"{LAKE_PREFIX}{mask_passwords(self.catalog)} (data {self.data_path})"


_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def mask_passwords(text: str) -> str:
    """``text`` with every libpq ``password=…`` value (quoted or not) replaced by ***."""
    return _PASSWORD.sub(r"\1***", text)


WarehouseTarget = Path | Lake


def is_lake(target: WarehouseTarget) -> bool:
    return isinstance(target, Lake)


def may_hold_data(target: WarehouseTarget) -> bool:
    """False only for a DuckDB file not created yet: a lake's catalog cannot be asked
    without connecting, and connecting is what a reader does next anyway."""
    return is_lake(target) or target.exists()


# the lake each open lake connection was made for, so that code given only a connection
# can take the lake's locks
_LAKES: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, Lake] = weakref.WeakKeyDictionary()


def lake_of(conn: duckdb.DuckDBPyConnection) -> Lake | None:
    """The lake ``conn`` was opened on by ``connect``; None for a DuckDB file."""
    return _LAKES.get(conn)


def connect(
    path: WarehouseTarget, read_only: bool = False, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A warehouse connection in UTC, with a memory ceiling (``RADAR_DUCKDB_MEMORY_LIMIT``)."""
    if memory_limit is None:
        from radar.settings import RadarSettings

        memory_limit = RadarSettings().duckdb_memory_limit
    if isinstance(path, Lake):
        return _connect_lake(path, read_only, memory_limit)
    if "?" in str(path):
        # DuckDB reads what follows a '?' in a database path as options: it would write its
        # WAL under another name, or fail
        raise ConfigError(f"warehouse path {path} contains '?', which DuckDB cannot open")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_creations(path)
        if not path.exists():
            _create_empty(path)
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


def _connect_lake(lake: Lake, read_only: bool, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached and in use. Temp tables and spills stay
    local to this process; everything else lives in the lake."""
    spill = _spill_dir()
    config = {
        "preserve_insertion_order": False,
        # the extensions come from their wheels: never fetched at run time
        "autoinstall_known_extensions": False,
        "temp_directory": str(spill),
    }
    if memory_limit:
        config["memory_limit"] = memory_limit
    conn = duckdb.connect(":memory:", config=config)
    try:
        for name in ("ducklake", lake.kind if lake.kind != "duckdb" else None):
            if name:
                conn.execute(f"load '{_extension_file(name)}'")
        if lake.kind == "duckdb" and not read_only:
            Path(lake.catalog).parent.mkdir(parents=True, exist_ok=True)
        if not read_only and "://" not in lake.data_path:
            Path(lake.data_path).mkdir(parents=True, exist_ok=True)
        options = [f"DATA_PATH {_quote(lake.data_path.rstrip('/') + '/')}"]
        if read_only:
            options.append("READ_ONLY")
        catalog = _quote(LAKE_PREFIX + lake.catalog)
        attach = f"attach {catalog} as {LAKE_ALIAS} ({', '.join(options)})"
        for attempt in range(1, _ATTACH_ATTEMPTS + 1):
            try:
                conn.execute(attach)
                break
            except duckdb.Error as exc:
                # the first attach of a new lake creates its catalog tables; processes that
                # attach it at that same moment (the first run's loads) lose that race, and
                # find the catalog made once they try again
                if attempt == _ATTACH_ATTEMPTS or not _CREATED_MEANWHILE.search(str(exc)):
                    raise
                time.sleep(0.1 * attempt)
        conn.execute(f"use {LAKE_ALIAS}")
        conn.execute("set TimeZone = 'UTC'")
        _LAKES[conn] = lake
    except duckdb.Error as exc:
        conn.close()
        # the catalog string may hold a password: never let it reach a log through the error
        raise ConfigError(f"cannot attach {lake}: {_redacted(str(exc))}") from None
    return conn


_ATTACH_ATTEMPTS = 8
_CREATED_MEANWHILE = re.compile(
    r"already exists|duplicate key value|could not serialize|conflict", re.IGNORECASE
)


def _spill_dir() -> Path:
    """Where this process's DuckDB spills (an in-memory database has no file to spill
    beside): one folder per process, since DuckDB empties its temp folder as it closes;
    the folders of processes that were killed are removed here."""
    root = Path(tempfile.gettempdir())
    prefix = f"radar-duckdb-spill-{os.getuid()}-"
    for stale in root.glob(f"{prefix}*"):
        pid = stale.name.removeprefix(prefix)
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    return root / f"{prefix}{os.getpid()}"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _redacted(message: str) -> str:
    """The first line of a DuckDB error, any password in it masked: errors of the Postgres
    extension quote the connection string they were given."""
    first = message.strip().splitlines()[0] if message.strip() else message
    return mask_passwords(first)


# DuckDB finds an extension's entry point by its file name; the Postgres and SQLite
# wheels ship postgres.duckdb_extension and sqlite.duckdb_extension, whose entry points are
# named for postgres_scanner and sqlite_scanner
_EXTENSION_FILE_NAMES = {"postgres": "postgres_scanner", "sqlite": "sqlite_scanner"}


def _extension_file(name: str) -> Path:
    """The extension's file in its wheel (``duckdb-extension-<name>``), under the name its
    entry point needs: a link made once per machine and DuckDB version."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"the DuckLake warehouse needs duckdb-extension-{name} (make setup)")
    shipped = (
        Path(spec.submodule_search_locations[0])
        / "extensions"
        / f"v{duckdb.__version__}"
        / f"{name}.duckdb_extension"
    )
    if not shipped.exists():
        raise ConfigError(f"{shipped} is missing: duckdb-extension-{name} must match duckdb")
    wanted = _EXTENSION_FILE_NAMES.get(name)
    if wanted is None:
        return shipped
    folder = Path(tempfile.gettempdir()) / f"radar-duckdb-extensions-{os.getuid()}"
    folder = folder / f"v{duckdb.__version__}"
    link = folder / f"{wanted}.duckdb_extension"
    if not link.exists() or link.resolve() != shipped.resolve():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{wanted}.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(shipped)
        os.replace(tmp, link)  # atomic: a process loading it at once sees one or the other
    return link


def is_lake_connection(conn: duckdb.DuckDBPyConnection) -> bool:
    row = conn.execute(
        "select type from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    return row is not None and row[0] == "ducklake"


T = TypeVar("T")

# how often a lake transaction that lost a commit race to another writer is redone
CONFLICT_ATTEMPTS = 8


def is_conflict(exc: BaseException) -> bool:
    """A DuckLake commit that lost to a concurrent writer: redoing the work succeeds."""
    return isinstance(exc, duckdb.Error) and "conflict" in str(exc).lower()


def retry_conflicts(work: Callable[[], T], what: str, attempts: int = CONFLICT_ATTEMPTS) -> T:
    """Run ``work`` (one whole transaction, begin to commit) and redo it when its commit
    conflicts with another writer's; each try starts from the then newest snapshot."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except duckdb.Error as exc:
            if not is_conflict(exc) or attempt == attempts:
                raise
            log.info("%s: commit conflicted with another writer (try %s); redoing", what, attempt)
            time.sleep(min(0.05 * 2**attempt, 2.0))
    raise AssertionError("unreachable")


def next_load_id(conn: duckdb.DuckDBPyConnection) -> int:
    """A new value of ``meta.load_seq``, ever increasing (see sql/schema/0005_load_ids.sql).

    DuckLake has no sequences: there ``meta.load_seq`` is a one-row table, bumped in a
    transaction of its own (retried when two writers bump it at once). On the lake, call
    this outside an open transaction, holding the writers' lock (``radar.lake_locks``)."""
    if not is_lake_connection(conn):
        return conn.execute("select nextval('meta.load_seq')").fetchone()[0]

    def bump() -> int:
        conn.execute("begin transaction")
        try:
            value = conn.execute("select max(value) + 1 from meta.load_seq").fetchone()[0]
            conn.execute("update meta.load_seq set value = ?", [value])
            conn.execute("commit")
        except BaseException as exc:
            rollback_quietly(conn, exc)
            raise
        return value

    return retry_conflicts(bump, "load id")


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
    lake = is_lake_connection(conn)
    ddl = lake_ddl if lake else (lambda sql: sql)
    # each its own commit; on the lake another process may create them at the same moment
    for statement in (
        "create schema if not exists meta",
        "create table if not exists meta.schema_version (version integer primary key, "
        "name varchar not null, applied_at timestamp not null)",
    ):
        retry_conflicts(lambda s=statement: conn.execute(ddl(s)), "meta schema")
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

        def migrate(version: int = version, path: Path = path) -> bool:
            conn.execute("begin transaction")
            try:
                # on the lake, two processes may both find the schema behind: one applies it
                done = conn.execute(
                    "select count(*) from meta.schema_version where version = ?", [version]
                ).fetchone()[0]
                if not done:
                    conn.execute(ddl(path.read_text()))
                    conn.execute(
                        "insert into meta.schema_version values (?, ?, now()::timestamp)",
                        [version, path.name],
                    )
                conn.execute("commit")
            except BaseException as exc:
                rollback_quietly(conn, exc)
                raise
            return not done

        applied = retry_conflicts(migrate, f"schema {path.name}") or applied
        current = version
    _comment_schema(conn, sql_dir)
    if applied and not lake:
        # the migrations' DDL leaves the write-ahead log for the database file now, not at
        # the next checkpoint: a WAL holding DDL is what a crash would have to replay
        conn.execute("checkpoint")
    return current


def _comment_schema(conn: duckdb.DuckDBPyConnection, sql_dir: Path) -> None:
    """Describe ``meta`` and ``core`` (sql/schema/descriptions.yml) where their comments
    differ: after the first run, usually nothing to write."""
    descriptions = load_descriptions(sql_dir)

    def describe() -> None:
        if not pending_comments(conn, descriptions, ("meta", "core")):
            return
        conn.execute("begin transaction")
        try:
            apply_comments(conn, descriptions, ("meta", "core"))
            conn.execute("commit")
        except BaseException as exc:
            rollback_quietly(conn, exc)
            raise

    retry_conflicts(describe, "schema comments")


_CHECK = re.compile(r"\s+check\s*\(", re.IGNORECASE)


def lake_ddl(sql: str) -> str:
    """The schema SQL as DuckLake takes it. DuckLake has no PRIMARY KEY, UNIQUE or CHECK
    constraints and no sequences (docs/warehouse.md lists the differences): keys are kept
    by the loader's merge and the models' data tests on both backends, allowed values by
    the mappers and the staging quarantine, and ``meta.load_seq`` becomes a one-row table
    that ``next_load_id`` bumps."""
    sql = re.sub(
        r"create sequence (\w+\.\w+)\s*;",
        r"create table \1 (value bigint not null); insert into \1 values (0);",
        sql,
        flags=re.IGNORECASE,
    )
    sql = re.sub(r"\s+default nextval\('[\w.]+'\)", "", sql, flags=re.IGNORECASE)
    sql = re.sub(r",\s*primary key\s*\([^)]*\)", "", sql, flags=re.IGNORECASE)
    sql = re.sub(r"\s+primary key\b", "", sql, flags=re.IGNORECASE)
    return _without_checks(sql)


def _without_checks(sql: str) -> str:
    """``sql`` without its ``check (…)`` clauses (their parentheses may nest)."""
    out, position = [], 0
    for match in _CHECK.finditer(sql):
        if match.start() < position:
            continue
        depth, end = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            end += 1
        out.append(sql[position : match.start()])
        position = end
    out.append(sql[position:])
    return "".join(out)


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
        "where table_catalog = current_database() and table_schema = ? and table_name = ? "
        "and (not ? or is_nullable = 'NO') "
        "order by ordinal_position",
        [schema, name, required_only],
    ).fetchall()
    return [r[0] for r in rows]
