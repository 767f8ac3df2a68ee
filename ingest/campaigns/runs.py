"""Task bodies of the campaign_ingest DAG: the terms, the exports landed, then loaded.

The DAG calls these and nothing else, so each step runs and is tested without Airflow.
The warehouse writes go through the loader's machinery (``radar.warehouse``: one
transaction each, redone when a DuckLake commit conflicts).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from ingest.campaigns.exports import kind_of
from ingest.campaigns.history import load_terms
from ingest.campaigns.landing import land_exports
from ingest.campaigns.settings import CampaignSettings
from ingest.campaigns.terms import read_campaigns
from ingest.loader import load_pending, record_run_load
from radar.canonical import to_naive_utc
from radar.errors import ConfigError
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect


def load_campaign_terms(loaded_at: datetime) -> dict[str, int]:
    """``config/campaigns.yaml`` into ``core.campaign*`` and ``core.fx_rates``; an undated
    change takes effect at ``loaded_at`` (the run's data-interval end). A config that does
    not validate raises ``ConfigError`` (not retried)."""
    settings = RadarSettings()
    config = read_campaigns(settings.config_dir)
    with connect(settings.warehouse, memory_limit=settings.load_memory_limit) as conn:
        apply_schema(conn, settings.sql_dir)
        return load_terms(conn, config, to_naive_utc(loaded_at))


def land_campaign_exports() -> dict:
    """Land the exports of ``RADAR_CAMPAIGN_EXPORTS_DIR`` not landed before; writes no
    warehouse. ``failed`` names each export that could not be read."""
    settings = RadarSettings()
    exports_dir = CampaignSettings().exports_dir
    if not exports_dir.is_dir():
        raise ConfigError(
            f"campaign exports folder {exports_dir} does not exist (RADAR_CAMPAIGN_EXPORTS_DIR)"
        )
    return asdict(land_exports(exports_dir, settings.landing_dir))


def landed_sources(landing_dir) -> list[str]:
    """The export sources with landing folders: the loader's ``platforms`` for them."""
    if not landing_dir.is_dir():
        return []
    return sorted(p.name for p in landing_dir.iterdir() if p.is_dir() and kind_of(p.name))


def load_campaign_exports(
    run_id: str, dag_id: str, interval_start: datetime, interval_end: datetime
) -> dict:
    """Load the landed exports not loaded yet (orders, link clicks and their rejects),
    each landing file once, and record the run in ``meta.runs``."""
    settings = RadarSettings()
    with connect(settings.warehouse, memory_limit=settings.load_memory_limit) as conn:
        apply_schema(conn, settings.sql_dir)
        sources = landed_sources(settings.landing_dir)
        summary = load_pending(conn, settings.data_dir, run_id, platforms=sources)
        record_run_load(
            conn,
            run_id,
            dag_id,
            to_naive_utc(interval_start),
            to_naive_utc(interval_end),
            summary,
        )
    return asdict(summary)


def run_problems(landed: dict | None, loaded: dict | None, terms: dict | None) -> list[str]:
    """What makes a campaign_ingest run fail, one line each (empty: it succeeded)."""
    problems = []
    if terms is None:
        problems.append("campaign terms: the task failed (config/campaigns.yaml), see its log")
    if landed is None:
        problems.append("landing the exports failed, see its log")
    else:
        problems.extend(f"export {failed}" for failed in landed["failed"])
    if loaded is None:
        problems.append("load failed: no export of this run reached the warehouse")
    else:
        problems.extend(f"load of {failed}" for failed in loaded["failed"])
    return problems
