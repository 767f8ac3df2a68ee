"""Task bodies for the signals half of a DAG run: transforms, then the report."""

from __future__ import annotations

from datetime import datetime

from ingest.canonical import to_naive_utc
from ingest.settings import RadarSettings
from ingest.warehouse import apply_schema, connect
from transforms.report import format_report
from transforms.runner import run_transforms


def build_signals(as_of: datetime, run_id: str) -> dict[str, int]:
    """Rebuild every model as of the run's data-interval end; record it in meta.runs."""
    settings = RadarSettings()
    as_of = to_naive_utc(as_of)
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        summary = run_transforms(conn, settings.sql_dir, settings.config_dir, as_of)
        conn.execute(
            "update meta.runs set transformed_at = now()::timestamp, candidates = ? "
            "where run_id = ?",
            [summary.rows.get("marts.candidates", 0), run_id],
        )
    return summary.rows


def report(as_of: datetime) -> str:
    settings = RadarSettings()
    with connect(settings.warehouse, read_only=True) as conn:
        return format_report(conn, settings.warehouse, to_naive_utc(as_of))
