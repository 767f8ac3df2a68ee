"""Query results as a rich table (capped, saying how many rows it left out), CSV or JSON
(every row, streamed in batches so a large result never sits in memory whole)."""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import IO, Any

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

BATCH_ROWS = 10_000


class OutputFormat(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def batches(result: duckdb.DuckDBPyConnection) -> Iterator[list[tuple]]:
    while rows := result.fetchmany(BATCH_ROWS):
        yield rows


def columns_of(result: duckdb.DuckDBPyConnection) -> list[str]:
    return [column[0] for column in result.description or []]


def json_value(value: Any) -> Any:
    """A DuckDB value as JSON has it: NaN and infinities as null, times as ISO text."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, timedelta) or not isinstance(value, str | int | float | bool | None):
        return str(value)
    return value


def csv_field(value: Any) -> str:
    """A cell as DuckDB's own CSV writer spells it: NULL as nothing, an empty text as "",
    lists and structs as JSON text, quoted when a reader would misread it otherwise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list | tuple | dict):
        text = json.dumps(json_value(value), ensure_ascii=False)
    else:
        text = str(value)
    if text == "" or any(c in text for c in ',"\n\r') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def write_csv(result: duckdb.DuckDBPyConnection, out: IO[str]) -> int:
    out.write(",".join(csv_field(name) for name in columns_of(result)) + "\n")
    written = 0
    for rows in batches(result):
        out.writelines(",".join(csv_field(v) for v in row) + "\n" for row in rows)
        written += len(rows)
    return written


def write_json(result: duckdb.DuckDBPyConnection, out: IO[str]) -> int:
    """A JSON array of objects, one per row, written as it is read."""
    names = columns_of(result)
    written = 0
    out.write("[")
    for rows in batches(result):
        for row in rows:
            record = {name: json_value(value) for name, value in zip(names, row, strict=True)}
            out.write(",\n " if written else "\n ")
            out.write(json.dumps(record, ensure_ascii=False))
            written += 1
    out.write("\n]\n" if written else "]\n")
    return written


def cell(value: Any) -> Text:
    """A value as DuckDB's own shell shows it (lists as [a, b], booleans lowercase)."""
    if value is None:
        return Text("NULL", style="dim")
    if isinstance(value, bool):
        return Text(str(value).lower())
    if isinstance(value, float):
        return Text(f"{value:.6g}")
    if isinstance(value, list | tuple):
        return Text("[" + ", ".join(cell(v).plain for v in value) + "]")
    return Text(str(value))


def rich_table(names: Sequence[str], rows: Sequence[tuple], title: str | None = None) -> Table:
    table = Table(title=title, header_style="bold", show_lines=False)
    numeric = [
        all(isinstance(row[i], int | float | Decimal) or row[i] is None for row in rows)
        and any(row[i] is not None for row in rows)
        for i in range(len(names))
    ]
    for name, is_number in zip(names, numeric, strict=True):
        table.add_column(
            name,
            justify="right" if is_number else "left",
            overflow="fold",
            min_width=min(len(name), 12),
        )
    for row in rows:
        table.add_row(*(cell(value) for value in row))
    return table


def show_table(result: duckdb.DuckDBPyConnection, console: Console, limit: int) -> int:
    """At most ``limit`` rows on the terminal, then how many were left out (counted, not
    kept)."""
    names = columns_of(result)
    shown = result.fetchmany(limit) if limit > 0 else []
    left_out = sum(len(rows) for rows in batches(result))
    console.print(rich_table(names, shown))
    total = len(shown) + left_out
    if left_out:
        console.print(
            f"{left_out:,} more row(s) not shown ({len(shown):,} of {total:,}): "
            "--output FILE or --format csv|json writes every row",
            style="yellow",
        )
    else:
        console.print(f"{total:,} row(s)", style="dim")
    return total
