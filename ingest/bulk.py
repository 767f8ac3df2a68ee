"""The bulk path: recorded pages mapped to landing files by DuckDB, not row by row in Python.

Parsing and per-record Python are what make ingest slow (docs/benchmarks.md), so a
platform can give an endpoint a set-based mapping: DuckDB reads the recordings with a typed
schema, maps them with SQL and writes the landing Parquet itself. It is only taken for
files it maps exactly as the Python mapping would. Each mapping states a ``careful``
condition (an odd HTML construct, a missing required field, an error page, ...); a file
with any such page, or one the typed read cannot parse, goes to the Python path instead,
which rejects bad records one by one with their reasons. Tests compare the two paths row
for row.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from ingest.landing import arrow_schema, safe_name
from radar.canonical import ENTITIES
from radar.warehouse import literal_file

log = logging.getLogger(__name__)

# bytes of JSON read per DuckDB pass: bounds memory whatever the size of the feed
CHUNK_BYTES = 128 * 1024 * 1024

# Shared SQL helpers. Timestamps parse only in the exact ISO form the platforms send, so
# anything else (a date alone, an epoch number) takes the careful path.
MACROS = r"""
create or replace temp macro radar_iso_ok(v) as v is null or regexp_full_match(v,
    '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)');
-- A UTC instant ('...Z') reads the same as a plain timestamp, 4x cheaper than the
-- timestamptz cast that other offsets need
create or replace temp macro radar_ts(v) as case when ends_with(v, 'Z')
    then try_cast(v as timestamp) else try_cast(v as timestamptz)::timestamp end;
-- NFC without NULs, as radar.text.clean_text. Text made only of characters that are
-- NFC on their own and never compose with a neighbour (Latin up to U+02FF, punctuation,
-- symbols, emoji, variation selectors; checked against Python's unicodedata in the tests)
-- is already NFC, and skips the costly normalisation. (The value is bound once, by a
-- one-item list comprehension: a macro argument used three times is copied three times,
-- and nested macros multiply the copies; see the HTML macros in ingest/mastodon/bulk.py.)
create or replace temp macro radar_clean(v) as [
    case when not regexp_matches(w, '[^\x{1}-\x{2ff}\x{2002}-\x{206f}\x{2600}-\x{27bf}'
                                    || '\x{fe00}-\x{fe0f}\x{1f000}-\x{1faff}]') then w
         else nfc_normalize(replace(w, chr(0), '')) end for w in [v]][1];
create or replace temp macro radar_host(url) as nullif(lower(regexp_extract(url,
    '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#@:\[\]]+)(:[0-9]*)?([/?#]|$)', 1)), '');
create or replace temp macro radar_url_ok(url) as url is null or radar_host(url) is not null;
create or replace temp macro radar_tag(t) as lower(radar_clean(ltrim(t, '#')));
-- Python's str.lower() differs from DuckDB's lower() on these (dotted I, final sigma)
create or replace temp macro radar_tag_ok(t) as t is not null and not regexp_matches(t, '[İΣ]');
"""


@dataclass
class BulkResult:
    files_mapped: list[str] = field(default_factory=list)
    careful_files: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    landed: list[Path] = field(default_factory=list)
    pages: int = 0


@dataclass(frozen=True)
class BulkMapping:
    """One endpoint's set-based mapping.

    ``read_columns``: the typed ``read_json`` columns of a recorded page.
    ``page_columns``: more columns of each page, computed as it is read from filename,
    fetched_at, url, status, body and body_text; one must be ``careful``.
    ``prepare``: SQL that reads ``{pages}`` (the pages, streamed, read once) into the temp
    table ``mapped``, with a ``filename``, a ``page_key`` and a ``careful`` column; a page
    with no items still needs a row. ``outputs``: entity → a SELECT over ``mapped`` that
    gives that entity's landing columns.
    """

    read_columns: str
    page_columns: str
    prepare: str
    outputs: dict[str, str]
    macros: str = ""


def _chunks(files: list[Path]) -> list[list[Path]]:
    chunks, current, size = [], [], 0
    for path in files:
        length = path.stat().st_size
        if current and size + length > CHUNK_BYTES:
            chunks.append(current)
            current, size = [], 0
        current.append(path)
        size += length
    if current:
        chunks.append(current)
    return chunks


def _quoted(path: Path) -> str:
    """A path inside a SQL string literal (COPY and read_json take no parameters here)."""
    return str(path).replace("'", "''")


def _pages_source(mapping: BulkMapping, files: list[Path]) -> str:
    paths = ", ".join(f"'{_quoted(literal_file(p))}'" for p in files)
    return f"""(
        select filename, fetched_at, url, status, body, {mapping.page_columns}
        from (select filename, fetched_at, request.url as url, response.status as status,
                     response.body as body, response.body_text as body_text
              from read_json([{paths}], format = 'newline_delimited', filename = true,
                             columns = {mapping.read_columns})))"""


def _copy_atomic(conn: duckdb.DuckDBPyConnection, select: str, entity: str, path: Path) -> int:
    schema = arrow_schema(ENTITIES[entity])
    # cast to the landing schema, column for column, so both paths land identical files
    casts = ", ".join(f"cast({f.name} as {_duck_type(f.type)}) as {f.name}" for f in schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    count = conn.execute(
        f"copy (select {casts} from ({select})) to '{_quoted(tmp)}' "
        "(format parquet, compression zstd)"
    ).fetchone()[0]
    if count == 0:
        tmp.unlink()  # an entity with no rows lands no file, as in the Python path
        return 0
    os.replace(tmp, path)
    return count


def _duck_type(arrow_type) -> str:
    text = str(arrow_type)
    return {
        "string": "varchar",
        "int64": "bigint",
        "bool": "boolean",
        "timestamp[us]": "timestamp",
        "list<item: string>": "varchar[]",
    }[text]


def land_bulk(
    conn: duckdb.DuckDBPyConnection,
    mapping: BulkMapping,
    platform: str,
    files: list[Path],
    landing_dir: Path,
    day: date,
    run_id: str,
    task: str,
    next_part: Callable[[], int],
) -> BulkResult:
    """Map ``files`` in DuckDB and land them; files it must not map are handed back."""
    result = BulkResult()
    conn.execute("set TimeZone = 'UTC'")
    conn.execute(MACROS + mapping.macros)
    for chunk in _chunks(files):
        try:
            conn.execute(mapping.prepare.replace("{pages}", _pages_source(mapping, chunk)))
        except (duckdb.Error, UnicodeDecodeError) as exc:
            # UnicodeDecodeError: DuckDB's message quoted the file's invalid UTF-8 bytes and
            # could not become a Python string; the file is as bad as the error says
            if len(chunk) == 1:
                log.info("bulk read of %s failed (%s); mapping it in Python", chunk[0], exc)
                result.careful_files.append(str(chunk[0]))
                continue
            # find the file the typed read cannot take; the others still go in bulk
            for path in chunk:
                sub = land_bulk(
                    conn, mapping, platform, [path], landing_dir, day, run_id, task, next_part
                )
                _merge(result, sub)
            continue
        careful = [
            row[0]
            for row in conn.execute(
                "select distinct filename from mapped where careful order by 1"
            ).fetchall()
        ]
        if careful:
            conn.execute("delete from mapped where filename in (select unnest(?))", [careful])
            result.careful_files.extend(careful)
        result.pages += conn.execute(
            "select count(distinct (filename, page_key)) from mapped"
        ).fetchone()[0]
        result.files_mapped.extend(str(p) for p in chunk if str(p) not in careful)
        part = next_part()
        name = f"{safe_name(run_id)}-{safe_name(task)}-{part:04d}.parquet"
        for entity, select in mapping.outputs.items():
            path = landing_dir / platform / entity / f"dt={day.isoformat()}" / name
            rows = _copy_atomic(conn, select, entity, path)
            if rows:
                result.rows[entity] = result.rows.get(entity, 0) + rows
                result.landed.append(path)
        conn.execute("drop table if exists mapped")
    return result


def _merge(into: BulkResult, other: BulkResult) -> None:
    into.files_mapped.extend(other.files_mapped)
    into.careful_files.extend(other.careful_files)
    into.landed.extend(other.landed)
    into.pages += other.pages
    for entity, n in other.rows.items():
        into.rows[entity] = into.rows.get(entity, 0) + n
