"""Bluesky AppView client: batched profiles, cursor-paged author feeds, and discovery.

The public AppView needs no token; counts come from the server's own view. Post search
does: since 2025 the public AppView answers ``searchPosts`` with 403, so it goes through
the user's PDS with a session from ``createSession`` (a handle and an app password).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime

import httpx

from ingest.http import (
    PlatformClient,
    RateLimiter,
    RawArchive,
    RetriesExhausted,
    Retryable,
    bluesky_rate_limit,
    retry_after_seconds,
    transient,
)
from ingest.pages import RecordedPage
from radar.canonical import to_naive_utc
from radar.errors import PermanentError

PUBLIC_APPVIEW = "https://public.api.bsky.app"
DEFAULT_PDS = "https://bsky.social"
PROFILES_PER_REQUEST = 25  # getProfiles' maximum
POSTS_PER_REQUEST = 25  # getPosts' maximum
FEED_PAGE_SIZE = 100  # getAuthorFeed's maximum
SEARCH_PAGE_SIZE = 100  # searchActors' and searchPosts' maximum


def is_session_token(secret: str) -> bool:
    """An access JWT (``eyJ….….…``) rather than an app password (``xxxx-xxxx-xxxx-xxxx``)."""
    return secret.startswith("eyJ") and secret.count(".") == 2


class BlueskyLoginError(PermanentError):
    """createSession refused the handle and app password (the password is never shown)."""


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

    def posts(self, uris: list[str]) -> RecordedPage:
        """Up to 25 posts by their at:// URIs; a deleted post is left out of the answer."""
        if len(uris) > POSTS_PER_REQUEST:
            raise ValueError(f"getPosts takes at most {POSTS_PER_REQUEST} uris")
        return self.get("/xrpc/app.bsky.feed.getPosts", params=[("uris", u) for u in uris])

    def use_session(self, access_jwt: str) -> None:
        """Use a session token made elsewhere (an access JWT) instead of logging in."""
        self._client.headers["Authorization"] = f"Bearer {access_jwt}"

    def login(self, identifier: str, app_password: str) -> None:
        """Open a session on this client's host (a PDS) for authenticated search.

        The request goes around the archive (its body holds the password) and the token
        lives only in this client's Authorization header.
        """
        try:
            token = self._retrying(self._login_once, identifier, app_password)
        except (Retryable, httpx.TransportError) as exc:
            raise RetriesExhausted(f"bluesky createSession for {identifier!r}: {exc}") from exc
        self._client.headers["Authorization"] = f"Bearer {token}"

    def _login_once(self, identifier: str, app_password: str) -> str:
        self.limiter.before_request()
        response = self._client.post(
            "/xrpc/com.atproto.server.createSession",
            json={"identifier": identifier, "password": app_password},
        )
        self.limiter.after_response(response.headers)
        if transient(response.status_code):
            raise Retryable(
                f"HTTP {response.status_code}", wait=retry_after_seconds(response.headers)
            )
        if response.status_code != 200:
            raise BlueskyLoginError(
                f"createSession for {identifier!r} answered HTTP {response.status_code}: "
                f"{response.text[:200]}"
            )
        try:
            return response.json()["accessJwt"]
        except (ValueError, KeyError) as exc:
            raise Retryable(f"createSession answer without a token: {exc}") from exc

    def search_actors(self, query: str, max_pages: int) -> Iterator[RecordedPage]:
        """Accounts matching ``query`` (name, handle, bio); no counts, so the caller follows
        up with ``profiles``."""
        yield from self._search("/xrpc/app.bsky.actor.searchActors", {"q": query}, max_pages)

    def search_posts(
        self, query: str, max_pages: int, tag: str | None = None
    ) -> Iterator[RecordedPage]:
        """Newest posts matching ``query``, or carrying ``tag`` (needs a session)."""
        params = {"q": query, "sort": "latest"}
        if tag is not None:
            params["tag"] = tag
        yield from self._search("/xrpc/app.bsky.feed.searchPosts", params, max_pages)

    def _search(self, path: str, params: dict, max_pages: int) -> Iterator[RecordedPage]:
        # the cursor "may not allow scrolling through the entire result set": cap the pages
        params = {**params, "limit": SEARCH_PAGE_SIZE}
        for _ in range(max_pages):
            page = self.get(path, params=params)
            yield page
            cursor = json.loads(page.body).get("cursor")
            if not cursor:
                return
            params = {**params, "cursor": cursor}


def _indexed_at(item: object) -> datetime | None:
    """The time that orders a feed item: a repost's own (``reason.indexedAt``), since its
    ``post`` is the original, which may be years older than the reposts and own posts
    around it; else the post's."""
    try:
        reason = item.get("reason")  # type: ignore[union-attr]
        stamp = reason.get("indexedAt") if isinstance(reason, dict) else None
        stamp = stamp or item["post"]["indexedAt"]  # type: ignore[index]
        return to_naive_utc(datetime.fromisoformat(stamp))
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
