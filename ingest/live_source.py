"""Live source: fetch tracked accounts from the platforms, archive every page, map, land.

The same mapping code reads these pages as reads fixture feeds; the raw archive
(``data/raw/<platform>/<endpoint>/dt=<day>/<run>-<task>.jsonl.gz``) replays any run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ingest.batch import MappedBatch
from ingest.bluesky.client import BlueskyClient
from ingest.extract import MAPPERS, ExtractSummary, batch_size
from ingest.http import RawArchive
from ingest.landing import land_batch, safe_name
from ingest.mastodon.client import MastodonClient
from ingest.pages import RecordedPage
from ingest.walk import as_pages, walk

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


class DiscoverySources(_Strict):
    """Caps that keep discovery from eating the quota or flooding the tracked set."""

    # instances whose hashtag timelines are read (remote accounts show up there too)
    instances: list[str] = []
    max_tags_per_niche: int = Field(default=5, ge=0)
    max_keywords_per_niche: int = Field(default=3, ge=0)
    max_pages_per_tag: int = Field(default=2, ge=1)
    max_new_accounts_per_niche: int = Field(default=10, ge=0)
    # accounts in this follower range are queued first (the micro tier)
    followers_band: tuple[int, int] = (10_000, 100_000)


class Sources(_Strict):
    lookback_days: int = Field(default=7, ge=0)
    initial_days: int = Field(default=90, ge=1)
    # the APIs answer with today's counts: a run for an interval further back than this
    # would stamp today's numbers on an old day, so it fetches nothing and says so
    backfill_horizon_days: int = Field(default=2, ge=1)
    mastodon: MastodonSources = MastodonSources()
    bluesky: BlueskySources = BlueskySources()
    discovery: DiscoverySources = DiscoverySources()


def load_sources(config_dir: Path) -> Sources:
    return Sources.model_validate(yaml.safe_load((config_dir / "sources.yaml").read_text()))


def read_cursors(warehouse: Path) -> dict[tuple[str, str], datetime]:
    """Newest committed post per (platform, account id or handle), from ``meta.cursors``."""
    if not warehouse.exists():
        return {}
    from ingest.warehouse import connect, table_columns

    with connect(warehouse, read_only=True) as conn:
        if not table_columns(conn, "meta.cursors"):
            return {}
        rows = conn.execute(
            """select c.platform, c.key, a.handle, c.newest_seen_at
               from meta.cursors as c
               left join core.accounts as a
                   on a.platform = c.platform and a.account_id = c.key
               where c.scope = 'account_posts'"""
        ).fetchall()
    cursors = {}
    for platform, key, handle, newest in rows:
        cursors[(platform, key.lower())] = newest
        if handle:  # Bluesky tracks handles, its cursors key on DIDs
            cursors[(platform, handle.lower())] = newest
    return cursors


def plan_live_batches(
    sources: Sources,
    platforms: list[str],
    cursors: dict[tuple[str, str], datetime],
    interval_start: datetime,
    interval_end: datetime | None = None,
    now: datetime | None = None,
    queued: dict[str, list[str]] | None = None,
) -> list[dict]:
    """Batches of tracked accounts, each with how far back to read.

    With a cursor: back to the older of the cursor and the interval start, minus the
    lookback (counts keep changing). Without one: ``initial_days`` before the interval.
    An interval that ended more than ``backfill_horizon_days`` ago gets no batches: the
    platforms cannot tell what the counts were then (replay its raw archive instead).
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    end = interval_end or interval_start
    if end < now - timedelta(days=sources.backfill_horizon_days):
        log.warning(
            "live source: the interval ending %s lies past the %s-day backfill horizon; "
            "nothing fetched (replay data/raw for past days)",
            end,
            sources.backfill_horizon_days,
        )
        return []
    tracked = {"mastodon": sources.mastodon.accounts, "bluesky": sources.bluesky.actors}
    # accounts niche_discovery queued are tracked like configured ones
    for platform, handles in (queued or {}).items():
        known = {h.lstrip("@").lower() for h in tracked.get(platform, [])}
        extra = [h for h in handles if h.lower() not in known]
        tracked[platform] = [*tracked.get(platform, []), *extra]
    lookback, initial = timedelta(days=sources.lookback_days), timedelta(days=sources.initial_days)

    def since(platform: str, account: str) -> str:
        cursor = cursors.get((platform, account.lstrip("@").lower()))
        start = min(cursor, interval_start) - lookback if cursor else interval_start - initial
        return start.isoformat()

    return [
        {
            "platform": platform,
            "accounts": chunk,
            "since": {account: since(platform, account) for account in chunk},
        }
        for platform in platforms
        for accounts in [tracked.get(platform, [])]
        for size in [batch_size(len(accounts), ACCOUNTS_PER_BATCH)]
        for i in range(0, len(accounts), size)
        for chunk in [accounts[i : i + size]]
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
    since: dict[str, datetime],
    until: datetime,
    archives: _Archives,
    tokens: dict[str, str],
    client_options: dict,
) -> Iterator[tuple[str, RecordedPage]]:
    by_instance: dict[str, list[tuple[str, str]]] = {}
    for acct in accounts:
        user, instance = acct.lstrip("@").split("@", 1)
        by_instance.setdefault(instance, []).append((user, acct))
    for instance, users in by_instance.items():
        # one client per instance, so its rate limiter sees every request to it
        with MastodonClient(
            sources.base_url(instance),
            token=tokens.get(instance),
            observe_before=until,
            **client_options,
        ) as client:
            for user, acct in users:
                client.archive = archives("accounts_lookup")
                profile = yield from walk("accounts_lookup", as_pages(client.lookup), user)
                if profile is None:
                    continue
                client.archive = archives("account_statuses")
                account_id = json.loads(profile.body)["id"]
                yield from walk("account_statuses", client.statuses, account_id, since[acct])


def _bluesky_pages(
    sources: BlueskySources,
    actors: list[str],
    since: dict[str, datetime],
    until: datetime,
    archives: _Archives,
    client_options: dict,
) -> Iterator[tuple[str, RecordedPage]]:
    with BlueskyClient(sources.base_url, observe_before=until, **client_options) as client:
        client.archive = archives("get_profiles")
        yield from walk("get_profiles", client.profiles, actors)
        client.archive = archives("get_author_feed")
        for actor in actors:
            yield from walk("get_author_feed", client.author_feed, actor, since[actor])


def plan_live_discovery(sources: Sources, niches: dict[str, dict[str, list[str]]]) -> list[dict]:
    """One batch per discovery instance: each niche's first ``max_tags_per_niche`` hashtags
    and ``max_keywords_per_niche`` keywords. A run then costs at most tags ×
    ``max_pages_per_tag`` + keywords requests per instance."""
    caps = sources.discovery
    tags = sorted({t for n in niches.values() for t in n["hashtags"][: caps.max_tags_per_niche]})
    keywords = sorted(
        {k for n in niches.values() for k in n["keywords"][: caps.max_keywords_per_niche]}
    )
    if not tags and not keywords:
        return []
    return [
        {
            "platform": "mastodon",
            "discovery": True,
            "instance": instance,
            "tags": tags,
            "keywords": keywords,
        }
        for instance in caps.instances
    ]


def extract_live_discovery(
    sources: Sources,
    instance: str,
    tags: list[str],
    keywords: list[str],
    data_dir: Path,
    interval_start: datetime,
    interval_end: datetime,
    run_id: str,
    task: str,
    token: str | None = None,
) -> ExtractSummary:
    """Read each tag's timeline and search each keyword on ``instance``, archive the pages,
    land the sightings."""
    from ingest.extract import DISCOVERY_MAPPERS

    archives = _Archives(data_dir, "mastodon", interval_start.date(), run_id, task)
    batch, summary = MappedBatch("mastodon"), ExtractSummary("mastodon")
    mappers = DISCOVERY_MAPPERS["mastodon"]
    with MastodonClient(
        sources.mastodon.base_url(instance), token=token, observe_before=interval_end
    ) as client:

        def walks() -> Iterator[tuple[str, RecordedPage]]:
            client.archive = archives("tag_timeline")
            for tag in tags:
                cap = sources.discovery.max_pages_per_tag
                yield from walk("tag_timeline", client.tag_timeline, tag, cap)
            client.archive = archives("account_search")
            for keyword in keywords:
                yield from walk("account_search", client.search_accounts, keyword)

        for endpoint, page in walks():
            mappers[endpoint](page, batch)
            batch.pages += 1
    archives.close()
    summary.add(batch, land_batch(batch, data_dir / "landing", interval_start.date(), run_id, task))
    log.info("discovered on %s: %s pages, rows %s", instance, summary.pages, summary.rows)
    return summary


def extract_live_batch(
    sources: Sources,
    platform: str,
    accounts: list[str],
    since: dict[str, datetime],
    data_dir: Path,
    interval_start: datetime,
    interval_end: datetime,
    run_id: str,
    task: str,
    tokens: dict[str, str] | None = None,
    **client_options: object,
) -> ExtractSummary:
    """Fetch, archive, map and land one batch; ``since`` says how far back per account.

    A retried task resumes: pages its failed try archived are replayed, not fetched again.
    ``client_options`` go to the platform client (timeouts and retries, in tests).

    ``tokens``: access token per Mastodon instance, if any (public data needs none). They
    go into the Authorization header only: never into the archive, a log or the warehouse.
    """
    archives = _Archives(data_dir, platform, interval_start.date(), run_id, task)
    if platform == "mastodon":
        pages = _mastodon_pages(
            sources.mastodon, accounts, since, interval_end, archives, tokens or {}, client_options
        )
    elif platform == "bluesky":
        pages = _bluesky_pages(
            sources.bluesky, accounts, since, interval_end, archives, client_options
        )
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
