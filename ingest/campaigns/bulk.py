"""Bulk paths for large exports: DuckDB reads the CSV and builds the rows, as the careful
path (``exports.short_link_click``, ``exports.shopify_line``) would, for every line whose
values are in a plain form both read alike; the other lines go through the careful path
itself, so their rejects carry its very reasons. So the landed rows and rejects are the
same either way (tested on the same files, tests/ingest/campaigns/test_bulk.py).

Short-link clicks: the plain rows are written in one parallel read, without line numbers
(only a single-threaded read gives them), and their count compared with the file's lines;
only a file with a line left out is read again, numbered, for the careful path. Measured
on the shared 2-core machine, alternated with DuckDB's own ``read_csv`` to Parquet of the
same file: 1 M clicks 2.1 s against 0.86 s; 10 M clicks 17.5 s against 6.3 s (the
checks about 10 s of it; zstd at its fastest level, see ``_PARQUET``).

Shopify orders: the columns the orders need, numbered, each order from its first line
(by Name); 240 k lines (200 k orders) land in about 6 s where the careful path takes
14-24 s and ``read_csv`` to Parquet 1.4-1.7 s. A file with a cell over several lines, a
lone carriage return or a Name with spaces at an end is read line by line.

The click path is taken only for a file that keeps one record per line: no quote, no
blank line, no carriage return, no NUL or \\x01 byte (DuckDB's NULL marker here), a ``Short Link``
column, and as many cells on each line as in the header (else DuckDB refuses it and the
careful path reads the file). Then a line's number is the header's plus its place.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow as pa

from ingest.campaigns.exports import (
    SHOPIFY_COLUMNS,
    SHOPIFY_LANDING_COLUMN,
    SHORT_LINK_COLUMNS,
    LinkClick,
    Order,
    ParsedExport,
    _columns,
    _lines,
    _missing,
    _Reader,
    entity_of,
    observed_at_of,
    shopify_line,
    short_link_click,
)
from ingest.landing import arrow_schema
from radar.warehouse import literal_file

log = logging.getLogger(__name__)

# smaller exports read quickly enough on the careful path
BULK_MIN_BYTES = 8 * 1024 * 1024
_NOT_PLAIN = (b'"', b"\r", b"\x00", b"\x01", b"\n\n")
_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\n"
_CHUNK = 1 << 22
# zstd's fastest level: at the default, writing 10 M clicks in line order took ~30 s,
# at level 1 ~16 s, for a file about as small (the loader reads it once)
_PARQUET = "format parquet, compression zstd, compression_level 1"

# a value both DuckDB and Python's fromisoformat read the same way (years 1000-8999, so
# that no zone shift leaves the range of Python's datetime)
_PLAIN_TIME = (
    r"[1-8]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[T ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?"
)
_PLAIN_LINK = r"(https?://)?[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~!$&()*,;=:@/-]*)?"
# no space (Python strips more than DuckDB's trim), ASCII (lower() agrees), nothing encoded
_PLAIN_TEXT = r"[!-~]*"
_UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content")


class PlainFile(NamedTuple):
    lines: int
    # every byte printable ASCII or a line end: then "no space" is all a text check needs
    printable: bool


def plain_lines(path: Path) -> PlainFile | None:
    """The lines of ``path`` when every record is one line, with nothing DuckDB and
    Python's ``csv`` could split differently; else None."""
    tail, lines, last, printable = b"", 0, b"\n", True
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            joined = tail + chunk
            if any(mark in joined for mark in _NOT_PLAIN):
                return None
            # 0.07 s per 225 MB; saves ~0.2 s of regular expressions per million lines
            printable = printable and not chunk.translate(None, _PRINTABLE)
            lines += chunk.count(b"\n")
            tail = last = chunk[-1:]
    return PlainFile(lines + (last != b"\n"), printable)


def parse_short_links_bulk(
    path: Path, source: str, source_path: str, out: Path
) -> ParsedExport | None:
    """Write the export's clicks to the Parquet file ``out`` and return what was read
    (its rejects, its row count); None when the bulk path does not apply (the careful path
    reads the file then, and reports what is wrong with it)."""
    plain = plain_lines(path)
    if plain is None:
        return None
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header, reader = _lines(handle)
            header_line = reader.line_num
    except UnicodeDecodeError:
        return None  # the careful path names the file's fault
    columns = _columns(header or [])
    if header is None or _missing(columns, SHORT_LINK_COLUMNS) or "short link" not in columns:
        return None
    read = _Reader(source, entity_of(source), source_path, observed_at_of(path))
    read.header = header
    return _declining(
        source_path,
        out,
        lambda conn: _land(conn, path, read, columns, len(header), header_line, plain, out),
    )


def _declining(
    source_path: str,
    out: Path,
    land: Callable[[duckdb.DuckDBPyConnection], ParsedExport | None],
) -> ParsedExport | None:
    """``land`` on a fresh in-memory DuckDB; ``None`` (the careful path's turn) when DuckDB
    refuses the file: a line with more cells than the header, not UTF-8, … The careful path
    then says which line."""
    try:
        with duckdb.connect() as conn:
            conn.execute("set TimeZone = 'UTC'")
            conn.execute("set enable_progress_bar = false")
            return land(conn)
    except duckdb.Error as exc:
        log.info("%s: bulk path declined (%s); reading it line by line", source_path, exc)
        out.unlink(missing_ok=True)
        return None


def _land(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    read: _Reader,
    columns: dict[str, int],
    width: int,
    header_line: int,
    plain_file: PlainFile,
    out: Path,
) -> ParsedExport:
    cells = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
    csv = f"""read_csv('{_quoted(literal_file(path))}', header = false,
                        skip = {int(header_line)}, all_varchar = true, delim = ',',
                        quote = '"', escape = '"', auto_detect = false,
                        columns = {{{cells}}}, null_padding = true, strict_mode = true,
                        nullstr = '\x01')"""
    # line numbers (ordinality) read the file on one thread: only taken when a line must
    # go to the careful path, and the rows then merged with its rows in line order
    conn.execute(f"create temp view cells as select * from {csv}")
    conn.execute(
        f"""create temp view numbered as
            select ordinality + {int(header_line)} as line, * exclude (ordinality)
            from {csv} with ordinality"""
    )

    def cell(name: str) -> str:
        i = columns.get(name)
        return "''" if i is None else f"coalesce(c{i}, '')"

    destination = (
        f"case when {cell('destination url')} <> '' then {cell('destination url')} "
        f"else {cell('url')} end"
    )

    def text(value: str) -> str:
        """``_PLAIN_TEXT`` in a printable file: no space (a plain string test, not a
        regular expression over every character)."""
        if plain_file.printable:
            return f"not contains({value}, ' ')"
        return f"regexp_full_match({value}, '{_PLAIN_TEXT}')"

    plain = " and ".join(
        [
            f"regexp_full_match({cell('timestamp')}, '{_PLAIN_TIME}')",
            "at_utc is not null",
            f"{cell('click id')} <> ''",
            text(cell("click id")),
            f"regexp_full_match({cell('short link')}, '{_PLAIN_LINK}')",
            text(cell("destination url")),
            text(cell("url")),
            "not contains(destination, '%') and not contains(destination, '+')",
            _once_sql("query"),
        ]
    )
    marked = f"""select *, {plain} as plain
            from (select *,
                         try_cast({cell("timestamp")} as timestamptz) at time zone 'UTC'
                             as at_utc,
                         {destination} as destination,
                         -- Python's url.partition('?')[2].partition('#')[0]
                         '&' || split_part(substr({destination},
                                                  strpos({destination}, '?') + 1), '#', 1)
                             as query
                  from @CELLS@)"""
    for view, cells_view in (("marked", "cells"), ("marked_numbered", "numbered")):
        conn.execute(f"create temp view {view} as {marked.replace('@CELLS@', cells_view)}")
    utm = ", ".join(
        f"case when contains(destination, '?') then "
        f"lower(nullif(split_part(split_part(query, '&{name}=', 2), '&', 1), '')) end as {name}"
        for name in _UTM
    )
    link = cell("short link")
    # the link without its scheme: host up to the first '/', then the path (a plain link
    # has no query, fragment or user)
    rest = (
        f"case when starts_with({link}, 'https://') then substr({link}, 9) "
        f"when starts_with({link}, 'http://') then substr({link}, 8) else {link} end"
    )
    schema = arrow_schema(LinkClick)
    names = ", ".join(schema.names)

    def copy(plain_rows: str, line: str, careful: str = "", order: str = "") -> int:
        """The plain rows (and ``careful``'s) to ``out``; returns the rows written."""
        return conn.execute(
            f"""copy (
                    select {names} from (
                        select {line}, ? as source, {cell("click id")} as click_key,
                               at_utc::date as clicked_on, at_utc as clicked_at, {utm},
                               lower(split_part(rest, '/', 1))
                                   || rtrim(substr(rest, strpos(rest || '/', '/')), '/')
                                   as short_link,
                               1::bigint as clicks,
                               null::bigint as sessions, ?::timestamp as observed_at,
                               null::bigint as views
                        from (select *, {rest} as rest from {plain_rows})
                        {careful}
                    ){order}
                ) to '{_quoted(str(out))}' ({_PARQUET})""",
            [read.source, read.observed_at],
        ).fetchone()[0]

    # most exports are plain throughout: their rows written in one parallel read, without
    # line numbers; when a record was left out, the file is read again, numbered
    read.parsed.row_count = copy("marked where plain", "0 as line")
    if read.parsed.row_count == plain_file.lines - header_line:
        return read.parsed
    # the careful path for the other lines, in order (rows without a click id count)
    line_of: dict[int, int] = {}
    others: list[tuple[dict, int]] = []
    read.on_rows = lambda rows: others.extend((r, line_of.pop(id(r))) for r in rows)
    occurrences: dict[str, int] = {}
    found = conn.execute(
        "select * exclude (plain, at_utc, destination, query) from marked_numbered "
        "where not plain order by line"
    )
    while batch := found.fetchmany(10_000):
        for line, *row in batch:
            while row and row[-1] is None:  # a short line: csv gives fewer cells
                row.pop()
            pending = len(read._pending)
            short_link_click(read, columns, [c or "" for c in row], line, occurrences)
            if len(read._pending) > pending:
                line_of[id(read._pending[-1][2])] = line
    read.flush()
    careful = pa.Table.from_pylist([r for r, _ in others], schema=schema).append_column(
        "line", pa.array([line for _, line in others], pa.int64())
    )
    conn.register("careful", careful)
    read.parsed.row_count = copy(
        "marked_numbered where plain",
        "line",
        "union all by name select * from careful",
        " order by line",
    )
    return read.parsed


def _quoted(text: str) -> str:
    return text.replace("'", "''")


# Shopify's ``2026-11-14 10:23:45 +0100`` (no fraction), which _timestamp reads joined
_SHOPIFY_TIME = (
    r"[1-8]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r" [+-]([01]\d|2[0-3])[0-5]\d"
)
# an amount Decimal and DuckDB read alike, within the model's 18 digits
_PLAIN_AMOUNT = r"\d{1,16}(\.\d{1,2})?"
# a name or status: printable ASCII, no space at either end (Python strips, lower() agrees)
_PLAIN_WORDS = r"[!-~]([ -~]*[!-~])?"
# a Shopify export quotes cells with commas; a record over several lines is caught by
# counting them (``_lines_of``)
_NOT_PLAIN_ORDERS = (b"\x00", b"\x01", b"\n\n", b"\n\r\n")


def _lines_of(path: Path) -> int | None:
    """The lines of ``path`` (ended by LF, or all by CRLF); None when a byte or a blank
    line could make DuckDB and Python's ``csv`` count them differently."""
    tail, lines, returns, crlfs, last = b"", 0, 0, 0, b"\n"
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            joined = tail + chunk
            if any(mark in joined for mark in _NOT_PLAIN_ORDERS):
                return None
            lines += chunk.count(b"\n")
            returns += chunk.count(b"\r")
            crlfs += (tail[-1:] + chunk).count(b"\r\n")
            tail, last = joined[-3:], chunk[-1:]
    if returns and not returns == crlfs == lines:
        return None  # a lone CR: a line end to one reader, not to the other
    return lines + (last != b"\n")


def _utm_sql(destination: str, query: str) -> str:
    """``utm_of`` of a plain URL (see ``_plain_url_sql``), as the four columns."""
    return ", ".join(
        f"case when contains({destination}, '?') then lower(nullif(split_part("
        f"split_part({query}, '&{name}=', 2), '&', 1), '')) end as {name}"
        for name in _UTM
    )


def _query_sql(destination: str) -> str:
    # Python's url.partition('?')[2].partition('#')[0], after a '&'
    return f"'&' || split_part(substr({destination}, strpos({destination}, '?') + 1), '#', 1)"


def _plain_url_sql(destination: str, query: str) -> list[str]:
    """A URL whose utm_* values SQL reads as ``utm_of`` does: nothing encoded, each
    parameter at most once (then its value is the first non-empty one)."""
    return [
        f"regexp_full_match({destination}, '{_PLAIN_TEXT}')",
        f"not contains({destination}, '%') and not contains({destination}, '+')",
        _once_sql(query),
    ]


def _once_sql(query: str) -> str:
    """Each utm_* parameter at most once in ``query``: then its value is the first
    non-empty one, as ``utm_of`` takes it (counted only where a utm_ parameter is)."""
    counts = " and ".join(
        f"length({query}) - length(replace({query}, '&{name}=', '')) <= {len(name) + 2}"
        for name in _UTM
    )
    return f"case when contains({query}, '&utm_') then {counts} else true end"


def parse_shopify_bulk(path: Path, source: str, source_path: str, out: Path) -> ParsedExport | None:
    """An orders export's orders to the Parquet file ``out``, as ``parse_shopify`` reads
    them: each order from its first line, a line whose values are not in a plain form
    (an empty Name, an amount with 3 decimals, …) through ``shopify_line`` itself. None
    when the bulk path does not apply (a record over several lines, a name with spaces at
    an end, a missing column, …): the careful path reads the file then."""
    lines = _lines_of(path)
    if lines is None:
        return None
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header, reader = _lines(handle)
            header_line = reader.line_num
    except (UnicodeDecodeError, csv.Error):
        return None
    columns = _columns(header or [])
    if header is None or _missing(columns, SHOPIFY_COLUMNS):
        return None
    read = _Reader(source, entity_of(source), source_path, observed_at_of(path))
    read.header = header
    return _declining(
        source_path,
        out,
        lambda conn: _land_orders(conn, path, read, columns, header_line, lines, out),
    )


def _land_orders(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    read: _Reader,
    columns: dict[str, int],
    header_line: int,
    lines: int,
    out: Path,
) -> ParsedExport | None:
    width = len(read.header)
    cells = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
    conn.execute(
        f"""create temp view numbered as
            select ordinality + {int(header_line)} as line, * exclude (ordinality)
            from read_csv('{_quoted(literal_file(path))}', header = false,
                          skip = {int(header_line)}, all_varchar = true, delim = ',',
                          quote = '"', escape = '"', auto_detect = false,
                          columns = {{{cells}}}, null_padding = true, strict_mode = true,
                          nullstr = '\x01') with ordinality"""
    )

    def cell(name: str) -> str:
        i = columns.get(name.lower())
        return "''" if i is None else f"coalesce(c{i}, '')"

    wanted = [*SHOPIFY_COLUMNS, SHOPIFY_LANDING_COLUMN]
    conn.execute(
        "create temp table items as select line, "
        + ", ".join(f'{cell(name)} as "{name.lower()}"' for name in wanted)
        + " from numbered"
    )
    if conn.execute("select count(*) from items").fetchone()[0] != lines - header_line:
        return None  # a quoted cell over several lines: the careful path numbers them
    named = f"name <> '' and not regexp_full_match(name, '{_PLAIN_WORDS}')"
    if conn.execute(f"select count(*) from items where {named}").fetchone()[0]:
        return None  # a name the careful path would strip: its orders could merge

    def amount(name: str, required: bool) -> str:
        found = f"""regexp_full_match("{name}", '{_PLAIN_AMOUNT}')"""
        return found if required else f"""("{name}" = '' or {found})"""

    def time_sql(name: str) -> str:
        joined = f"""regexp_replace("{name}", ' ([+-][0-9]{{4}})$', '\\1')"""
        return f"try_cast({joined} as timestamptz) at time zone 'UTC'"

    def time_plain(name: str) -> str:
        # one expression with both forms: half the cost of two
        return f"""regexp_full_match("{name}", '({_PLAIN_TIME})|({_SHOPIFY_TIME})')"""

    landing = '"landing site"'
    query = "query"  # worked out once per order in ``firsts``: its four utm_* read it
    plain = " and ".join(
        [
            time_plain("created at"),
            "ordered_at is not null",
            """("cancelled at" = '' or cancelled_at is not null)""",
            """("cancelled at" = '' or """ + time_plain("cancelled at") + ")",
            """regexp_full_match(currency, '[A-Za-z]{3}')""",
            amount("subtotal", True),
            amount("total", True),
            *(
                amount(n, False)
                for n in ("refunded amount", "discount amount", "shipping", "taxes")
            ),
            # codes split at commas, spaces around them dropped (Shopify writes "A, B")
            """regexp_full_match("discount code", '[ -~]*')""",
            f"""("financial status" = ''
                 or regexp_full_match("financial status", '{_PLAIN_WORDS}'))""",
            *_plain_url_sql(landing, query),
        ]
    )
    # each order at its first line; the lines without a name, for the careful path
    conn.execute(
        f"""create temp table firsts as
            select *, {plain} as plain
            from (select *, {time_sql("created at")} as ordered_at,
                         {time_sql("cancelled at")} as cancelled_at,
                         {_query_sql(landing)} as query
                  from items where name <> ''
                  qualify row_number() over (partition by name order by line) = 1)"""
    )
    careful_lines = conn.execute(
        "select line from firsts where not plain union all "
        "select line from items where name = '' order by line"
    ).fetchall()
    line_of: dict[int, int] = {}
    others: list[tuple[dict, int]] = []
    read.on_rows = lambda rows: others.extend((r, line_of.pop(id(r))) for r in rows)
    if careful_lines:
        found = conn.execute(
            "select * from numbered where line in (select unnest(?)) order by line",
            [[line for (line,) in careful_lines]],
        )
        seen: set[str] = set()
        while batch := found.fetchmany(10_000):
            for line, *row in batch:
                while row and row[-1] is None:  # a short line: csv gives fewer cells
                    row.pop()
                pending = len(read._pending)
                shopify_line(read, columns, [c or "" for c in row], line, seen)
                if len(read._pending) > pending:
                    line_of[id(read._pending[-1][2])] = line
    read.flush()
    schema = arrow_schema(Order)
    careful = pa.Table.from_pylist([r for r, _ in others], schema=schema).append_column(
        "line", pa.array([line for _, line in others], pa.int64())
    )
    conn.register("careful", careful)
    codes = """list_transform(string_split(upper("discount code"), ','), c -> trim(c))"""

    def money(name: str) -> str:
        return f"""nullif("{name}", '')::decimal(18, 2)"""

    names = ", ".join(schema.names)
    conn.execute(
        f"""copy (
                select {names} from (
                    select line, ? as source, name as order_id, ordered_at,
                           upper(currency) as currency, {money("subtotal")} as subtotal,
                           {money("total")} as total,
                           list_filter({codes}, (c, i) -> c <> ''
                                       and list_position({codes}, c) = i) as discount_codes,
                           nullif({landing}, '') as landing_url,
                           {_utm_sql(landing, query)},
                           coalesce({money("refunded amount")}, 0) as refunded,
                           cancelled_at, ?::timestamp as observed_at,
                           nullif(lower("financial status"), '') as financial_status,
                           {money("discount amount")} as discount_amount,
                           {money("shipping")} as shipping, {money("taxes")} as taxes
                    from firsts where plain
                    union all by name
                    select * from careful
                ) order by line
            ) to '{_quoted(str(out))}' ({_PARQUET})""",
        [read.source, read.observed_at],
    )
    read.parsed.row_count = conn.execute(
        f"select count(*) from read_parquet('{_quoted(literal_file(out))}')"
    ).fetchone()[0]
    return read.parsed
