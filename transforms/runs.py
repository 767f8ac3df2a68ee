"""Task bodies for the signals half of a DAG run: transforms, then the report."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

import duckdb

from radar.canonical import to_naive_utc
from radar.errors import PermanentError, one_line
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from transforms.report import format_report
from transforms.runner import run_transforms

log = logging.getLogger(__name__)


def as_of_instants(
    requested: str | None, event_extras: list[dict], fallback: datetime | None
) -> list[str]:
    """What a signals run computes, oldest first: the requested instant; else the end of
    every interval the triggering loads covered (a backfill may queue several); else
    ``fallback`` (a manual run: the end of the interval its logical date names). ISO
    strings, so they travel through XCom."""
    if requested:
        return [datetime.fromisoformat(requested).isoformat()]
    ends = {e["data_interval_end"] for e in event_extras if e.get("data_interval_end")}
    if ends:
        return sorted(ends, key=datetime.fromisoformat)
    if fallback is not None:
        return [fallback.isoformat()]
    raise ValueError("no as_of: set params.as_of, or let the radar_warehouse_core asset start it")


def build_signals(as_of: datetime, run_id: str) -> dict[str, int]:
    """Rebuild every model as of ``as_of``; mark the ingest runs of that interval done.

    ``run_id`` is the signals run, for the log."""
    settings = RadarSettings()
    as_of = to_naive_utc(as_of)
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        try:
            summary = run_transforms(conn, settings.sql_dir, settings.config_dir, as_of)
        except duckdb.OutOfMemoryException as exc:
            # the same limit fails the same way on every retry: say which setting to raise
            limit = settings.duckdb_memory_limit or "80% of RAM"
            raise PermanentError(
                f"DuckDB ran out of memory at RADAR_DUCKDB_MEMORY_LIMIT={limit}: raise it "
                f"(the default is 2GB; 5 M posts need about that) — {one_line(exc)[:160]}"
            ) from exc
        log.info("%s: signals as of %s: %s", run_id, as_of, summary.rows)
        for entity, platform, rows, example in conn.execute(
            "select entity, platform, count(*), any_value(reason) from staging.stg_quarantine "
            "where observed_at < ? group by all order by all",
            [as_of],
        ).fetchall():
            log.warning(
                "kept out of the signals: %s %s row(s) of %s (%s; staging.stg_quarantine)",
                rows,
                platform,
                entity,
                example,
            )
        # the ingest runs whose interval ends here now have their signals
        conn.execute(
            "update meta.runs set transformed_at = now()::timestamp, candidates = ? "
            "where data_interval_end = ?",
            [summary.rows.get("marts.candidates", 0), as_of],
        )
    return summary.rows


def export_candidates(as_of: datetime) -> Path:
    """``data/exports/candidates-<as_of day>.csv``: the candidate rows of one as-of."""
    settings = RadarSettings()
    as_of = to_naive_utc(as_of)
    path = settings.exports_dir / f"candidates-{as_of:%Y-%m-%d}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with connect(settings.warehouse, read_only=True) as conn:
        conn.execute(
            f"""copy (select * from marts.candidates where as_of = ?
                      order by scope_type, scope, scope_rank)
                to '{tmp}' (header, delimiter ',')""",
            [as_of],
        )
    os.replace(tmp, path)
    return path


def report(as_of: datetime) -> str:
    settings = RadarSettings()
    with connect(settings.warehouse, read_only=True) as conn:
        return format_report(conn, settings.warehouse, to_naive_utc(as_of))
