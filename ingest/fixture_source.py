"""Fixture-feed source: replays recorded pages from a feed directory.

Layout: ``<feed>/<platform>/<endpoint>/dt=<YYYY-MM-DD>/<name>.jsonl[.gz]``, one recorded
page per line (see ``ingest.pages``). A run replays the days inside its data interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path


def feed_files(feed_dir: Path, platform: str, start: datetime, end: datetime) -> list[Path]:
    """Recording files of ``platform`` whose day lies in ``[start, end)``, sorted."""
    root = feed_dir / platform
    if not root.is_dir():
        return []
    days = set()
    day = start.date()
    while datetime.combine(day, datetime.min.time()) < end.replace(tzinfo=None):
        days.add(f"dt={day.isoformat()}")
        day += timedelta(days=1)
    files = [
        path
        for path in root.glob("*/dt=*/*")
        if path.parent.name in days and path.name.endswith((".jsonl", ".jsonl.gz"))
    ]
    return sorted(files)


def endpoint_of(path: Path) -> str:
    return path.parent.parent.name
