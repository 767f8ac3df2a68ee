"""Extract: recorded pages → canonical rows → landing files. Never touches the warehouse."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from ingest.batch import MappedBatch
from ingest.bluesky.mapping import MAPPERS as BLUESKY_MAPPERS
from ingest.fixture_source import endpoint_of, feed_files
from ingest.landing import land_batch
from ingest.mastodon.mapping import MAPPERS as MASTODON_MAPPERS
from ingest.pages import RecordedPage, read_pages

log = logging.getLogger(__name__)

Mapper = Callable[[RecordedPage, MappedBatch], None]
MAPPERS: dict[str, dict[str, Mapper]] = {
    "mastodon": MASTODON_MAPPERS,
    "bluesky": BLUESKY_MAPPERS,
}


class UnknownEndpointError(ValueError):
    pass


@dataclass
class ExtractSummary:
    platform: str
    pages: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    landed: list[str] = field(default_factory=list)

    def add(self, batch: MappedBatch, files: list[Path]) -> None:
        self.pages += batch.pages
        for entity, rows in batch.rows().items():
            self.rows[entity] = self.rows.get(entity, 0) + len(rows)
        self.landed.extend(str(f) for f in files)


def plan_fixture_batches(
    feed_dir: Path, platforms: list[str], start: datetime, end: datetime, files_per_batch: int
) -> list[dict]:
    """One work item per platform and group of recording files inside the interval."""
    batches = []
    for platform in platforms:
        if platform not in MAPPERS:
            raise ValueError(f"no mapping for platform {platform!r}; known: {sorted(MAPPERS)}")
        files = [str(p.relative_to(feed_dir)) for p in feed_files(feed_dir, platform, start, end)]
        for i in range(0, len(files), files_per_batch):
            batches.append({"platform": platform, "files": files[i : i + files_per_batch]})
    return batches


def extract_fixture_batch(
    feed_dir: Path,
    platform: str,
    files: list[str],
    landing_dir: Path,
    day: date,
    run_id: str,
    task: str,
    pages_per_part: int = 500,
) -> ExtractSummary:
    """Map every page of ``files`` and land the rows, one landing part per ``pages_per_part``."""
    mappers = MAPPERS[platform]
    summary = ExtractSummary(platform)
    batch, part = MappedBatch(platform), 0
    for rel in files:
        endpoint = endpoint_of(Path(rel))
        mapper = mappers.get(endpoint)
        if mapper is None:
            raise UnknownEndpointError(
                f"{rel}: unknown {platform} endpoint {endpoint!r}; known: {sorted(mappers)}"
            )
        for page in read_pages(feed_dir / rel, display_path=f"{feed_dir.name}/{rel}"):
            mapper(page, batch)
            batch.pages += 1
            if batch.pages >= pages_per_part:
                summary.add(batch, land_batch(batch, landing_dir, day, run_id, task, part))
                batch, part = MappedBatch(platform), part + 1
    summary.add(batch, land_batch(batch, landing_dir, day, run_id, task, part))
    log.info("extracted %s: %s pages, rows %s", platform, summary.pages, summary.rows)
    return summary
