"""Writes a synthetic world as a fixture feed, day by day, with its planted truth beside it.

Layout is the one ``ingest.fixture_source`` replays::

    <out>/<platform>/<endpoint>/dt=<day>/part-<n>.jsonl   recorded pages
    <out>/truth.csv                                        one row per account: its role
    <out>/world.json                                       the arguments and the totals

Posts created on day D are fetched on D+1 at 06:00 UTC, as a daily DAG run would, so the
feed of day D+1 holds them. Memory holds the accounts and two days of posts, whatever the
number of days: the output streams to disk.
"""

from __future__ import annotations

import csv
import json
import os
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from synthetic import shapes
from synthetic.world import (
    Niche,
    SynthAccount,
    SynthPost,
    advance_followers,
    make_account,
    posts_for_day,
)

PLATFORMS = ("mastodon", "bluesky")
MASTODON_PAGE = 40
BLUESKY_FEED_PAGE = 100
BLUESKY_PROFILES_PAGE = 25
BLUESKY_POSTS_PAGE = 25
BOOST_CHANCE = 0.04
DELETE_CHANCE = 0.01


@dataclass
class Totals:
    accounts: int = 0
    posts: int = 0  # own posts, originals and replies
    boosts: int = 0
    deleted: int = 0
    pages: int = 0
    bytes: int = 0
    by_platform: dict[str, int] = field(default_factory=dict)


class _PartWriter:
    """One output file written under a temporary name, renamed when complete."""

    def __init__(self, path: Path, totals: Totals) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.tmp, self.totals = path, path.with_name(f".{path.name}.tmp"), totals
        self.handle: IO[str] = self.tmp.open("w", encoding="utf-8")

    def page(self, fetched_at: datetime, url: str, body: Any, headers: dict | None = None) -> None:
        line = json.dumps(
            {
                "fetched_at": shapes.iso(fetched_at),
                "request": {"method": "GET", "url": url},
                "response": {
                    "status": 200,
                    "headers": {
                        "content-type": "application/json; charset=utf-8",
                        **(headers or {}),
                    },
                    "body": body,
                },
            },
            ensure_ascii=False,
        )
        self.handle.write(line)
        self.handle.write("\n")
        self.totals.pages += 1
        self.totals.bytes += len(line) + 1

    def close(self) -> None:
        self.handle.close()
        os.replace(self.tmp, self.path)


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class SyntheticFeed:
    out: Path
    seed: int
    accounts: int
    days: int
    start: date
    niches: list[Niche]
    platforms: tuple[str, ...] = PLATFORMS
    posts_per_day: float = 1.0
    accounts_per_file: int = 1000
    progress: Callable[[str], None] | None = None
    totals: Totals = field(default_factory=Totals)

    def write(self) -> Totals:
        began = time.monotonic()
        worlds = {
            platform: [
                make_account(self.seed, platform, i, self.niches, self.days, self.posts_per_day)
                for i in range(self._count(platform))
            ]
            for platform in self.platforms
        }
        counters = {platform: [0] for platform in self.platforms}
        # recent posts anyone may boost; bounded so memory never grows with the days
        boostable = {platform: deque(maxlen=2000) for platform in self.platforms}
        yesterday: dict[str, list[SynthPost]] = {platform: [] for platform in self.platforms}
        boost_rng = random.Random(f"{self.seed}:boosts")
        for day_no in range(self.days):
            fetch_day = self.start + timedelta(days=day_no)
            for platform, accounts in worlds.items():
                created: list[SynthPost] = []
                by_account: dict[int, list] = {}
                for account in accounts:
                    advance_followers(account, day_no)
                    own = posts_for_day(account, fetch_day - timedelta(days=1), counters[platform])
                    created.extend(own)
                    by_account[account.index] = [("own", p) for p in own]
                    if boostable[platform] and boost_rng.random() < BOOST_CHANCE * account.rate:
                        by_account[account.index].append(
                            ("boost", boost_rng.choice(boostable[platform]))
                        )
                writer = self._mastodon_day if platform == "mastodon" else self._bluesky_day
                writer(fetch_day, accounts, by_account, yesterday[platform], counters[platform])
                boostable[platform].extend(p for p in created if not p.is_reply)
                yesterday[platform] = created
                self.totals.posts += len(created)
                self.totals.by_platform[platform] = self.totals.by_platform.get(platform, 0) + len(
                    created
                )
            if self.progress:
                elapsed = time.monotonic() - began
                self.progress(
                    f"day {day_no + 1}/{self.days} ({fetch_day}): {self.totals.posts:,} posts, "
                    f"{self.totals.bytes / 1e6:,.0f} MB, {elapsed:,.0f} s"
                )
        self.totals.accounts = sum(len(a) for a in worlds.values())
        self._write_truth(worlds)
        return self.totals

    def _count(self, platform: str) -> int:
        share = self.accounts // len(self.platforms)
        first = self.platforms[0] == platform
        return share + (self.accounts - share * len(self.platforms) if first else 0)

    @staticmethod
    def _fetched_at(day: date, account: SynthAccount, offset: int = 0) -> datetime:
        return datetime.combine(day, datetime.min.time()) + timedelta(
            hours=6, seconds=(account.index * 3 + offset) % 3600
        )

    def _part(self, platform: str, endpoint: str, day: date, n: int) -> _PartWriter:
        path = self.out / platform / endpoint / f"dt={day.isoformat()}" / f"part-{n:04d}.jsonl"
        return _PartWriter(path, self.totals)

    # --- Mastodon: one lookup page per account, then its new statuses, newest first ------

    def _mastodon_day(self, day, accounts, by_account, _yesterday, counter) -> None:
        for n, chunk in enumerate(_chunks(accounts, self.accounts_per_file)):
            lookups = self._part("mastodon", "accounts_lookup", day, n)
            statuses = self._part("mastodon", "account_statuses", day, n)
            for account in chunk:
                at = self._fetched_at(day, account)
                account_json = shapes.mastodon_account(account, at)
                base = f"https://{account.instance}/api/v1/accounts"
                lookups.page(at, f"{base}/lookup?acct={account.user}", account_json)
                items = []
                for kind, post in by_account[account.index]:
                    if kind == "own":
                        items.append(shapes.mastodon_status(post, account_json))
                        continue
                    self.totals.boosts += 1
                    counter[0] += 1
                    # served by the booster's instance: a remote author's acct has its domain
                    author = shapes.mastodon_account(post.author, at, seen_from=account.instance)
                    original = shapes.mastodon_status(post, author)
                    boost_at = post.created_at + timedelta(hours=1)
                    items.append(
                        shapes.mastodon_boost(account, account_json, original, boost_at, counter[0])
                    )
                items.sort(key=lambda s: s["created_at"], reverse=True)
                for page_no, page in enumerate(_chunks(items, MASTODON_PAGE)):
                    url = f"{base}/{account_json['id']}/statuses?limit={MASTODON_PAGE}"
                    if page_no:
                        url += f"&max_id={items[page_no * MASTODON_PAGE - 1]['id']}"
                    statuses.page(at + timedelta(seconds=page_no), url, page)
            lookups.close()
            statuses.close()

    # --- Bluesky: profiles in batches, author feeds, and a re-read that finds deletions --

    def _bluesky_day(self, day, accounts, by_account, yesterday, counter) -> None:
        xrpc = "https://public.api.bsky.app/xrpc"
        by_author: dict[int, list[SynthPost]] = {}
        for post in yesterday:
            by_author.setdefault(post.author.index, []).append(post)
        for n, chunk in enumerate(_chunks(accounts, self.accounts_per_file)):
            profiles = self._part("bluesky", "get_profiles", day, n)
            for batch in _chunks(chunk, BLUESKY_PROFILES_PAGE):
                at = self._fetched_at(day, batch[0])
                actors = "&".join(f"actors={shapes.did_of(a)}" for a in batch)
                body = {"profiles": [shapes.bluesky_profile(a) for a in batch]}
                profiles.page(at, f"{xrpc}/app.bsky.actor.getProfiles?{actors}", body)
            profiles.close()
            feeds = self._part("bluesky", "get_author_feed", day, n)
            rereads = self._part("bluesky", "get_posts", day, n)
            for account in chunk:
                at = self._fetched_at(day, account)
                items = []
                for kind, post in by_account[account.index]:
                    if kind == "own":
                        items.append({"post": shapes.bluesky_post_view(post)})
                        continue
                    self.totals.boosts += 1
                    counter[0] += 1
                    repost_at = post.created_at + timedelta(hours=1)
                    items.append(
                        shapes.bluesky_repost_item(
                            account, shapes.bluesky_post_view(post), repost_at, counter[0]
                        )
                    )
                items.sort(key=lambda i: i.get("reason", i["post"])["indexedAt"], reverse=True)
                did = shapes.did_of(account)
                for page_no, page in enumerate(_chunks(items, BLUESKY_FEED_PAGE)):
                    body: dict[str, Any] = {"feed": page}
                    if len(items) > (page_no + 1) * BLUESKY_FEED_PAGE:
                        body["cursor"] = page[-1]["post"]["indexedAt"]
                    url = f"{xrpc}/app.bsky.feed.getAuthorFeed?actor={did}&limit=100"
                    feeds.page(at + timedelta(seconds=page_no), url, body)
                self._bluesky_rereads(rereads, day, account, by_author.get(account.index, []))
            feeds.close()
            rereads.close()

    def _bluesky_rereads(self, part, day, account, posts: list[SynthPost]) -> None:
        """Yesterday's posts read again; a deleted one is missing from the answer."""
        at = self._fetched_at(day, account, offset=1800)
        for batch in _chunks(posts, BLUESKY_POSTS_PAGE):
            views = []
            for post in batch:
                if account.rng.random() < DELETE_CHANCE:
                    self.totals.deleted += 1
                    continue
                views.append(shapes.bluesky_post_view(post))
            uris = "&".join(f"uris={shapes.bluesky_uri(p)}" for p in batch)
            part.page(
                at,
                f"https://public.api.bsky.app/xrpc/app.bsky.feed.getPosts?{uris}",
                {"posts": views},
            )

    def _write_truth(self, worlds: dict[str, list[SynthAccount]]) -> None:
        with (self.out / "truth.csv").open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(
                [
                    "platform",
                    "account_id",
                    "handle",
                    "role",
                    "niche",
                    "followers_end",
                    "hidden_followers",
                ]
            )
            for platform, accounts in worlds.items():
                for a in accounts:
                    out.writerow(
                        [
                            platform,
                            a.key,
                            a.handle,
                            a.role.value,
                            a.niche.name if a.niche else "",
                            int(a.followers),
                            a.hidden_followers,
                        ]
                    )
        world = {
            "seed": self.seed,
            "accounts": self.accounts,
            "days": self.days,
            "start": self.start.isoformat(),
            "platforms": list(self.platforms),
            "posts_per_day": self.posts_per_day,
            "totals": self.totals.__dict__,
        }
        (self.out / "world.json").write_text(json.dumps(world, indent=2) + "\n")


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
