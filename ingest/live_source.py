"""Live source: what every platform's live fetching shares. Plan the batches of tracked
accounts and of discovery terms, give each connector's fetch its archives and context,
map the pages as they arrive and land them.

The same mapping code reads these pages as reads fixture feeds; the raw archive
(``data/raw/<platform>/<endpoint>/dt=<day>/<run>-<task>.jsonl.gz``) replays any run.
Each platform's own fetching is its package's ``source`` module (``ingest.connector``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, create_model, model_validator

from ingest.batch import MappedBatch, Mapper
from ingest.connector import (
    Connector,
    DiscoveryBatch,
    FetchContext,
    LiveBatch,
    Pages,
    Strict,
    TaskContext,
)
from ingest.extract import ExtractSummary, batch_size
from ingest.http import QuotaExhausted, RawArchive
from ingest.landing import attempt_name, land_batch, safe_name
from ingest.registry import connectors
from radar.config_file import read_config
from radar.errors import PermanentError

if TYPE_CHECKING:
    from radar.warehouse import WarehouseTarget

log = logging.getLogger(__name__)


class DiscoveryCaps(Strict):
    """Caps that keep discovery from eating the quota or flooding the tracked set; each
    platform's own block (``discovery.<platform>``) is added from its connector."""

    max_tags_per_niche: int = Field(default=5, ge=0)
    max_keywords_per_niche: int = Field(default=3, ge=0)
    max_pages_per_tag: int = Field(default=2, ge=1)
    max_new_accounts_per_niche: int = Field(default=10, ge=0)
    # accounts in this follower range are queued first (the micro tier)
    followers_band: tuple[int, int] = (10_000, 100_000)

    @model_validator(mode="before")
    @classmethod
    def _instances_moved(cls, data: Any) -> Any:
        # ``discovery.instances`` (Mastodon's) is read as ``discovery.mastodon.instances``
        if isinstance(data, dict) and "instances" in data:
            data = dict(data)
            mastodon = dict(data.get("mastodon") or {})
            mastodon.setdefault("instances", data.pop("instances"))
            data["mastodon"] = mastodon
        return data


class SourcesBase(Strict):
    """config/sources.yaml; each platform's block is added from its connector."""

    lookback_days: int = Field(default=7, ge=0)
    initial_days: int = Field(default=90, ge=1)
    # the APIs answer with today's counts: a run for an interval further back than this
    # would stamp today's numbers on an old day, so it fetches nothing and says so
    backfill_horizon_days: int = Field(default=2, ge=1)
    # each run re-reads the own posts of this many days before the interval's end to
    # record the deleted ones (the signals' 30-day engagement window); 0 turns it off
    recheck_days: int = Field(default=30, ge=0)

    def tracked(self) -> dict[str, list[str]]:
        """The configured accounts per platform."""
        return {name: getattr(self, name).tracked() for name in connectors()}


@cache
def _sources_model(platforms: tuple[str, ...]) -> type[SourcesBase]:
    found = connectors()
    discovery = create_model(
        "DiscoverySources",
        __base__=DiscoveryCaps,
        **{n: (found[n].discovery_settings, found[n].discovery_settings()) for n in platforms},
    )
    return create_model(
        "Sources",
        __base__=SourcesBase,
        discovery=(discovery, discovery()),
        **{n: (found[n].settings, found[n].settings()) for n in platforms},
    )


def sources_model() -> type[SourcesBase]:
    """The model of config/sources.yaml for the registered platforms."""
    return _sources_model(tuple(connectors()))


Sources = sources_model()
DiscoverySources = Sources.model_fields["discovery"].annotation


def load_sources(config_dir: Path) -> SourcesBase:
    return read_config(config_dir / "sources.yaml", sources_model())


def read_cursors(warehouse: WarehouseTarget) -> dict[tuple[str, str], datetime]:
    """Newest committed post per (platform, account id or handle) of the tracked accounts
    (those with a row in ``core.accounts``), from ``meta.cursors``.

    Only tracked accounts' cursors are read: a warehouse written before schema v7 may
    still hold cursors for authors a tracked account boosted or reposted (migration 0007
    deletes them when the next load applies it), and such a cursor must not start an
    account's first walk anywhere but ``initial_days`` back (``ingest.loader.advance_cursors``
    says which posts move a cursor)."""
    from radar.warehouse import connect, may_hold_data, table_columns

    if not may_hold_data(warehouse):
        return {}

    with connect(warehouse, read_only=True) as conn:
        if not table_columns(conn, "meta.cursors"):
            return {}
        rows = conn.execute(
            """select c.platform, c.key, a.handle, c.newest_seen_at
               from meta.cursors as c
               join core.accounts as a
                   on c.platform = a.platform and c.key = a.account_id
               where c.scope = 'account_posts'"""
        ).fetchall()
    cursors = {}
    for platform, key, handle, newest in rows:
        cursors[(platform, key.lower())] = newest
        # Bluesky tracks handles (or DIDs), its cursors key on DIDs: both find the cursor
        cursors[(platform, handle.lower())] = newest
    return cursors


RecheckPosts = dict[tuple[str, str], dict[str, datetime]]


def read_recheck(warehouse: WarehouseTarget, platforms: list[str], since: datetime) -> RecheckPosts:
    """The own posts (``original`` and ``quote``, those the signals count) created at or
    after ``since`` of each tracked account on ``platforms``, leaving out those
    ``core.post_deletions`` already holds: post id → created_at per (platform, account id
    or handle, lower case), the keys ``read_cursors`` uses."""
    from radar.warehouse import connect, may_hold_data, table_columns

    if not platforms or not may_hold_data(warehouse):
        return {}

    with connect(warehouse, read_only=True) as conn:
        if not table_columns(conn, "core.post_deletions"):
            return {}
        rows = conn.execute(
            """select p.platform, a.account_id, a.handle, p.post_id, p.created_at
               from core.posts as p
               join core.accounts as a
                   on p.platform = a.platform and p.account_id = a.account_id
               where p.platform in (select unnest(?))
                   and p.kind in ('original', 'quote')
                   and p.created_at >= ?
                   and not exists (
                       select 1 from core.post_deletions as d
                       where d.platform = p.platform and d.post_id = p.post_id
                   )
               order by p.platform, a.account_id, p.created_at desc, p.post_id""",
            [platforms, since],
        ).fetchall()
    posts: RecheckPosts = {}
    for platform, account_id, handle, post_id, created_at in rows:
        posts.setdefault((platform, account_id.lower()), {})[post_id] = created_at
        posts[(platform, handle.lower())] = posts[(platform, account_id.lower())]
    return posts


def plan_live_batches(
    sources: SourcesBase,
    platforms: list[str],
    cursors: dict[tuple[str, str], datetime],
    interval_start: datetime,
    interval_end: datetime | None = None,
    now: datetime | None = None,
    queued: dict[str, list[str]] | None = None,
    warehouse: WarehouseTarget | None = None,
) -> list[LiveBatch]:
    """Batches of tracked accounts, each with how far back to read.

    With a cursor (``read_cursors``: only tracked accounts have one, once a walk of theirs
    landed posts): back to the older of the cursor and the interval start, minus the
    lookback (counts keep changing). Without one, as for an account listed or queued
    since the last run (even one whose posts others boosted before): ``initial_days``
    before the interval.

    An interval that ended more than ``backfill_horizon_days`` before ``now`` cannot be
    fetched: the platforms answer with today's counts only. When there are accounts to
    fetch, that is a ``PermanentError`` (the plan task fails at once, unretried) that says
    what to do instead; a platform with no accounts plans nothing either way.

    With a ``warehouse``, each account of a platform whose connector confirms deletions
    also carries its own posts of the ``recheck_days`` before the interval's end that are
    not known deleted (``read_recheck``), for its fetch to re-read.
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    end = interval_end or interval_start
    tracked = sources.tracked()
    # accounts niche_discovery queued are tracked like configured ones
    for platform, handles in (queued or {}).items():
        known = {h.lstrip("@").lower() for h in tracked.get(platform, [])}
        extra = [h for h in handles if h.lower() not in known]
        tracked[platform] = [*tracked.get(platform, []), *extra]
    horizon = sources.backfill_horizon_days
    wanted = {platform: len(tracked.get(platform, [])) for platform in platforms}
    if end < now - timedelta(days=horizon) and any(wanted.values()):
        raise PermanentError(
            f"live source: the interval {interval_start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} "
            f"UTC ended more than backfill_horizon_days={horizon} day(s) ago, and the "
            f"platforms answer with today's counts only: its {sum(wanted.values())} "
            f"account(s) ({', '.join(p for p, n in wanted.items() if n)}) cannot be "
            "fetched live for it. Replay what live runs archived instead (RADAR_SOURCE="
            "fixture, RADAR_FEED_DIR=<RADAR_DATA_DIR>/raw), or raise backfill_horizon_days "
            "in config/sources.yaml to stamp today's counts on that interval anyway"
        )
    lookback, initial = timedelta(days=sources.lookback_days), timedelta(days=sources.initial_days)

    def since(platform: str, account: str) -> datetime:
        cursor = cursors.get((platform, account.lstrip("@").lower()))
        return min(cursor, interval_start) - lookback if cursor else interval_start - initial

    found = connectors()
    recheck: RecheckPosts = {}
    if warehouse is not None and sources.recheck_days:
        confirming = [p for p in platforms if found[p].confirms_deletions]
        recheck = read_recheck(warehouse, confirming, end - timedelta(days=sources.recheck_days))

    def posts(platform: str, accounts: list[str]) -> dict[str, dict[str, datetime]]:
        keys = {a: (platform, a.lstrip("@").lower()) for a in accounts}
        return {a: recheck[key] for a, key in keys.items() if recheck.get(key)}

    return [
        LiveBatch(
            platform=platform,
            accounts=chunk,
            since={account: since(platform, account) for account in chunk},
            recheck={account: list(ids) for account, ids in to_recheck.items()},
            recheck_since={account: min(ids.values()) for account, ids in to_recheck.items()},
        )
        for platform in platforms
        for accounts in [tracked.get(platform, [])]
        for size in [batch_size(len(accounts), found[platform].accounts_per_batch)]
        for i in range(0, len(accounts), size)
        for chunk in [accounts[i : i + size]]
        for to_recheck in [posts(platform, chunk)]
    ]


def plan_live_discovery(
    sources: SourcesBase,
    niches: dict[str, dict[str, list[str]]],
    platforms: list[str] | None = None,
) -> list[DiscoveryBatch]:
    """Discovery batches: each niche's first ``max_tags_per_niche`` hashtags and
    ``max_keywords_per_niche`` keywords, in the order ``config/niches.yaml`` lists them
    (niches in their order too; a term two niches share is searched once, where it first
    appears), for each platform whose connector can discover and whose
    ``discovery.<platform>`` block turns it on (Mastodon: one batch per listed
    instance; Instagram looks up its configured candidates instead). A run costs at most
    terms × pages requests per instance and platform, plus the profile reads of what was
    found (Bluesky 25 and YouTube 50 accounts a request)."""
    caps = sources.discovery
    tags = list(
        dict.fromkeys(t for n in niches.values() for t in n["hashtags"][: caps.max_tags_per_niche])
    )
    keywords = list(
        dict.fromkeys(
            k for n in niches.values() for k in n["keywords"][: caps.max_keywords_per_niche]
        )
    )
    if not tags and not keywords:
        return []
    wanted = set(platforms if platforms is not None else connectors())
    return [
        batch
        for name, connector in connectors().items()
        if name in wanted and connector.discover is not None
        for batch in connector.plan_discovery(name, getattr(caps, name), tags, keywords)
    ]


class _Archives:
    """One raw archive file per endpoint for this try of the task, which replays the
    pages of the task's former tries (see ``RawArchive``)."""

    def __init__(self, data_dir: Path, platform: str, task: TaskContext):
        self._root = data_dir / "raw" / platform
        # the daily quota ledger every task of this machine spends from
        self.quota_path = data_dir / "state" / f"quota-{platform}.json"
        names = [
            f"{safe_name(task.run_id)}-{safe_name(attempt_name(task.task, n))}.jsonl.gz"
            for n in range(max(task.attempt, 1), 0, -1)
        ]
        self._name, self._earlier = names[0], names[1:]
        self._day = task.interval_start.date()
        self._open: dict[str, RawArchive] = {}

    def __call__(self, endpoint: str) -> RawArchive:
        if endpoint not in self._open:
            folder = self._root / endpoint / f"dt={self._day.isoformat()}"
            self._open[endpoint] = RawArchive(
                folder / self._name, [folder / name for name in self._earlier]
            )
        return self._open[endpoint]

    def close(self) -> None:
        for archive in self._open.values():
            archive.close()


def extract_live(
    sources: SourcesBase,
    batch: LiveBatch | DiscoveryBatch,
    data_dir: Path,
    task: TaskContext,
    **client_options: object,
) -> ExtractSummary:
    """Fetch, archive, map and land one live batch: tracked accounts (``LiveBatch``, each
    read back to its ``since``) or discovery terms (``DiscoveryBatch``).

    A retried task resumes: the pages its former tries archived are replayed, not fetched
    again; each try writes its own archive and landing files, so nothing a former try
    landed is ever rewritten. ``client_options`` go to the platform client (timeouts and
    retries, in tests).

    ``task.credentials`` are the platform's secrets (its connector says which). They go
    into request headers or query only: never into the archive, a log or the warehouse.
    """
    connector = _connector(batch.platform)
    discovering = isinstance(batch, DiscoveryBatch)
    start = task.interval_start
    archives = _Archives(data_dir, batch.platform, task)
    ctx = FetchContext(
        until=task.interval_end,
        archives=archives,
        credentials=dict(task.credentials),
        quota_path=archives.quota_path,
        discovery=sources.discovery,
        # the platform's rate-limit window, shared with its other tasks on this machine
        client_options={"rate_state_dir": data_dir / "state", **client_options},
    )
    settings = getattr(sources, batch.platform)
    if discovering:
        if connector.discover is None:
            raise ValueError(f"no live discovery for platform {batch.platform!r}")
        pages, mappers = connector.discover(settings, batch, ctx), connector.discovery_mappers
    else:
        pages, mappers = connector.fetch(settings, batch, ctx), connector.mappers
    landing_task = attempt_name(task.task, task.attempt)

    def land(mapped: MappedBatch) -> list[Path]:
        return land_batch(mapped, data_dir / "landing", start.date(), task.run_id, landing_task)

    return _land_pages(batch.platform, pages, mappers, archives, land)


def _connector(platform: str) -> Connector:
    found = connectors()
    if platform not in found:
        raise ValueError(f"no live client for platform {platform!r}")
    return found[platform]


def _land_pages(
    platform: str,
    pages: Pages,
    mappers: Mapping[str, Mapper],
    archives: _Archives,
    land: Callable[[MappedBatch], list[Path]],
) -> ExtractSummary:
    """Map every page as it arrives, then land the rows, archives first: a landed row
    always has its raw page on disk."""
    batch, summary = MappedBatch(platform), ExtractSummary(platform)
    try:
        for endpoint, page in pages:
            mappers[endpoint](page, batch)
            batch.pages += 1
    except QuotaExhausted as exc:
        # Retrying cannot help before the reset. Walks run newest first, and a cursor
        # moves to an account's newest loaded post: landing a cut walk's posts would skip
        # the older ones for good. So the batch keeps its profiles, snapshots and rejects,
        # drops its posts, and every account in it is walked again from its old cursor.
        dropped = len(batch.posts)
        batch.posts.clear()
        batch.post_metric_snapshots.clear()
        batch.post_deletions.clear()
        batch.post_disclosures.clear()
        summary.stopped = f"{exc} ({dropped} posts of the cut batch left for the next run)"
        log.warning("%s: stopped early, %s", platform, summary.stopped)
    archives.close()
    summary.add(batch, land(batch))
    log.info("fetched %s: %s pages, rows %s", platform, summary.pages, summary.rows)
    return summary
