"""Command line: ``python -m transforms run --as-of 2026-11-21``, ``… report``, ``… sql "…"``,
``… publish`` (the analyst copy, as a signals run publishes it). The ``radar`` command
(``radar_cli``) offers the same and more with rich output; this one needs only the
wheel's own packages."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime

import duckdb

from radar.errors import PermanentError, one_line
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from transforms.report import format_report
from transforms.runner import run_transforms


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m transforms")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="rebuild every model as of an instant (UTC)")
    run.add_argument("--as-of", required=True, type=datetime.fromisoformat)
    report = sub.add_parser("report", help="print the top candidates per niche")
    report.add_argument("--as-of", type=datetime.fromisoformat)
    report.add_argument("--top", type=int, default=5)
    query = sub.add_parser(
        "sql",
        help="run one read-only SQL query and print the result (on a DuckDB file: against "
        "the analyst copy when there is one, so no run waits for it)",
    )
    query.add_argument("query")
    query.add_argument(
        "--live", action="store_true", help="query the warehouse file itself, not the copy"
    )
    sub.add_parser("publish", help="publish the read-only analyst copy of the warehouse file")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = RadarSettings()
    if args.command == "run":
        with connect(settings.warehouse) as conn:
            apply_schema(conn, settings.sql_dir)
            summary = run_transforms(conn, settings.sql_dir, settings.config_dir, args.as_of)
        for relation, rows in summary.rows.items():
            print(f"{relation:<40} {rows:>8} rows")
    elif args.command == "publish":
        from transforms.publish import publish_analyst_copy

        published = publish_analyst_copy(settings)
        print(f"analyst copy: {published or 'none (the warehouse is no DuckDB file)'}")
    elif args.command == "sql":
        from transforms.runs import reading_target

        try:
            with connect(reading_target(settings, args.live), read_only=True) as conn:
                conn.sql(args.query).show(max_width=200, max_rows=100)
        except (duckdb.Error, PermanentError) as exc:
            # one line, no traceback: the query or the warehouse is wrong, not the code
            sys.exit(f"error: {one_line(exc)}")
    else:
        with connect(settings.warehouse, read_only=True) as conn:
            print(format_report(conn, settings.warehouse, args.as_of, args.top))


if __name__ == "__main__":
    main()
