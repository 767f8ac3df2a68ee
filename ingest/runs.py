"""Task bodies for the ingest half of a DAG run: plan, extract, load.

DAG files call these and nothing else, so the DAG stays wiring and every step can be run
and tested without Airflow.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from ingest.canonical import to_naive_utc
from ingest.extract import extract_fixture_batch, plan_fixture_batches
from ingest.loader import load_pending, record_run_load
from ingest.settings import RadarSettings
from ingest.warehouse import apply_schema, connect


def _require_fixture_source(settings: RadarSettings) -> None:
    if settings.source != "fixture":
        raise NotImplementedError(
            f"RADAR_SOURCE={settings.source!r}: only the 'fixture' source exists so far"
        )


def plan_extract(interval_start: datetime, interval_end: datetime) -> list[dict]:
    settings = RadarSettings()
    _require_fixture_source(settings)
    if not settings.feed_dir.is_dir():
        raise FileNotFoundError(f"fixture feed {settings.feed_dir} does not exist (RADAR_FEED_DIR)")
    return plan_fixture_batches(
        settings.feed_dir,
        settings.platforms,
        to_naive_utc(interval_start),
        to_naive_utc(interval_end),
        settings.files_per_batch,
    )


def extract(batch: dict, interval_start: datetime, run_id: str, task: str) -> dict:
    settings = RadarSettings()
    summary = extract_fixture_batch(
        settings.feed_dir,
        batch["platform"],
        batch["files"],
        settings.landing_dir,
        to_naive_utc(interval_start).date(),
        run_id,
        task,
    )
    return {**asdict(summary), "files": batch["files"]}


def failed_batches(planned: list[dict], extracted: list[dict]) -> list[str]:
    """Planned batches with no extract result, as ``platform: first file (+n more)``."""
    done = {(e["platform"], tuple(e["files"])) for e in extracted}
    return [
        f"{b['platform']}: {b['files'][0]}"
        + (f" (+{len(b['files']) - 1} more)" if len(b["files"]) > 1 else "")
        for b in planned
        if (b["platform"], tuple(b["files"])) not in done
    ]


def load(run_id: str, dag_id: str, interval_start: datetime, interval_end: datetime) -> dict:
    settings = RadarSettings()
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        summary = load_pending(conn, settings.data_dir, run_id)
        record_run_load(
            conn,
            run_id,
            dag_id,
            to_naive_utc(interval_start),
            to_naive_utc(interval_end),
            summary,
        )
    return asdict(summary)
