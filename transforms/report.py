"""The candidate report: top accounts per niche as of the newest (or a given) as-of."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from radar.warehouse import WarehouseTarget

TRY_QUERY = (
    "select scope_type, scope, scope_rank, handle, followers, "
    "round(engagement_rate_30d_mean * 100, 2) as er_pct, round(fit_part, 2) as fit, "
    "authenticity_score, round(score, 3) as score from marts.candidates "
    "where as_of = (select max(as_of) from marts.candidates) "
    "order by scope_type, scope, scope_rank"
)


NO_CANDIDATES = "  (no candidates: check meta.rejects and the guards in config/scoring.yaml)"


def top_candidates(
    conn: duckdb.DuckDBPyConnection, as_of: datetime | None = None, per_niche: int = 5
) -> tuple[datetime | None, list[tuple]]:
    if as_of is None:
        as_of = conn.execute("select max(as_of) from marts.candidates").fetchone()[0]
    rows = conn.execute(
        """select scope_type || ' ' || scope, scope_rank, platform, handle, followers,
                  engagement_rate_30d_mean, score, reason
           from marts.candidates
           where as_of = ? and scope_rank <= ?
           order by scope_type desc, scope, scope_rank""",
        [as_of, per_niche],
    ).fetchall()
    return as_of, rows


def freshness(conn: duckdb.DuckDBPyConnection, as_of: datetime | None) -> list[str]:
    """How fresh the data behind an as-of is: the newest observation it counts, and what
    the ingest runs of the interval ending there loaded."""
    if as_of is None:
        return []
    newest = conn.execute(
        "select max(observed_at) from core.account_snapshots where observed_at < ?", [as_of]
    ).fetchone()[0]
    runs, files, rows = conn.execute(
        """select count(*), coalesce(sum(files_loaded), 0), coalesce(sum(rows_loaded), 0)
           from meta.runs where dag_id = 'social_ingest' and data_interval_end = ?""",
        [as_of],
    ).fetchone()
    age = f" ({(as_of - newest).total_seconds() / 3600:.1f} h before the as-of)" if newest else ""
    return [
        f"Newest observation counted: {newest or 'none'}{age}",
        f"Ingest runs of the interval ending {as_of}: {runs}, "
        f"{files} landing file(s), {rows:,} row(s) loaded",
    ]


@dataclass
class Report:
    """What the report shows, for the text here and the CLI's rich tables."""

    as_of: datetime | None
    # (scope, rank, platform, handle, followers, rate, score, reason), by scope and rank
    rows: list[tuple]
    freshness: list[str] = field(default_factory=list)
    rejects: int = 0
    quarantined: int = 0


def build_report(
    conn: duckdb.DuckDBPyConnection, as_of: datetime | None = None, per_niche: int = 5
) -> Report:
    as_of, rows = top_candidates(conn, as_of, per_niche)
    rejects = conn.execute("select count(*) from meta.rejects").fetchone()[0]
    quarantined = conn.execute(
        "select count(*) from staging.stg_quarantine where observed_at < ?", [as_of]
    ).fetchone()[0]
    return Report(as_of, rows, freshness(conn, as_of), rejects, quarantined)


def footer(report: Report, warehouse: WarehouseTarget) -> list[str]:
    return [
        f"Rejected records kept in meta.rejects: {report.rejects}",
        "Rows kept out of the signals by a staging rule (staging.stg_quarantine): "
        f"{report.quarantined}",
        f"Warehouse: {warehouse.resolve() if isinstance(warehouse, Path) else warehouse}",
        "Query it (read-only; on a DuckDB file this reads the analyst copy, which any DuckDB",
        "client can open while runs go on: data/published/warehouse.duckdb, docs/warehouse.md):",
        f'  .venv/bin/radar sql "{TRY_QUERY}"',
    ]


def format_report(
    conn: duckdb.DuckDBPyConnection,
    warehouse: WarehouseTarget,
    as_of: datetime | None = None,
    per_niche: int = 5,
) -> str:
    report = build_report(conn, as_of, per_niche)
    lines = [
        f"Top candidates per niche and per brand as of {report.as_of} (UTC)",
        *report.freshness,
        "",
    ]
    current = None
    for niche, rank, platform, handle, followers, rate, score, reason in report.rows:
        if niche != current:
            lines.append(f"== {niche}")
            current = niche
        lines.append(
            f"  {rank:>2}. {handle:<34} {platform:<9} {followers:>8,} followers  "
            f"ER {rate * 100:5.2f}%  score {score:.3f}"
        )
        lines.append(f"      {reason}")
    if not report.rows:
        lines.append(NO_CANDIDATES)
    return "\n".join([*lines, "", *footer(report, warehouse)])
