"""Export files into the landing zone, each once, for the loader to load exactly once.

An export ``<exports dir>/<source>/<file>.csv`` lands as
``landing/<source>/<entity>/dt=<day it was taken>/<file stem>-<sha256[:16]>.parquet``
(its rows) and the same name under ``landing/<source>/rejects/`` (its rejects). The hash of
the file's bytes is in the name, so the same export dropped twice (or saved again under
another name) lands once; a landed file is never rewritten. The rows' file is written
last: it marks the export landed. An export that could not be read (a missing column)
lands only its reject, so each run reads it again and reports it until it is fixed or
removed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.campaigns.bulk import BULK_MIN_BYTES, parse_shopify_bulk, parse_short_links_bulk
from ingest.campaigns.exports import (
    MODEL_OF_ENTITY,
    entity_of,
    kind_of,
    observed_at_of,
    parse_export,
)
from ingest.landing import arrow_schema, safe_name, write_parquet_atomic
from ingest.loader import checksum
from radar.canonical import Reject

log = logging.getLogger(__name__)

# the layouts DuckDB reads in bulk (``ingest/campaigns/bulk.py``); GA4 reports are small
_BULK = {"short_links": parse_short_links_bulk, "shopify": parse_shopify_bulk}


@dataclass
class LandingSummary:
    exports_dir: str
    landed: list[str] = field(default_factory=list)
    already_landed: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    rejects: int = 0
    # one line per export that could not be read: its path and why
    failed: list[str] = field(default_factory=list)


def export_files(exports_dir: Path) -> list[tuple[str, Path]]:
    """(source, path) of every CSV under a source folder of ``exports_dir``, sorted."""
    if not exports_dir.is_dir():
        return []
    return sorted(
        (folder.name, path)
        for folder in exports_dir.iterdir()
        if folder.is_dir() and not folder.name.startswith(".")
        for path in folder.rglob("*.csv")
        if not path.name.startswith(".")
    )


def land_exports(
    exports_dir: Path, landing_dir: Path, bulk_min_bytes: int = BULK_MIN_BYTES
) -> LandingSummary:
    """Land every export not landed yet; never raises for a bad file (it is named in
    ``failed``, with its reject landed). A short-link or orders export of ``bulk_min_bytes``
    or more is read by DuckDB (``ingest/campaigns/bulk.py``: the same rows and rejects,
    faster)."""
    summary = LandingSummary(str(exports_dir))
    unknown = sorted({source for source, _ in export_files(exports_dir) if kind_of(source) is None})
    for source in unknown:
        summary.failed.append(
            f"{source}/: an export folder must be named shopify…, ga4… or short_links… "
            "(its layout); its files were not read"
        )
    for source, path in export_files(exports_dir):
        if source in unknown:
            continue
        relative = path.relative_to(exports_dir).as_posix()
        entity = entity_of(source)
        digest = checksum(path)[:16]
        name = f"{safe_name(path.stem)}-{digest}.parquet"
        # by content alone: the same export saved again under another name lands once
        if any((landing_dir / source / entity).glob(f"dt=*/*-{digest}.parquet")):
            summary.already_landed += 1
            continue
        day = f"dt={observed_at_of(path).date().isoformat()}"
        target = landing_dir / source / entity / day / name
        with _ParquetStream(target, MODEL_OF_ENTITY[entity]) as rows:
            parsed = None
            bulk = _BULK.get(kind_of(source))
            if bulk is not None and path.stat().st_size >= bulk_min_bytes:
                parsed = bulk(path, source, relative, rows.tmp_bulk)
            if parsed is None:
                parsed = parse_export(path, source, relative, on_rows=rows.write)
            else:
                rows.take(rows.tmp_bulk)
            if parsed.file_error is not None:
                rows.discard()
        if parsed.rejects:
            _write_once(landing_dir / source / "rejects" / day / name, parsed.rejects, Reject)
            summary.rejects += len(parsed.rejects)
        if parsed.file_error is not None:
            summary.failed.append(f"{relative}: {parsed.file_error}")
            continue
        rows.commit()  # last: the rows' file marks the export landed
        summary.landed.append(relative)
        summary.rows[entity] = summary.rows.get(entity, 0) + parsed.row_count
    log.info(
        "campaign exports in %s: %s landed, %s landed before, rows %s, %s reject(s), %s failed",
        exports_dir,
        len(summary.landed),
        summary.already_landed,
        summary.rows,
        summary.rejects,
        len(summary.failed),
    )
    return summary


def _write_once(path: Path, rows: list, model) -> None:
    """``rows`` as the landing file ``path``, unless it exists: a landed file may have been
    loaded already, and the loader refuses one whose content changed."""
    if path.exists():
        return
    table = pa.Table.from_pylist([r.model_dump() for r in rows], schema=arrow_schema(model))
    write_parquet_atomic(table, path)


class _ParquetStream:
    """Rows written batch by batch to a temporary file beside ``path``, renamed to it by
    ``commit`` (a crash or ``discard`` leaves no landing file); memory stays one batch."""

    def __init__(self, path: Path, model) -> None:
        self.path, self.schema = path, arrow_schema(model)
        self.tmp = path.with_name(f".{path.name}.tmp")
        # where the bulk path writes the whole file instead
        self.tmp_bulk = path.with_name(f".{path.name}.bulk.tmp")
        self.writer: pq.ParquetWriter | None = None
        self.done = False

    def take(self, written: Path) -> None:
        """The file was written whole elsewhere (the bulk path): it becomes the stream's."""
        self.writer.close()
        os.replace(written, self.tmp)
        self.writer = None

    def __enter__(self) -> _ParquetStream:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        return self

    def write(self, rows: list[dict]) -> None:
        self.writer.write_table(pa.Table.from_pylist(rows, schema=self.schema))

    def discard(self) -> None:
        self.done = True

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def __exit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.close()
        if exc[0] is not None or self.done:
            self.tmp.unlink(missing_ok=True)
        self.tmp_bulk.unlink(missing_ok=True)
