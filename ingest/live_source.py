"""Live source: fetch tracked accounts from the platforms, archive every page, map, land.

The same mapping code reads these pages as reads fixture feeds; the raw archive
(``data/raw/<platform>/<endpoint>/dt=<day>/<run>-<task>.jsonl.gz``) replays any run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ingest.batch import MappedBatch
from ingest.bluesky.client import DEFAULT_PDS, BlueskyClient
from ingest.extract import MAPPERS, ExtractSummary, batch_size
from ingest.http import QuotaExhausted, RawArchive
from ingest.instagram import live as instagram_live
from ingest.landing import attempt_name, land_batch, safe_name
from ingest.mastodon.client import MastodonClient
from ingest.pages import RecordedPage
from ingest.tiktok import live as tiktok_live
from ingest.walk import as_pages, walk
from ingest.youtube import live as youtube_live
from radar.config_file import read_config

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


# platforms whose live fetching lives in their own package (``ingest.<platform>.live``:
# ``fetch_pages`` and ``fetch_discovery_pages``); they spend a daily quota
PACKAGE_LIVE = {"youtube": youtube_live, "instagram": instagram_live, "tiktok": tiktok_live}


class Enabled(_Strict):
    enabled: bool = False


class BlueskyDiscovery(_Strict):
    enabled: bool = False
    # post search needs a session on a PDS (Airflow connection radar_bluesky: login = handle,
    # password = an app password); without one only account search by keyword runs
    pds_url: str = DEFAULT_PDS


class DiscoverySources(_Strict):
    """Caps that keep discovery from eating the quota or flooding the tracked set."""

    # Mastodon instances whose hashtag timelines are read (remote accounts show up there too)
    instances: list[str] = []
    bluesky: BlueskyDiscovery = BlueskyDiscovery()
    # off by default: YouTube search costs 100 of 10,000 daily units a page, TikTok's
    # Research API allows 1,000 requests a day; their own sections hold the caps
    youtube: Enabled = Enabled()
    tiktok: Enabled = Enabled()
    # Instagram cannot search for accounts: this looks up the handles listed in
    # instagram.discovery_candidates (business discovery)
    instagram: Enabled = Enabled()
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
    youtube: youtube_live.YouTubeSources = youtube_live.YouTubeSources()
    instagram: instagram_live.InstagramSources = instagram_live.InstagramSources()
    tiktok: tiktok_live.TikTokSources = tiktok_live.TikTokSources()
    discovery: DiscoverySources = DiscoverySources()

    def tracked(self) -> dict[str, list[str]]:
        """The configured accounts per platform."""
        return {
            "mastodon": self.mastodon.accounts,
            "bluesky": self.bluesky.actors,
            "youtube": self.youtube.channels,
            "instagram": self.instagram.accounts,
            "tiktok": self.tiktok.accounts,
        }


def load_sources(config_dir: Path) -> Sources:
    return read_config(config_dir / "sources.yaml", Sources)


def read_cursors(warehouse: Path) -> dict[tuple[str, str], datetime]:
    """Newest committed post per (platform, account id or handle), from ``meta.cursors``."""
    if not warehouse.exists():
        return {}
    from radar.warehouse import connect, table_columns

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
    tracked = sources.tracked()
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
    """One raw archive file per endpoint for this try of the task, which replays the
    pages of the task's former tries (see ``RawArchive``)."""

    def __init__(
        self, data_dir: Path, platform: str, day: date, run_id: str, task: str, attempt: int = 1
    ):
        self._root = data_dir / "raw" / platform
        # the daily quota ledger every task of this machine spends from
        self.quota_path = data_dir / "state" / f"quota-{platform}.json"
        names = [
            f"{safe_name(run_id)}-{safe_name(attempt_name(task, n))}.jsonl.gz"
            for n in range(max(attempt, 1), 0, -1)
        ]
        self._name, self._earlier = names[0], names[1:]
        self._day = day
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


def plan_live_discovery(
    sources: Sources, niches: dict[str, dict[str, list[str]]], platforms: list[str] | None = None
) -> list[dict]:
    """Discovery batches: each niche's first ``max_tags_per_niche`` hashtags and
    ``max_keywords_per_niche`` keywords, read on every Mastodon instance listed and on
    each other platform whose ``discovery.<platform>.enabled`` is set (Instagram looks up
    its configured candidates instead). A run costs at most terms × pages requests per
    instance and platform, plus the profile reads of what was found (Bluesky 25 and
    YouTube 50 accounts a request)."""
    caps = sources.discovery
    tags = sorted({t for n in niches.values() for t in n["hashtags"][: caps.max_tags_per_niche]})
    keywords = sorted(
        {k for n in niches.values() for k in n["keywords"][: caps.max_keywords_per_niche]}
    )
    if not tags and not keywords:
        return []
    wanted = set(platforms if platforms is not None else sources.tracked())
    terms = {"discovery": True, "tags": tags, "keywords": keywords}
    batches = []
    if "mastodon" in wanted:
        batches += [{"platform": "mastodon", "instance": i, **terms} for i in caps.instances]
    for platform in ("bluesky", *PACKAGE_LIVE):
        if platform in wanted and getattr(caps, platform).enabled:
            batches.append({"platform": platform, **terms})
    return batches


def _mastodon_discovery_pages(
    sources: Sources,
    batch: dict,
    until: datetime,
    archives: _Archives,
    credentials: dict[str, str],
    client_options: dict,
) -> Iterator[tuple[str, RecordedPage]]:
    """Each tag's timeline (capped pages) and one account search per keyword."""
    instance = batch["instance"]
    with MastodonClient(
        sources.mastodon.base_url(instance),
        token=credentials.get(instance),
        observe_before=until,
        **client_options,
    ) as client:
        client.archive = archives("tag_timeline")
        for tag in batch["tags"]:
            cap = sources.discovery.max_pages_per_tag
            yield from walk("tag_timeline", client.tag_timeline, tag, cap)
        client.archive = archives("account_search")
        for keyword in batch["keywords"]:
            yield from walk("account_search", client.search_accounts, keyword)


def _bluesky_discovery_pages(
    sources: Sources,
    batch: dict,
    until: datetime,
    archives: _Archives,
    credentials: dict[str, str],
    client_options: dict,
) -> Iterator[tuple[str, RecordedPage]]:
    """searchActors per keyword on the public AppView; with a session (``identifier`` and
    ``app_password``), searchPosts per tag and keyword on the PDS. Then the profiles of
    every account found, 25 a request, for their follower counts."""
    cap = sources.discovery.max_pages_per_tag
    found: dict[str, None] = {}

    def note(pages: Iterator[tuple[str, RecordedPage]], key: str, who: Callable[[dict], str]):
        for endpoint, page in pages:
            if page.status < 400:
                for item in json.loads(page.body).get(key) or []:
                    try:
                        found.setdefault(who(item))
                    except (KeyError, TypeError):
                        pass  # the mapping rejects it
            yield endpoint, page

    with BlueskyClient(sources.bluesky.base_url, observe_before=until, **client_options) as app:
        app.archive = archives("search_actors")
        for keyword in batch["keywords"]:
            yield from note(walk("search_actors", app.search_actors, keyword, cap), "actors", _did)
        if credentials.get("identifier") and credentials.get("app_password"):
            with BlueskyClient(
                sources.discovery.bluesky.pds_url, observe_before=until, **client_options
            ) as pds:
                pds.login(credentials["identifier"], credentials["app_password"])
                pds.archive = archives("search_posts")
                searches = [(f"#{t}", t) for t in batch["tags"]] + [
                    (k, None) for k in batch["keywords"]
                ]
                for query, tag in searches:
                    pages = walk("search_posts", pds.search_posts, query, cap, tag)
                    yield from note(pages, "posts", _author_did)
        else:
            log.info("bluesky discovery: no session credentials, so no post search by tag")
        app.archive = archives("discovery_profiles")
        yield from walk("discovery_profiles", app.profiles, list(found))


def _did(actor: dict) -> str:
    return actor["did"]


def _author_did(post: dict) -> str:
    return post["author"]["did"]


def _package_discovery_pages(platform: str):
    def pages(
        sources: Sources,
        batch: dict,
        until: datetime,
        archives: _Archives,
        credentials: dict[str, str],
        client_options: dict,
    ) -> Iterator[tuple[str, RecordedPage]]:
        # Instagram cannot search: it looks up its configured candidate handles instead
        terms = [None] if platform == "instagram" else [batch["tags"], batch["keywords"]]
        return PACKAGE_LIVE[platform].fetch_discovery_pages(
            getattr(sources, platform),
            *terms,
            until,
            archives,
            credentials,
            quota_path=archives.quota_path,
            **client_options,
        )

    return pages


DISCOVERY_PAGES = {
    "mastodon": _mastodon_discovery_pages,
    "bluesky": _bluesky_discovery_pages,
    **{platform: _package_discovery_pages(platform) for platform in PACKAGE_LIVE},
}


def extract_live_discovery(
    sources: Sources,
    batch: dict,
    data_dir: Path,
    interval_start: datetime,
    interval_end: datetime,
    run_id: str,
    task: str,
    credentials: dict[str, str] | None = None,
    attempt: int = 1,
    **client_options: object,
) -> ExtractSummary:
    """Read one discovery batch (see ``plan_live_discovery``), archive the pages, land the
    sightings. ``credentials``: the platform's secrets (see ``extract_live_batch``);
    ``attempt``: Airflow's try number."""
    from ingest.extract import DISCOVERY_MAPPERS

    platform = batch["platform"]
    if platform not in DISCOVERY_PAGES:
        raise ValueError(f"no live discovery for platform {platform!r}")
    archives = _Archives(data_dir, platform, interval_start.date(), run_id, task, attempt)
    pages = DISCOVERY_PAGES[platform](
        sources, batch, interval_end, archives, credentials or {}, client_options
    )
    return _land_pages(
        platform,
        pages,
        DISCOVERY_MAPPERS[platform],
        archives,
        data_dir,
        interval_start,
        run_id,
        attempt_name(task, attempt),
    )


def _land_pages(
    platform: str,
    pages: Iterator[tuple[str, RecordedPage]],
    mappers: dict[str, Callable[[RecordedPage, MappedBatch], None]],
    archives: _Archives,
    data_dir: Path,
    interval_start: datetime,
    run_id: str,
    task: str,
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
        summary.stopped = f"{exc} ({dropped} posts of the cut batch left for the next run)"
        log.warning("%s: stopped early, %s", platform, summary.stopped)
    archives.close()
    summary.add(batch, land_batch(batch, data_dir / "landing", interval_start.date(), run_id, task))
    log.info("fetched %s: %s pages, rows %s", platform, summary.pages, summary.rows)
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
    credentials: dict[str, str] | None = None,
    attempt: int = 1,
    **client_options: object,
) -> ExtractSummary:
    """Fetch, archive, map and land one batch; ``since`` says how far back per account.

    ``attempt`` is Airflow's try number. A retried task resumes: the pages its former
    tries archived are replayed, not fetched again; each try writes its own archive and
    landing files, so nothing a former try landed is ever rewritten.
    ``client_options`` go to the platform client (timeouts and retries, in tests).

    ``credentials``: for Mastodon an access token per instance, if any (public data needs
    none); for the other platforms their keys (see ``dags/_radar.py: CONNECTION_FIELDS``).
    They go into request headers or query only: never into the archive, a log or the
    warehouse.
    """
    archives = _Archives(data_dir, platform, interval_start.date(), run_id, task, attempt)
    if platform == "mastodon":
        pages = _mastodon_pages(
            sources.mastodon,
            accounts,
            since,
            interval_end,
            archives,
            credentials or {},
            client_options,
        )
    elif platform == "bluesky":
        pages = _bluesky_pages(
            sources.bluesky, accounts, since, interval_end, archives, client_options
        )
    elif platform in PACKAGE_LIVE:
        pages = PACKAGE_LIVE[platform].fetch_pages(
            getattr(sources, platform),
            accounts,
            since,
            interval_end,
            archives,
            credentials or {},
            quota_path=archives.quota_path,
            **client_options,
        )
    else:
        raise ValueError(f"no live client for platform {platform!r}")
    landing_task = attempt_name(task, attempt)
    return _land_pages(
        platform, pages, MAPPERS[platform], archives, data_dir, interval_start, run_id, landing_task
    )
