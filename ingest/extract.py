"""Extract: recorded pages → canonical rows → landing files. Never touches the warehouse."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from ingest.batch import MappedBatch, Mapper
from ingest.bulk import BulkResult, land_bulk
from ingest.connector import FixtureBatch
from ingest.fixture_source import endpoint_of, feed_files
from ingest.landing import land_batch
from ingest.pages import BadLine, scan_pages
from ingest.registry import connector
from radar.platforms import platform_names

log = logging.getLogger(__name__)


def mappers(platform: str, discovery: bool = False) -> Mapping[str, Mapper]:
    """The platform's mappers (guarded by its connector: whatever one page makes a mapper
    raise is that page's reject, never a failed batch): the ingest endpoints, or the ones
    niche_discovery reads."""
    try:
        found = connector(platform)
    except KeyError:
        names = platform_names()
        raise ValueError(f"no mapping for platform {platform!r}; known: {names}") from None
    return found.discovery_mappers if discovery else found.mappers


class UnknownEndpointError(ValueError):
    pass


@dataclass
class ExtractSummary:
    platform: str
    pages: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    landed: list[str] = field(default_factory=list)
    # why the batch stopped before its end (a spent daily quota), if it did
    stopped: str | None = None

    def add(self, batch: MappedBatch, files: list[Path]) -> None:
        self.pages += batch.pages
        for entity, rows in batch.rows().items():
            self.rows[entity] = self.rows.get(entity, 0) + len(rows)
        self.landed.extend(str(f) for f in files)

    def add_bulk(self, result: BulkResult) -> None:
        self.pages += result.pages
        for entity, n in result.rows.items():
            self.rows[entity] = self.rows.get(entity, 0) + n
        self.landed.extend(str(f) for f in result.landed)


# mapped tasks per platform and run, well under Airflow's max_map_length (1024)
MAX_BATCHES = 256


def batch_size(items: int, preferred: int, max_batches: int = MAX_BATCHES) -> int:
    """``preferred`` items a batch, more once that would make over ``max_batches``."""
    return max(preferred, -(-items // max_batches))


def group_files(sizes: list[int], per_group: int, bytes_per_group: int | None) -> list[range]:
    """Consecutive files, at most ``per_group`` and ``bytes_per_group`` bytes a group (a
    larger file is a group of its own)."""
    groups, first, total = [], 0, 0
    for i, size in enumerate(sizes):
        full = i - first >= per_group or (
            bytes_per_group is not None and total + size > bytes_per_group
        )
        if i > first and full:
            groups.append(range(first, i))
            first, total = i, 0
        total += size
    if sizes:
        groups.append(range(first, len(sizes)))
    return groups


def plan_fixture_batches(
    feed_dir: Path,
    platforms: list[str],
    start: datetime,
    end: datetime,
    files_per_batch: int,
    discovery: bool = False,
    max_batches: int = MAX_BATCHES,
    bytes_per_batch: int | None = None,
) -> list[FixtureBatch]:
    """One work item per platform and group of recording files inside the interval.

    Ingest plans every endpoint but the discovery ones (an unknown endpoint fails its
    batch loudly); discovery plans only the discovery endpoints. A batch holds at most
    ``files_per_batch`` files and ``bytes_per_batch`` bytes of them: a task's memory
    follows the bytes it maps, so the cap keeps it flat however large the feed. A long
    backfill interval holds many files: batches grow so a platform never maps past
    ``max_batches`` tasks.
    """
    batches = []
    for platform in platforms:
        discovering = mappers(platform, discovery=True)
        found = feed_files(feed_dir, platform, start, end)
        files = [
            str(p.relative_to(feed_dir))
            for p in found
            if (endpoint_of(p) in discovering) == discovery
        ]
        size = batch_size(len(files), files_per_batch, max_batches)
        sizes = [(feed_dir / f).stat().st_size for f in files]
        cap = bytes_per_batch
        groups = group_files(sizes, size, cap)
        while len(groups) > max_batches:  # the task cap wins over the byte cap
            cap = max(cap * 2, max(sizes))
            groups = group_files(sizes, size, cap)
        batches += [
            FixtureBatch(platform=platform, files=files[g.start : g.stop], discovery=discovery)
            for g in groups
        ]
    return batches


def _bulk_extract(
    platform: str,
    by_endpoint: dict[str, list[str]],
    feed_dir: Path,
    landing_dir: Path,
    day: date,
    run_id: str,
    task: str,
    parts: itertools.count,
    summary: ExtractSummary,
    memory_limit: str,
    threads: int,
) -> list[str]:
    """Land what the bulk path can take; returns the files left for the Python path."""
    mappings = connector(platform).bulk_mappings
    left = []
    conn = None
    for endpoint, rels in by_endpoint.items():
        if endpoint not in mappings:
            left.extend(rels)
            continue
        if conn is None:
            conn = duckdb.connect(
                config={
                    "memory_limit": memory_limit,
                    "threads": threads,
                    "temp_directory": str(landing_dir.parent / "tmp" / "duckdb"),
                }
            )
        by_path = {str(feed_dir / rel): rel for rel in rels}
        result = land_bulk(
            conn,
            mappings[endpoint],
            platform,
            [feed_dir / rel for rel in rels],
            landing_dir,
            day,
            run_id,
            task,
            lambda: next(parts),
        )
        summary.add_bulk(result)
        left.extend(by_path[path] for path in result.careful_files)
        if result.careful_files:
            log.info(
                "%s files of %s/%s take the careful Python path: %s",
                len(result.careful_files),
                platform,
                endpoint,
                result.careful_files[:5],
            )
    if conn is not None:
        conn.close()
    return sorted(left)


def extract_fixture_batch(
    feed_dir: Path,
    platform: str,
    files: list[str],
    landing_dir: Path,
    day: date,
    run_id: str,
    task: str,
    pages_per_part: int = 500,
    bulk: bool = True,
    memory_limit: str = "1GB",
    discovery: bool = False,
    threads: int = 1,
) -> ExtractSummary:
    """Map every page of ``files`` and land the rows.

    Endpoints with a bulk mapping go through DuckDB first; the files it hands back, and
    every other endpoint, are mapped page by page in Python, one landing part per
    ``pages_per_part`` pages.
    """
    endpoints = mappers(platform, discovery)
    by_endpoint: dict[str, list[str]] = {}
    for rel in files:
        endpoint = endpoint_of(Path(rel))
        if endpoint not in endpoints:
            raise UnknownEndpointError(
                f"{rel}: unknown {platform} endpoint {endpoint!r}; known: {sorted(endpoints)}"
            )
        by_endpoint.setdefault(endpoint, []).append(rel)
    summary = ExtractSummary(platform)
    parts = itertools.count()
    left = files
    if bulk and not discovery:
        left = _bulk_extract(
            platform,
            by_endpoint,
            feed_dir,
            landing_dir,
            day,
            run_id,
            task,
            parts,
            summary,
            memory_limit,
            threads,
        )
    batch = MappedBatch(platform)
    # a line that is no page has no fetched_at: its reject is dated at the batch's day
    line_day = datetime.combine(day, datetime.min.time())
    for rel in left:
        mapper = endpoints[endpoint_of(Path(rel))]
        for page in scan_pages(feed_dir / rel, display_path=f"{feed_dir.name}/{rel}"):
            if isinstance(page, BadLine):
                batch.reject_at(page.ref, line_day, "page", -1, page.reason, page.text)
                continue
            mapper(page, batch)
            batch.pages += 1
            if batch.pages >= pages_per_part:
                summary.add(batch, land_batch(batch, landing_dir, day, run_id, task, next(parts)))
                batch = MappedBatch(platform)
    if batch.pages:
        summary.add(batch, land_batch(batch, landing_dir, day, run_id, task, next(parts)))
    log.info("extracted %s: %s pages, rows %s", platform, summary.pages, summary.rows)
    return summary
