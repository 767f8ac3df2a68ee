"""The DuckDB warehouse: connecting and applying the versioned schema in ``sql/schema``."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

_VERSION_FILE = re.compile(r"^(\d{4})_[\w-]+\.sql$")


def connect(
    path: Path, read_only: bool = False, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A warehouse connection in UTC, with a memory ceiling (``RADAR_DUCKDB_MEMORY_LIMIT``)."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    if memory_limit is None:
        from ingest.settings import RadarSettings

        memory_limit = RadarSettings().duckdb_memory_limit
    # no table here depends on insertion order, and keeping it costs memory on large inserts
    config = {"preserve_insertion_order": False}
    if memory_limit:
        config["memory_limit"] = memory_limit
    conn = duckdb.connect(str(path), read_only=read_only, config=config)
    conn.execute("set TimeZone = 'UTC'")
    return conn


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
    for version, path in schema_files(sql_dir):
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
        except Exception:
            conn.execute("rollback")
            raise
        current = version
    return current


def table_columns(conn: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    """Column names of ``schema.table`` in order; empty when it does not exist."""
    schema, name = relation.split(".")
    rows = conn.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    ).fetchall()
    return [r[0] for r in rows]
