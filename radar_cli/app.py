"""``radar``: the command line (typer, rich). Every reading command opens the warehouse
read-only, on a DuckDB file the published analyst copy when there is one (``--live`` for
the file itself), so it never waits for a run nor blocks one. Errors are one line on
stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from pydantic import ValidationError
from rich.console import Console

from radar.canonical import to_naive_utc
from radar.errors import PermanentError, one_line
from radar.settings import RadarSettings
from radar.warehouse import connect
from radar_cli.output import OutputFormat, show_table, write_csv, write_json

app = typer.Typer(
    name="radar",
    help="Micro-influencer radar: query the warehouse, explain accounts, report, generate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

LiveOption = Annotated[
    bool, typer.Option("--live", help="read the warehouse file itself, not the analyst copy")
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="an instant computed before (ISO 8601, UTC); default: newest"),
]


class CommandError(Exception):
    """What the user asked cannot be done; the message says why."""


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A SQL, warehouse, settings or file error as ``radar: error: …`` and exit code 1."""
    try:
        yield
    except (duckdb.Error, PermanentError, ValidationError, OSError, CommandError) as exc:
        stderr().print(f"radar: error: {one_line(exc)}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None


def parse_as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return to_naive_utc(datetime.fromisoformat(text))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is no ISO 8601 date or instant") from None


def read_warehouse(live: bool) -> duckdb.DuckDBPyConnection:
    from transforms.runs import reading_target

    return connect(reading_target(RadarSettings(), live), read_only=True)


def output_format(chosen: OutputFormat | None, output: Path | None) -> OutputFormat:
    """``--format``, else from the output file's suffix (csv unless .json), else a table."""
    if chosen is None:
        if output is None:
            return OutputFormat.table
        return OutputFormat.json if output.suffix.lower() == ".json" else OutputFormat.csv
    if chosen is OutputFormat.table and output is not None:
        raise typer.BadParameter("a file takes --format csv or json", param_hint="--format")
    return chosen


def write_rows(
    result: duckdb.DuckDBPyConnection,
    fmt: OutputFormat,
    output: Path | None,
    limit: int,
) -> None:
    if fmt is OutputFormat.table:
        show_table(result, Console(highlight=False), limit)
        return
    writer = write_csv if fmt is OutputFormat.csv else write_json
    if output is None:
        writer(result, sys.stdout)
        return
    tmp = output.with_name(f".{output.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        rows = writer(result, handle)
    tmp.replace(output)
    stderr().print(f"wrote {rows:,} row(s) to {output}", markup=False)


@app.command("sql")
def sql_command(
    query: Annotated[
        str | None,
        typer.Argument(help="the query; '-' or none reads it from stdin", show_default=False),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="read the query from this file")
    ] = None,
    fmt: Annotated[
        OutputFormat | None,
        typer.Option("--format", help="default: table, or from --output's suffix"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write every row to this file")
    ] = None,
    limit: Annotated[int, typer.Option(help="rows the table view shows")] = 100,
    live: LiveOption = False,
) -> None:
    """Run read-only SQL against the warehouse."""
    fmt = output_format(fmt, output)
    with one_line_errors():
        if file is not None and query not in (None, "-"):
            raise CommandError("give the query as an argument or --file, not both")
        if file is not None:
            text = file.read_text(encoding="utf-8")
        elif query not in (None, "-"):
            text = query
        elif sys.stdin.isatty():
            raise CommandError("no query: give one as an argument, --file, or on stdin")
        else:
            text = sys.stdin.read()
        if not text.strip():
            raise CommandError("the query is empty")
        with read_warehouse(live) as conn:
            result = conn.execute(text)
            if result.description is None:
                stderr().print("ok (the statement returned no rows)")
                return
            write_rows(result, fmt, output, limit)


@app.command("report")
def report_command(
    as_of: AsOfOption = None,
    top: Annotated[int, typer.Option("--top", help="candidates per niche and brand")] = 5,
    fmt: Annotated[OutputFormat | None, typer.Option("--format")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write the rows to this file")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html", help="write the self-contained HTML report (charts inline) to this file"
        ),
    ] = None,
    live: LiveOption = False,
) -> None:
    """The top candidates per niche and per brand, with their reasons."""
    from radar_cli.report import print_report, report_rows, write_html

    fmt = output_format(fmt, output)
    with one_line_errors(), read_warehouse(live) as conn:
        if html is not None:
            if not write_html(conn, parse_as_of(as_of), html, stderr()):
                raise typer.Exit(1)
        elif fmt is OutputFormat.table:
            print_report(conn, parse_as_of(as_of), top, Console(highlight=False))
        else:
            write_rows(report_rows(conn, parse_as_of(as_of), top), fmt, output, 0)


@app.command("explain")
def explain_command(
    account: Annotated[str, typer.Argument(help="handle, account id or profile URL, any platform")],
    niche: Annotated[str | None, typer.Option(help="only this niche (name or label)")] = None,
    brand: Annotated[str | None, typer.Option(help="only this brand profile")] = None,
    platform: Annotated[
        str | None, typer.Option(help="the platform, when the handle is on several")
    ] = None,
    as_of: AsOfOption = None,
    live: LiveOption = False,
) -> None:
    """Why an account is, or is not, a candidate in each niche and brand it matched."""
    from radar_cli.explain import explain

    with one_line_errors(), read_warehouse(live) as conn:
        code = explain(
            conn,
            account,
            Console(highlight=False),
            niche=niche,
            brand=brand,
            platform=platform,
            as_of=parse_as_of(as_of),
        )
    raise typer.Exit(code)


@app.command("generate")
def generate_command(
    out: Annotated[Path, typer.Option("--out", help="a fresh directory for the feed")],
    seed: Annotated[int, typer.Option(help="the world's seed")] = 7,
    accounts: Annotated[int, typer.Option(help="accounts across all platforms")] = 2000,
    days: Annotated[int, typer.Option(help="days of feed to write")] = 90,
    start: Annotated[
        str, typer.Option(help="first feed day (its posts were created the day before)")
    ] = "2026-08-01",
    platforms: Annotated[
        str, typer.Option(help="comma-separated: mastodon, bluesky")
    ] = "mastodon,bluesky",
    posts_per_day: Annotated[float, typer.Option(help="mean own posts per account per day")] = 1.0,
    accounts_per_file: Annotated[int, typer.Option(help="accounts per page file")] = 1000,
    niches: Annotated[
        Path | None, typer.Option(help="the taxonomy; default: config/niches.yaml")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
) -> None:
    """Write a seeded synthetic world as a replayable feed, with its planted truth."""
    from radar_cli.generate import GeneratorMissing, generate_world

    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(f"{start!r} is no ISO date", param_hint="--start") from None
    with one_line_errors():
        try:
            summary = generate_world(
                out,
                seed=seed,
                accounts=accounts,
                days=days,
                start=first_day,
                platforms=tuple(p.strip() for p in platforms.split(",") if p.strip()),
                posts_per_day=posts_per_day,
                accounts_per_file=accounts_per_file,
                niches=niches or RadarSettings().config_dir / "niches.yaml",
                console=stderr(),
                quiet=quiet,
            )
        except (ValueError, GeneratorMissing) as exc:
            raise CommandError(str(exc)) from None
    Console(highlight=False).print(summary, markup=False, soft_wrap=True)


@app.command("run")
def run_command(
    as_of: Annotated[
        list[str] | None,
        typer.Option("--as-of", help="an instant to compute (ISO 8601, UTC); repeatable"),
    ] = None,
    first: Annotated[
        str | None, typer.Option("--from", help="with --to: every day's end from this day")
    ] = None,
    last: Annotated[str | None, typer.Option("--to", help="the last day (inclusive)")] = None,
) -> None:
    """Rebuild the signals as of each instant from what is loaded, oldest first."""
    from radar_cli.rebuild import as_of_instants, rebuild

    if (first is None) != (last is None):
        raise typer.BadParameter("give --from and --to together", param_hint="--from/--to")
    instants = as_of_instants(
        [parse_as_of(text) for text in as_of or []],
        parse_as_of(first) if first else None,
        parse_as_of(last) if last else None,
    )
    if not instants:
        raise typer.BadParameter("give --as-of, or --from and --to", param_hint="--as-of")
    with one_line_errors():
        rebuild(RadarSettings(), instants, Console(highlight=False))


def main() -> None:
    app()
