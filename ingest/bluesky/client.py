"""Bluesky AppView client: batched profiles and cursor-paged author feeds.

The public AppView needs no token; counts come from the server's own view.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

from ingest.canonical import to_naive_utc
from ingest.http import PlatformClient, RateLimiter, RawArchive, bluesky_rate_limit
from ingest.pages import RecordedPage

PUBLIC_APPVIEW = "https://public.api.bsky.app"
PROFILES_PER_REQUEST = 25  # getProfiles' maximum
FEED_PAGE_SIZE = 100  # getAuthorFeed's maximum


class BlueskyClient(PlatformClient):
    def __init__(
        self,
        base_url: str = PUBLIC_APPVIEW,
        archive: RawArchive | None = None,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        **kwargs,
    ) -> None:
        extra = {k: v for k, v in (("clock", clock), ("sleep", sleep)) if v is not None}
        if sleep is not None:
            kwargs["sleep"] = sleep
        super().__init__(
            "bluesky", base_url, RateLimiter(bluesky_rate_limit, **extra), archive, **kwargs
        )

    def profiles(self, actors: list[str]) -> Iterator[RecordedPage]:
        """One page per 25 handles or DIDs."""
        for start in range(0, len(actors), PROFILES_PER_REQUEST):
            chunk = actors[start : start + PROFILES_PER_REQUEST]
            yield self.get(
                "/xrpc/app.bsky.actor.getProfiles", params=[("actors", a) for a in chunk]
            )

    def author_feed(self, actor: str, since: datetime) -> Iterator[RecordedPage]:
        """Newest first, until the cursor runs out or a page reaches back past ``since``.

        Pages can be short or even empty after moderation and still carry a cursor, so
        only the cursor and the items' server times decide when to stop.
        """
        params = {"actor": actor, "limit": FEED_PAGE_SIZE, "filter": "posts_with_replies"}
        while True:
            page = self.get("/xrpc/app.bsky.feed.getAuthorFeed", params=params)
            yield page
            body = json.loads(page.body)
            times = [t for t in map(_indexed_at, body.get("feed", [])) if t is not None]
            if not body.get("cursor") or (times and min(times) < since):
                return
            params = {**params, "cursor": body["cursor"]}


def _indexed_at(item: object) -> datetime | None:
    try:
        return to_naive_utc(datetime.fromisoformat(item["post"]["indexedAt"]))  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None
