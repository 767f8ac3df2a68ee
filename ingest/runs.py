"""Task bodies for the ingest half of a DAG run: plan, extract, load.

DAG files call these and nothing else, so the DAG stays wiring and every step can be run
and tested without Airflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

import duckdb
from pydantic import ValidationError

from ingest.connector import Batch, FixtureBatch, TaskContext, as_batch
from ingest.discovery import mark_discovered_accounts
from ingest.extract import MAX_BATCHES, extract_fixture_batch, plan_fixture_batches
from ingest.landing import attempt_name
from ingest.loader import LoadSummary, advance_cursors, load_pending, record_run_load
from radar.canonical import to_naive_utc
from radar.errors import ConfigError, PermanentError, one_line
from radar.platforms import platform_names
from radar.settings import RadarSettings
from radar.warehouse import Lake, apply_schema, connect

SOURCES = ("fixture", "live")


def plan_extract(
    interval_start: datetime, interval_end: datetime, platforms: list[str] | None = None
) -> list[Batch]:
    """The extract batches of one interval, for ``platforms`` (default: all configured)."""
    settings, platforms = _checked_settings(platforms)
    if settings.source == "live":
        from ingest.discovery import read_queue
        from ingest.live_source import load_sources, plan_live_batches, read_cursors

        return plan_live_batches(
            load_sources(settings.config_dir),
            platforms,
            read_cursors(settings.warehouse),
            to_naive_utc(interval_start),
            to_naive_utc(interval_end),
            queued=read_queue(settings.warehouse),
            warehouse=settings.warehouse,
        )
    return plan_fixture_batches(
        settings.feed_dir,
        platforms,
        to_naive_utc(interval_start),
        to_naive_utc(interval_end),
        settings.files_per_batch,
        max_batches=MAX_BATCHES,
        bytes_per_batch=settings.batch_bytes,
    )


def configured_platforms(settings: RadarSettings) -> list[str]:
    """``RADAR_PLATFORMS``, or every registered platform."""
    return platform_names() if settings.platforms is None else settings.platforms


def _checked_settings(platforms: list[str] | None) -> tuple[RadarSettings, list[str]]:
    """The settings and the platforms to plan (``platforms``, else the configured ones),
    refused at once (no retry would help) when they cannot plan a run."""
    try:
        settings = RadarSettings()
    except ValidationError as exc:
        raise ConfigError(f"RADAR_* settings: {one_line(exc)}") from exc
    if settings.source not in SOURCES:
        raise ConfigError(f"RADAR_SOURCE={settings.source!r}: choose one of {', '.join(SOURCES)}")
    platforms = configured_platforms(settings) if platforms is None else platforms
    known = platform_names()
    unknown = sorted(set(platforms) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown platform(s) {unknown} in RADAR_PLATFORMS; known: {', '.join(known)}"
        )
    if settings.source == "fixture" and not settings.feed_dir.is_dir():
        raise ConfigError(f"fixture feed {settings.feed_dir} does not exist (RADAR_FEED_DIR)")
    return settings, platforms


def empty_plan_reason(platform: str, interval_start: datetime, interval_end: datetime) -> str:
    """Why ``platform`` planned no batch for the interval, in a line for the run summary."""
    settings = RadarSettings()
    start, end = to_naive_utc(interval_start), to_naive_utc(interval_end)
    if settings.source == "live":
        from ingest.discovery import read_queue
        from ingest.live_source import load_sources

        # (an interval past the backfill horizon never gets here with accounts to fetch:
        # plan_live_batches refuses it)
        sources = load_sources(settings.config_dir)
        queued = read_queue(settings.warehouse).get(platform, [])
        if not sources.tracked().get(platform) and not queued:
            return f"{platform}: config/sources.yaml lists no accounts and discovery queued none"
        return f"{platform}: nothing to fetch"
    days = f"dt={start:%Y-%m-%d}" + (
        f"…{end - timedelta(seconds=1):%Y-%m-%d}" if end - start > timedelta(days=1) else ""
    )
    return f"{platform}: no recordings for {days} in feed {settings.feed_dir / platform}"


def plan_discovery(
    interval_start: datetime, interval_end: datetime, platforms: list[str] | None = None
) -> list[Batch]:
    """niche_discovery's batches: recorded discovery pages, or live tag and keyword reads."""
    from ingest.discovery import niche_terms

    settings, platforms = _checked_settings(platforms)
    if settings.source == "live":
        from ingest.live_source import load_sources, plan_live_discovery

        return plan_live_discovery(
            load_sources(settings.config_dir), niche_terms(settings.config_dir), platforms
        )
    return plan_fixture_batches(
        settings.feed_dir,
        platforms,
        to_naive_utc(interval_start),
        to_naive_utc(interval_end),
        settings.files_per_batch,
        discovery=True,
        bytes_per_batch=settings.batch_bytes,
    )


def queue_discovered(run_id: str, interval_end: datetime) -> int:
    """Queue the best newly sighted accounts per niche (caps from config/sources.yaml)."""
    from ingest.discovery import niche_terms, queue_discovered
    from ingest.live_source import load_sources

    settings = RadarSettings()
    caps = load_sources(settings.config_dir).discovery
    with connect(settings.warehouse, memory_limit=settings.load_memory_limit) as conn:
        apply_schema(conn, settings.sql_dir)
        return queue_discovered(
            conn,
            niche_terms(settings.config_dir),
            to_naive_utc(interval_end),
            caps.max_new_accounts_per_niche,
            caps.followers_band,
        )


def extract(batch: Batch | Mapping[str, Any], task: TaskContext) -> dict:
    """Extract one planned batch (as its model, or the JSON dict XCom carried) for the
    task's run and try (each try lands files of its own)."""
    batch = as_batch(batch)
    settings = RadarSettings()
    if isinstance(batch, FixtureBatch):
        summary = extract_fixture_batch(
            settings.feed_dir,
            batch.platform,
            batch.files,
            settings.landing_dir,
            to_naive_utc(task.interval_start).date(),
            task.run_id,
            attempt_name(task.task, task.attempt),
            discovery=batch.discovery,
            threads=settings.extract_threads,
        )
    else:
        from ingest.live_source import extract_live, load_sources

        naive = replace(
            task,
            interval_start=to_naive_utc(task.interval_start),
            interval_end=to_naive_utc(task.interval_end),
        )
        summary = extract_live(load_sources(settings.config_dir), batch, settings.data_dir, naive)
    return {
        **asdict(summary),
        "files": batch.items(),
        "key": list(batch.key()),
    }


def failed_batches(planned: list[Batch | Mapping], extracted: list[dict]) -> list[str]:
    """Planned batches with no extract result, each as ``platform: first item (+n more)``."""
    done = {tuple(e["key"]) for e in extracted}
    return [b.describe() for b in map(as_batch, planned) if b.key() not in done]


def load(run_id: str, dag_id: str, interval_start: datetime, interval_end: datetime) -> dict:
    """Load every pending landing file, then record the run (one task: the DuckDB file)."""
    summary = load_platforms(run_id)
    return finish_load(run_id, dag_id, interval_start, interval_end, [summary])


def load_platforms(run_id: str, platforms: list[str] | None = None) -> dict:
    """Load the pending landing files of ``platforms`` (all: None). On a DuckLake, one such
    task per platform runs at once with the others (``concurrent_loads``)."""
    settings = RadarSettings()
    with connect(settings.warehouse, memory_limit=settings.load_memory_limit) as conn:
        apply_schema(conn, settings.sql_dir)
        try:
            summary = load_pending(conn, settings.data_dir, run_id, platforms=platforms)
        except duckdb.OutOfMemoryException as exc:
            raise PermanentError(
                f"DuckDB ran out of memory at RADAR_LOAD_MEMORY_LIMIT="
                f"{settings.load_memory_limit}: raise it (default 192MB) — {one_line(exc)[:160]}"
            ) from exc
    return asdict(summary)


def finish_load(
    run_id: str,
    dag_id: str,
    interval_start: datetime,
    interval_end: datetime,
    loads: list[dict | None],
    names: list[str] | None = None,
) -> dict:
    """After the loads: discovered accounts marked, cursors advanced, the run recorded in
    ``meta.runs``. Returns the loads' summaries merged; a load that did not return
    (``None``, its task failed) is named in ``failed`` (``names``: the loads' names)."""
    settings = RadarSettings()
    merged = LoadSummary()
    for i, done in enumerate(loads):
        if done is None:
            which = names[i] if names else f"load {i}"
            merged.failed.append(f"{which}: its task failed, its files wait for the next run")
            continue
        merged.files_loaded += done["files_loaded"]
        merged.files_skipped += done["files_skipped"]
        merged.files_left_to_others += done.get("files_left_to_others", 0)
        merged.failed.extend(done["failed"])
        for entity, rows in done["rows"].items():
            merged.rows[entity] = merged.rows.get(entity, 0) + rows
    with connect(settings.warehouse, memory_limit=settings.load_memory_limit) as conn:
        apply_schema(conn, settings.sql_dir)
        mark_discovered_accounts(conn)
        advance_cursors(conn)
        record_run_load(
            conn,
            run_id,
            dag_id,
            to_naive_utc(interval_start),
            to_naive_utc(interval_end),
            merged,
        )
    return asdict(merged)


def concurrent_loads() -> bool:
    """Whether loads may run side by side: on a DuckLake whose catalog is in Postgres. A
    DuckDB file, or a lake with a local catalog, takes one writing process at a time."""
    warehouse = RadarSettings().warehouse
    return isinstance(warehouse, Lake) and warehouse.kind == "postgres"
