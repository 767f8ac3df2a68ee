"""Task bodies for the signals half of a DAG run: transforms, then the report."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from radar.canonical import to_naive_utc
from radar.errors import PermanentError, one_line
from radar.settings import RadarSettings
from radar.warehouse import WarehouseTarget, apply_schema, connect
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
    raise ValueError(
        "no as_of: set params.as_of, or let a load's asset "
        "(radar_warehouse_core, radar_campaign_results) start it"
    )


def with_missed_loads(as_of: list[str], dag_ids: tuple[str, ...]) -> list[str]:
    """``as_of`` and the end of every interval that a run of ``dag_ids`` loaded and no
    signals run has computed yet, oldest first (ISO strings, UTC).

    For a run that its loads' asset events started. Airflow keeps one queue row per asset
    and DAG: an event that arrives while that row waits (the DAG at max_active_runs) adds
    nothing, and the next run consumes only the events up to the row's time
    (apache/airflow#56050). The newest load of a backfill could then wait for the next
    day's load to get its marts; meta.runs knows every loaded interval."""
    settings = RadarSettings()
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        marks = ", ".join("?" for _ in dag_ids)
        pending = conn.execute(
            "select distinct data_interval_end from meta.runs "
            f"where dag_id in ({marks}) and loaded_at is not null and transformed_at is null "
            "and data_interval_end is not null",
            list(dag_ids),
        ).fetchall()
    instants = {to_naive_utc(datetime.fromisoformat(i)) for i in as_of}
    missed = {end for (end,) in pending} - instants
    for end in sorted(missed):
        log.warning("signals as of %s too: its load's asset event started no run", end)
    return [t.replace(tzinfo=UTC).isoformat() for t in sorted(instants | missed)]


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


def profile_url_sql(url: str, account: str) -> str:
    """SQL for an account's profile link: ``<url>.url`` (core.accounts), else derived from
    ``<account>``'s platform, handle and account id (and ``<url>.home_instance``), for
    platforms that gave none; NULL when nothing tells the Mastodon instance."""
    return f"""coalesce({url}.url, case {account}.platform
    when 'mastodon' then 'https://' || coalesce(
        nullif(split_part({account}.handle, '@', 2), ''), {url}.home_instance
    ) || '/@' || split_part({account}.handle, '@', 1)
    when 'bluesky' then 'https://bsky.app/profile/' || {account}.handle
    when 'youtube' then if({account}.account_id like 'UC%',
        'https://www.youtube.com/channel/' || {account}.account_id,
        'https://www.youtube.com/@' || {account}.handle)
    when 'instagram' then 'https://www.instagram.com/' || {account}.handle || '/'
    when 'tiktok' then 'https://www.tiktok.com/@' || {account}.handle
end)"""


# what a marketer opens: rounded percentages named as such, flags as words, the link
EXPORT_QUERY = f"""
select
    c.scope_type,
    c.scope,
    c.scope_label,
    c.scope_rank,
    c.platform,
    c.handle,
    a.display_name,
    {profile_url_sql("a", "c")} as profile_url,
    c.followers,
    c.tier,
    c.own_posts_30d,
    round(c.engagement_rate_30d_mean * 100, 2) as er_30d_pct,
    round(c.engagement_rate_30d_median * 100, 2) as er_30d_median_pct,
    round(c.peer_median_rate * 100, 2) as peer_median_er_pct,
    c.peer_group,
    c.peer_count,
    round(c.engagement_lift, 2) as er_lift_over_peers,
    round(c.follower_growth_30d * 100, 1) as follower_growth_30d_pct,
    round(c.authenticity_score)::integer as authenticity_score,
    array_to_string(list_transform(c.flags, f -> replace(f, '_', ' ')), ', ') as flags,
    c.flag_reasons,
    round(c.score, 3) as score,
    round(c.engagement_part, 3) as engagement_part,
    round(c.fit_part, 3) as fit_part,
    round(c.authenticity_part, 3) as authenticity_part,
    round(c.activity_part, 3) as activity_part,
    c.reason,
    regexp_replace(a.bio, '\\s+', ' ', 'g') as bio,
    c.account_id,
    c.as_of,
from marts.candidates as c
left join core.accounts as a on c.platform = a.platform and c.account_id = a.account_id
where c.as_of = $as_of
order by c.scope_type, c.scope, c.scope_rank
"""
EXPORT_FORMATS = {"csv": "(format csv, header)", "parquet": "(format parquet)"}


def export_stem(as_of: datetime) -> str:
    """``candidates-<day>`` for an as-of at midnight (every scheduled one), else with the
    time, so two as-ofs of one day never share a file."""
    if as_of.time() == datetime.min.time():
        return f"candidates-{as_of:%Y-%m-%d}"
    return f"candidates-{as_of:%Y-%m-%dT%H%M%S}"


def export_candidates(as_of: datetime) -> list[Path]:
    """``data/exports/candidates-<as_of day>.csv`` and ``.parquet``: the candidate rows of
    one as-of, as a marketer opens them (``EXPORT_QUERY``). An as-of without candidates
    gets no file, and loses the files an earlier run of it wrote."""
    settings = RadarSettings()
    as_of = to_naive_utc(as_of)
    paths = [settings.exports_dir / f"{export_stem(as_of)}.{kind}" for kind in EXPORT_FORMATS]
    with connect(settings.warehouse, read_only=True) as conn:
        (candidates,) = conn.execute(
            "select count(*) from marts.candidates where as_of = ?", [as_of]
        ).fetchone()
        if not candidates:
            for stale in paths:
                stale.unlink(missing_ok=True)
            log.info("no candidates as of %s: no export written", as_of)
            return []
        settings.exports_dir.mkdir(parents=True, exist_ok=True)
        for path, options in zip(paths, EXPORT_FORMATS.values(), strict=True):
            tmp = path.with_name(f".{path.name}.tmp")
            target = "'" + str(tmp).replace("'", "''") + "'"
            conn.execute(f"copy ({EXPORT_QUERY}) to {target} {options}", {"as_of": as_of})
            os.replace(tmp, path)
    log.info("exported %s candidate row(s) as of %s: %s", candidates, as_of, paths)
    return paths


def reading_target(settings: RadarSettings, live: bool = False) -> WarehouseTarget:
    """Where a reader's queries go: on a DuckDB file, the analyst copy when one was
    published (no run waits for it, and a run's write lock does not stop it), unless
    ``live`` asks for the file itself; a DuckLake is read where it is."""
    from transforms.publish import published_path

    target = settings.warehouse
    if isinstance(target, Path) and not live and published_path(settings).exists():
        return published_path(settings)
    return target


def report(as_of: datetime) -> str:
    settings = RadarSettings()
    with connect(settings.warehouse, read_only=True) as conn:
        return format_report(conn, settings.warehouse, to_naive_utc(as_of))
