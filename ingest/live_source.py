"""Live source: fetch tracked accounts from the platforms, archive every page, map, land.

The same mapping code reads these pages as reads fixture feeds; the raw archive
(``data/raw/<platform>/<endpoint>/dt=<day>/<run>-<task>.jsonl.gz``) replays any run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ingest.batch import MappedBatch
from ingest.bluesky.client import BlueskyClient
from ingest.extract import MAPPERS, ExtractSummary
from ingest.http import PlatformHTTPError, RawArchive
from ingest.landing import land_batch, safe_name
from ingest.mastodon.client import MastodonClient
from ingest.pages import RecordedPage

log = logging.getLogger(__name__)
ACCOUNTS_PER_BATCH = 25


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MastodonSources(_Strict):
    accounts: list[str] = []
    instance_urls: dict[str, str] = {}

    def base_url(self, instance: str) -> str:
        return self.instance_urls.get(instance, f"https://{instance}")


class BlueskySources(_Strict):
    base_url: str = "https://public.api.bsky.app"
    actors: list[str] = []


class Sources(_Strict):
    lookback_days: int = Field(default=7, ge=0)
    mastodon: MastodonSources = MastodonSources()
    bluesky: BlueskySources = BlueskySources()


def load_sources(config_dir: Path) -> Sources:
    return Sources.model_validate(yaml.safe_load((config_dir / "sources.yaml").read_text()))


def plan_live_batches(sources: Sources, platforms: list[str]) -> list[dict]:
    tracked = {"mastodon": sources.mastodon.accounts, "bluesky": sources.bluesky.actors}
    return [
        {"platform": platform, "accounts": accounts[i : i + ACCOUNTS_PER_BATCH]}
        for platform in platforms
        for accounts in [tracked.get(platform, [])]
        for i in range(0, len(accounts), ACCOUNTS_PER_BATCH)
    ]


class _Archives:
    """One raw archive file per endpoint for this task."""

    def __init__(self, data_dir: Path, platform: str, day: date, run_id: str, task: str):
        self._root = data_dir / "raw" / platform
        self._name = f"{safe_name(run_id)}-{safe_name(task)}.jsonl.gz"
        self._day = day
        self._open: dict[str, RawArchive] = {}

    def __call__(self, endpoint: str) -> RawArchive:
        if endpoint not in self._open:
            path = self._root / endpoint / f"dt={self._day.isoformat()}" / self._name
            self._open[endpoint] = RawArchive(path)
        return self._open[endpoint]

    def close(self) -> None:
        for archive in self._open.values():
            archive.close()


def _mastodon_pages(
    sources: MastodonSources,
    accounts: list[str],
    since: datetime,
    until: datetime,
    archives: _Archives,
) -> Iterator[tuple[str, RecordedPage]]:
    by_instance: dict[str, list[str]] = {}
    for acct in accounts:
        user, instance = acct.lstrip("@").split("@", 1)
        by_instance.setdefault(instance, []).append(user)
    for instance, users in by_instance.items():
        # one client per instance, so its rate limiter sees every request to it
        with MastodonClient(sources.base_url(instance), observe_before=until) as client:
            for user in users:
                client.archive = archives("accounts_lookup")
                try:
                    profile = client.lookup(user)
                except PlatformHTTPError as exc:
                    yield "accounts_lookup", exc.page  # archived; mapped into a reject
                    continue
                yield "accounts_lookup", profile
                client.archive = archives("account_statuses")
                try:
                    for page in client.statuses(json.loads(profile.body)["id"], since):
                        yield "account_statuses", page
                except PlatformHTTPError as exc:
                    yield "account_statuses", exc.page


def _bluesky_pages(
    sources: BlueskySources,
    actors: list[str],
    since: datetime,
    until: datetime,
    archives: _Archives,
) -> Iterator[tuple[str, RecordedPage]]:
    with BlueskyClient(sources.base_url, observe_before=until) as client:
        client.archive = archives("get_profiles")
        for page in client.profiles(actors):
            yield "get_profiles", page
        client.archive = archives("get_author_feed")
        for actor in actors:
            try:
                for page in client.author_feed(actor, since):
                    yield "get_author_feed", page
            except PlatformHTTPError as exc:
                yield "get_author_feed", exc.page


def extract_live_batch(
    sources: Sources,
    platform: str,
    accounts: list[str],
    data_dir: Path,
    interval_start: datetime,
    interval_end: datetime,
    run_id: str,
    task: str,
) -> ExtractSummary:
    """Fetch, archive, map and land one batch of tracked accounts."""
    since = interval_start - timedelta(days=sources.lookback_days)
    archives = _Archives(data_dir, platform, interval_start.date(), run_id, task)
    if platform == "mastodon":
        pages = _mastodon_pages(sources.mastodon, accounts, since, interval_end, archives)
    elif platform == "bluesky":
        pages = _bluesky_pages(sources.bluesky, accounts, since, interval_end, archives)
    else:
        raise ValueError(f"no live client for platform {platform!r}")
    batch, summary = MappedBatch(platform), ExtractSummary(platform)
    for endpoint, page in pages:
        MAPPERS[platform][endpoint](page, batch)
        batch.pages += 1
    # archives first: a landed row must always have its raw page on disk
    archives.close()
    summary.add(batch, land_batch(batch, data_dir / "landing", interval_start.date(), run_id, task))
    log.info("fetched %s: %s pages, rows %s", platform, summary.pages, summary.rows)
    return summary
