"""``radar report``: transforms/report.py's report as rich tables, one per niche and brand."""

from __future__ import annotations

from datetime import datetime
from itertools import groupby
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

from radar.settings import RadarSettings
from transforms.report import NO_CANDIDATES, build_report, footer


def print_report(
    conn: duckdb.DuckDBPyConnection, as_of: datetime | None, top: int, console: Console
) -> None:
    report = build_report(conn, as_of, top)
    console.rule(f"Top candidates per niche and per brand as of {report.as_of} (UTC)")
    for line in report.freshness:
        console.print(line, style="dim", markup=False, soft_wrap=True)
    for scope, rows in groupby(report.rows, key=lambda row: row[0]):
        table = Table(title=scope, title_justify="left", title_style="bold", expand=True)
        table.add_column("#", justify="right")
        table.add_column("account", ratio=2)
        table.add_column("reason", ratio=3)
        for _, rank, platform, handle, followers, rate, score, reason in rows:
            figures = f"{platform} · {followers:,} followers · ER {rate * 100:.2f}% · "
            account = Text(handle, style="bold").append(f"\n{figures}score {score:.3f}", "dim")
            table.add_row(str(rank), account, Text(reason))
        console.print(table)
    if not report.rows:
        console.print(NO_CANDIDATES.strip(), style="yellow", markup=False)
    console.print()
    for line in footer(report, RadarSettings().warehouse):
        console.print(line, style="dim", markup=False, soft_wrap=True)


def report_rows(
    conn: duckdb.DuckDBPyConnection, as_of: datetime | None, top: int
) -> duckdb.DuckDBPyConnection:
    """The report's rows as a result, for ``--format csv|json``."""
    if as_of is None:
        as_of = conn.execute("select max(as_of) from marts.candidates").fetchone()[0]
    return conn.execute(
        """select as_of, scope_type, scope, scope_rank, platform, handle, followers,
                  round(engagement_rate_30d_mean * 100, 2) as er_30d_pct,
                  round(score, 3) as score, reason
           from marts.candidates
           where as_of = ? and scope_rank <= ?
           order by scope_type desc, scope, scope_rank""",
        [as_of, top],
    )


def write_html(
    conn: duckdb.DuckDBPyConnection, as_of: datetime | None, path: Path, console: Console
) -> bool:
    """transforms.html_report's page for ``as_of`` (default: the newest) at ``path``;
    False, and nothing written, when that as-of has no candidate."""
    from transforms.html_report import write_html_report

    if as_of is None:
        as_of = conn.execute("select max(as_of) from marts.candidates").fetchone()[0]
    if as_of is None:
        console.print("no candidates computed yet: no HTML written", markup=False)
        return False
    with console.status(f"drawing the charts of the report as of {as_of}"):
        written = write_html_report(conn, as_of, path, sql_dir=RadarSettings().sql_dir)
    if written is None:
        console.print(f"no candidates as of {as_of}: no HTML written", markup=False)
        return False
    console.print(f"wrote the HTML report as of {as_of} to {written}", markup=False)
    return True
