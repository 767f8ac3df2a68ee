"""A recorded feed day aged back into the weeks before it, as daily runs would have
recorded them: ``make demo``'s history (``fixtures/demo-history``).

    python -m synthetic.history --feed fixtures/demo --day 2026-11-20 --days 35 \\
        --out fixtures/demo-history

Every page of the recorded day is written again for each earlier day, fetched at the same
time of day, in the same native shape, holding only what existed then:

- follower counts shrink back from the recorded value by a steady growth of 0.1-0.6 % a
  day per account (seeded by its id), with a little day-to-day noise; ``SPIKES`` plants a
  one-day jump; hidden and missing counts stay hidden and missing;
- posts appear from the moment they were created (Bluesky: indexed); the first day lists
  every post before it, later days the posts of the last ``LOOKBACK_DAYS`` days, as a
  daily run's re-read would; Instagram's listing keeps its newest 25 and TikTok's query
  its 30 days;
- a post's counts grow with its age, ``1 - exp(-age / 1.5 days)`` of what the recorded day
  shows, so every re-read records a little more engagement;
- malformed records and truncated pages of the recorded day are not copied back.

The recorded day itself is linked in (``dt=<day>`` directories are symlinks into the
feed), so the history and the day replay as one feed. The output is the same bytes on
every machine.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

LOOKBACK_DAYS = 7
ENGAGEMENT_DAYS = 1.5
# account id → (first day with the jump, followers gained that day as a share)
SPIKES = {"109304651120675501": (date(2026, 11, 3), 0.45)}

Page = dict[str, Any]


def parse_time(value: Any) -> datetime | None:
    """An API's timestamp as aware UTC: ISO 8601 with Z or an offset, or epoch seconds."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Aging:
    """One history day: what its pages hold, given the recorded day's."""

    def __init__(self, recorded_day: date, day: date, first: bool) -> None:
        self.days_back = (recorded_day - day).days
        self.day, self.first = day, first

    def shift(self, recorded: datetime) -> datetime:
        return recorded - timedelta(days=self.days_back)

    def followers(self, account: str, recorded: int) -> int:
        growth = random.Random(f"growth:{account}").uniform(0.001, 0.006)
        noise = random.Random(f"noise:{account}:{self.day}").uniform(-0.0005, 0.0005)
        value = recorded / (1 + growth) ** self.days_back * (1 + noise)
        spike = SPIKES.get(account)
        if spike and self.day < spike[0]:
            value /= 1 + spike[1]
        return round(value)

    def visible(self, created: datetime | None, fetched: datetime, window: bool = True) -> bool:
        """Created before this day's fetch, and in the re-read window unless it is the
        first day (a first walk reads everything)."""
        if created is None or created >= fetched:
            return False
        return self.first or not window or created >= fetched - timedelta(days=LOOKBACK_DAYS)

    def count(self, value: Any, created: datetime, recorded_fetch: datetime) -> Any:
        """A post's count as this day's fetch would have read it."""
        if value is None or isinstance(value, bool):
            return value
        then = (self.shift(recorded_fetch) - created).total_seconds() / 86400
        now = (recorded_fetch - created).total_seconds() / 86400
        share = (1 - math.exp(-then / ENGAGEMENT_DAYS)) / (1 - math.exp(-now / ENGAGEMENT_DAYS))
        aged = round(int(value) * min(1.0, share))
        return str(aged) if isinstance(value, str) else aged


def _scale(obj: dict, keys: tuple[str, ...], aging: Aging, created: datetime, fetched: datetime):
    for key in keys:
        if key in obj:
            obj[key] = aging.count(obj[key], created, fetched)


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in params] + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query, safe=":@,")))


# --- Mastodon ---------------------------------------------------------------------------


def _mastodon_account(account: dict, aging: Aging) -> dict:
    aged = copy.deepcopy(account)
    if isinstance(aged.get("followers_count"), int) and aged["followers_count"] >= 0:
        aged["followers_count"] = aging.followers(aged["id"], aged["followers_count"])
    return aged


def mastodon_lookup(pages: list[Page], aging: Aging) -> list[Page]:
    return [_page(p, aging, _mastodon_account(p["response"]["body"], aging)) for p in pages]


def mastodon_statuses(pages: list[Page], aging: Aging) -> list[Page]:
    recorded = [p for p in pages if isinstance(p["response"].get("body"), list)]
    if not recorded:
        return []
    fetched = parse_time(recorded[0]["fetched_at"])
    counts = ("replies_count", "reblogs_count", "favourites_count", "quotes_count")
    statuses = []
    for status in (s for p in recorded for s in p["response"]["body"]):
        created = parse_time(status.get("created_at"))
        if not aging.visible(created, aging.shift(fetched)):
            continue
        status = copy.deepcopy(status)
        status["account"] = _mastodon_account(status["account"], aging)
        _scale(status, counts, aging, created, fetched)
        if status.get("reblog"):
            original = status["reblog"]
            original["account"] = _mastodon_account(original["account"], aging)
            _scale(original, counts, aging, parse_time(original["created_at"]), fetched)
        statuses.append(status)
    first_url = recorded[0]["request"]["url"]
    out = []
    for n in range(0, max(len(statuses), 1), 40):
        chunk = statuses[n : n + 40]
        url = first_url if n == 0 else _with_query(first_url, max_id=statuses[n - 1]["id"])
        page = _page(recorded[0], aging, chunk, url=url, offset=n // 40)
        if len(statuses) > n + 40:
            nxt = _with_query(first_url, max_id=chunk[-1]["id"])
            page["response"]["headers"]["link"] = f'<{nxt}>; rel="next"'
        out.append(page)
    return out


# --- Bluesky ----------------------------------------------------------------------------


def bluesky_profiles(pages: list[Page], aging: Aging) -> list[Page]:
    out = []
    for page in pages:
        body = copy.deepcopy(page["response"]["body"])
        for profile in body["profiles"]:
            if isinstance(profile.get("followersCount"), int):
                profile["followersCount"] = aging.followers(
                    profile["did"], profile["followersCount"]
                )
        out.append(_page(page, aging, body))
    return out


def bluesky_author_feed(pages: list[Page], aging: Aging) -> list[Page]:
    fetched = parse_time(pages[0]["fetched_at"])
    counts = ("replyCount", "repostCount", "likeCount", "quoteCount", "bookmarkCount")
    feed = []
    for item in (i for p in pages for i in p["response"]["body"].get("feed", [])):
        post = item.get("post", {})
        if "uri" not in post:
            continue
        shown = parse_time(item.get("reason", post).get("indexedAt"))
        if not aging.visible(shown, aging.shift(fetched)):
            continue
        item = copy.deepcopy(item)
        _scale(item["post"], counts, aging, parse_time(item["post"]["indexedAt"]), fetched)
        feed.append(item)
    return [_page(pages[0], aging, {"feed": feed})]


# --- YouTube ----------------------------------------------------------------------------


def youtube_channels(pages: list[Page], aging: Aging) -> list[Page]:
    out = []
    for page in pages:
        body = copy.deepcopy(page["response"]["body"])
        for channel in body["items"]:
            stats = channel["statistics"]
            if "subscriberCount" in stats and not stats.get("hiddenSubscriberCount"):
                aged = aging.followers(channel["id"], int(stats["subscriberCount"]))
                # YouTube shows subscribers to three significant figures
                digits = max(len(str(aged)) - 3, 0)
                stats["subscriberCount"] = str(round(aged, -digits))
        out.append(_page(page, aging, body))
    return out


def _video_time(item: dict) -> datetime | None:
    details = item.get("contentDetails", {})
    return parse_time(details.get("videoPublishedAt") or item.get("snippet", {}).get("publishedAt"))


def youtube_playlist_items(pages: list[Page], aging: Aging) -> list[Page]:
    out = []
    for page in pages:
        body = copy.deepcopy(page["response"]["body"])
        fetched = aging.shift(parse_time(page["fetched_at"]))
        body["items"] = [i for i in body["items"] if aging.visible(_video_time(i), fetched)]
        out.append(_page(page, aging, body))
    return out


def youtube_videos(pages: list[Page], aging: Aging) -> list[Page]:
    out = []
    for page in pages:
        recorded_fetch = parse_time(page["fetched_at"])
        body = copy.deepcopy(page["response"]["body"])
        kept = []
        for video in body["items"]:
            created = _video_time(video)
            if aging.visible(created, aging.shift(recorded_fetch)):
                _scale(
                    video["statistics"],
                    ("viewCount", "likeCount", "commentCount"),
                    aging,
                    created,
                    recorded_fetch,
                )
                kept.append(video)
        if not kept:  # no new upload: a run asks for no statistics
            continue
        body["items"] = kept
        body["pageInfo"] = {"totalResults": len(kept), "resultsPerPage": len(kept)}
        url = _with_query(page["request"]["url"], id=",".join(v["id"] for v in kept))
        out.append(_page(page, aging, body, url=url))
    return out


# --- Instagram, TikTok ------------------------------------------------------------------


def instagram_business_discovery(pages: list[Page], aging: Aging) -> list[Page]:
    out = []
    for page in pages:
        recorded_fetch = parse_time(page["fetched_at"])
        body = copy.deepcopy(page["response"]["body"])
        account = body["business_discovery"]
        if isinstance(account.get("followers_count"), int):
            account["followers_count"] = aging.followers(account["id"], account["followers_count"])
        media = []
        for item in account.get("media", {}).get("data", []):
            created = parse_time(item.get("timestamp", "").replace("+0000", "+00:00"))
            # the listing is the newest 25 whatever their age: no re-read window
            if aging.visible(created, aging.shift(recorded_fetch), window=False):
                _scale(item, ("like_count", "comments_count"), aging, created, recorded_fetch)
                media.append(item)
        if "media" in account:
            account["media"]["data"] = media[:25]
        out.append(_page(page, aging, body))
    return out


def tiktok_user_info(pages: list[Page], aging: Aging) -> list[Page]:
    out = []
    for page in pages:
        body = copy.deepcopy(page["response"]["body"])
        data = body["data"]
        if isinstance(data.get("follower_count"), int):
            account = page["request"]["body"]["username"]
            data["follower_count"] = aging.followers(account, data["follower_count"])
        out.append(_page(page, aging, body))
    return out


def tiktok_video_query(pages: list[Page], aging: Aging) -> list[Page]:
    out = []
    for page in pages:
        recorded_fetch = parse_time(page["fetched_at"])
        request = copy.deepcopy(page["request"])
        start = datetime.strptime(request["body"]["start_date"], "%Y%m%d").replace(tzinfo=UTC)
        start = aging.shift(start)
        end_day = aging.shift(recorded_fetch).date() - timedelta(days=1)
        request["body"]["start_date"] = f"{start:%Y%m%d}"
        request["body"]["end_date"] = f"{end_day:%Y%m%d}"
        body = copy.deepcopy(page["response"]["body"])
        videos = []
        for video in body["data"]["videos"]:
            created = parse_time(video["create_time"])
            if created >= start and aging.visible(created, aging.shift(recorded_fetch), False):
                counts = ("view_count", "like_count", "comment_count", "share_count")
                _scale(video, counts, aging, created, recorded_fetch)
                videos.append(video)
        body["data"]["videos"] = videos
        body["data"]["cursor"] = len(videos)
        aged = _page(page, aging, body)
        aged["request"] = request
        out.append(aged)
    return out


ENDPOINTS: dict[tuple[str, str], Callable[[list[Page], Aging], list[Page]]] = {
    ("mastodon", "accounts_lookup"): mastodon_lookup,
    ("mastodon", "account_statuses"): mastodon_statuses,
    ("bluesky", "get_profiles"): bluesky_profiles,
    ("bluesky", "get_author_feed"): bluesky_author_feed,
    ("youtube", "channels"): youtube_channels,
    ("youtube", "playlist_items"): youtube_playlist_items,
    ("youtube", "videos"): youtube_videos,
    ("instagram", "business_discovery"): instagram_business_discovery,
    ("tiktok", "user_info"): tiktok_user_info,
    ("tiktok", "video_query"): tiktok_video_query,
}


def _page(recorded: Page, aging: Aging, body: Any, url: str | None = None, offset: int = 0):
    """The recorded page fetched ``aging.days_back`` days earlier with ``body``; the
    headers that name the fetch's instant (date, rate-limit reset, request id) and its
    paging are left out."""
    fetched = aging.shift(parse_time(recorded["fetched_at"])) + timedelta(seconds=offset)
    headers = {
        k: v
        for k, v in recorded["response"]["headers"].items()
        if k in ("content-type", "x-app-usage")
    }
    request = copy.deepcopy(recorded["request"])
    if url:
        request["url"] = url
    return {
        "fetched_at": fetched.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "request": request,
        "response": {"status": 200, "headers": headers, "body": body},
    }


def recorded_files(feed: Path, day: date) -> Iterator[tuple[str, str, Path]]:
    for path in sorted(feed.glob(f"*/*/dt={day.isoformat()}/*.jsonl")):
        yield path.parent.parent.parent.name, path.parent.parent.name, path


def write_history(feed: Path, day: date, days: int, out: Path) -> int:
    """Write ``days`` days before ``day`` into ``out``, one file per endpoint and day, and
    link ``day`` itself; returns the pages written."""
    first_day = day - timedelta(days=days)
    history: dict[Path, list[Page]] = {}
    for platform, endpoint, path in recorded_files(feed, day):
        age = ENDPOINTS.get((platform, endpoint))
        if age is None:
            raise ValueError(f"no history for {platform}/{endpoint} ({path})")
        pages = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        pages = [p for p in pages if "body" in p["response"]]  # a truncated page: body_text
        for n in range(days if pages else 0):
            history_day = first_day + timedelta(days=n)
            target = out / platform / endpoint / f"dt={history_day.isoformat()}" / "history.jsonl"
            history.setdefault(target, []).extend(age(pages, Aging(day, history_day, n == 0)))
        link = out / platform / endpoint / f"dt={day.isoformat()}"
        if not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(os.path.relpath(path.parent, link.parent), target_is_directory=True)
    for target, pages in history.items():
        if pages:
            target.parent.mkdir(parents=True, exist_ok=True)
            lines = [json.dumps(p, ensure_ascii=False) for p in pages]
            target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sum(len(pages) for pages in history.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synthetic.history", description=__doc__)
    parser.add_argument("--feed", type=Path, required=True, help="the recorded feed")
    parser.add_argument("--day", type=date.fromisoformat, required=True, help="its day")
    parser.add_argument("--days", type=int, default=35, help="days of history before it")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    for platform_dir in args.out.iterdir() if args.out.is_dir() else []:
        if platform_dir.is_dir():  # a rerun writes the history afresh; MANIFEST.md stays
            shutil.rmtree(platform_dir)
    pages = write_history(args.feed, args.day, args.days, args.out)
    print(f"wrote {pages} pages for {args.days} days before {args.day} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
