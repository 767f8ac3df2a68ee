"""YouTube Data API v3 client: channels, uploads-playlist walks, video statistics, search.

The API key travels as the ``key`` query parameter. ``redact_url`` replaces it before a
URL is archived or raised, and the filter ``ingest.http`` puts on the ``httpx`` logger
(installed by every ``PlatformClient``) does the same for its request log line, which
would otherwise print the full URL.

There are no rate-limit headers. The signals live in the body of a 403: ``quotaExceeded``
(the project's daily units are spent, until midnight Pacific) and ``rateLimitExceeded`` /
``userRateLimitExceeded`` (a short burst limit). Units are counted client side with a
``DailyQuota`` so a run stops before the API has to refuse it.

A key or project the API refuses outright (an invalid or expired key, a key restricted
away from the YouTube Data API or from this caller, the API not enabled for the project)
raises ``YouTubeAccessError``: every request would fail the same way, so the task stops
instead of spending a unit per channel on rejects. Errors about one resource
(``playlistNotFound``, a forbidden video) stay definitive 4xx pages the mapping rejects.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import httpx
from pydantic import ValidationError

from ingest.http import (
    DailyQuota,
    PlatformClient,
    QuotaExhausted,
    RateLimiter,
    RawArchive,
    Retryable,
)
from ingest.pages import RecordedPage
from ingest.youtube.models import ErrorBody
from radar.canonical import to_naive_utc
from radar.errors import PermanentError

API_BASE = "https://www.googleapis.com/youtube/v3"
IDS_PER_REQUEST = 50  # channels.list and videos.list take at most 50 ids
PAGE_SIZE = 50  # maxResults' maximum
UNITS_PER_DAY = 10_000  # the default project quota
QUOTA_TZ = "America/Los_Angeles"  # the quota resets at midnight Pacific
# quota units per request
COSTS = {"channels": 1, "playlist_items": 1, "videos": 1, "search": 100}
CHANNEL_PARTS = "snippet,statistics,contentDetails"
# paidProductPlacementDetails: the creator's "includes paid promotion" flag (no extra quota:
# videos.list costs 1 unit whatever its parts)
VIDEO_PARTS = "snippet,statistics,paidProductPlacementDetails"
# dailyLimitExceeded is the older spelling of a spent daily quota
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
# reasons that refuse the key or the project, whatever was asked: ``errors[].reason``
# (keyInvalid...) and the google.rpc.ErrorInfo ``details[].reason`` (API_KEY_INVALID...);
# a bare ``forbidden`` is not one of them (it is also what a single forbidden resource says)
KEY_REASONS = frozenset(
    {
        "keyInvalid",
        "keyExpired",
        "API_KEY_INVALID",
        "API_KEY_EXPIRED",
    }
)
KEY_BLOCKED_REASONS = frozenset(
    {
        "ipRefererBlocked",
        "API_KEY_SERVICE_BLOCKED",
        "API_KEY_HTTP_REFERRER_BLOCKED",
        "API_KEY_IP_ADDRESS_BLOCKED",
        "API_KEY_ANDROID_APP_BLOCKED",
        "API_KEY_IOS_APP_BLOCKED",
    }
)
PROJECT_REASONS = frozenset(
    {
        "accessNotConfigured",
        "SERVICE_DISABLED",
        "BILLING_DISABLED",
        "CONSUMER_SUSPENDED",
        "CONSUMER_INVALID",
    }
)
# the least wait after a burst-limit 403, which says nothing about how long to wait
RATE_LIMIT_WAIT = 5.0
_CHANNEL_ID = re.compile(r"^UC[0-9A-Za-z_-]{22}$")


class YouTubeAccessError(PermanentError):
    """The API key or its Google Cloud project is refused: every request would fail the
    same way, so the task stops with what to fix (never with the key). Not retried."""


def is_channel_id(account: str) -> bool:
    """``UC`` + 22 characters is a channel id; anything else is taken for a handle."""
    return bool(_CHANNEL_ID.match(account))


def error_reasons(body: bytes) -> list[str]:
    """The ``reason`` values of a Google API error body (``errors[]`` and ``details[]``)."""
    try:
        error = ErrorBody.model_validate_json(body).error
    except ValidationError:
        return []
    reasons = [e.reason for e in error.errors if e.reason]
    reasons += [d["reason"] for d in error.details if isinstance(d.get("reason"), str)]
    return reasons


def _no_rate_headers(headers: httpx.Headers) -> tuple[int | None, float | None]:
    """YouTube sends no rate-limit headers: the limiter never has a window to wait for."""
    return None, None


def _published_at(item: object) -> datetime | None:
    """A playlist item's ``videoPublishedAt`` (not ``snippet.publishedAt``, which is when
    the video was added to the playlist); None for private or deleted videos."""
    try:
        stamp = item["contentDetails"]["videoPublishedAt"]  # type: ignore[index]
        return to_naive_utc(datetime.fromisoformat(stamp))
    except (KeyError, TypeError, ValueError):
        return None


def uploaded_videos(page: RecordedPage, since: datetime) -> list[str]:
    """Ids of the videos on an uploads-playlist page published at or after ``since``."""
    ids = []
    for item in json.loads(page.body).get("items", []):
        published = _published_at(item)
        if published is not None and published >= since:
            ids.append(item["contentDetails"]["videoId"])
    return ids


def _rfc3339(value: datetime) -> str:
    return to_naive_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


class YouTubeClient(PlatformClient):
    def __init__(
        self,
        base_url: str = API_BASE,
        archive: RawArchive | None = None,
        *,
        api_key: str,
        quota: DailyQuota | None = None,
        units_per_day: int = UNITS_PER_DAY,
        rate_limit_wait: float = RATE_LIMIT_WAIT,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        **kwargs,
    ) -> None:
        if not api_key:
            raise ValueError("the YouTube Data API needs an API key")
        extra = {k: v for k, v in (("clock", clock), ("sleep", sleep)) if v is not None}
        if sleep is not None:
            kwargs["sleep"] = sleep
        if quota is None:  # an in-memory budget: still stops a runaway walk
            quota = DailyQuota("youtube", units_per_day, QUOTA_TZ, clock=clock or time.time)
        super().__init__(
            "youtube",
            base_url,
            RateLimiter(_no_rate_headers, **extra),
            archive,
            quota=quota,
            **kwargs,
        )
        self._key = api_key
        self.rate_limit_wait = rate_limit_wait

    def _get(self, path: str, params: list[tuple[str, str | int]], cost: int) -> RecordedPage:
        return self.get(path, params=[*params, ("key", self._key)], cost=cost)

    def check_response(self, status: int, headers: httpx.Headers, body: bytes) -> None:
        """A spent daily quota raises ``QuotaExhausted``, a burst limit is retried, a
        refused key or project raises ``YouTubeAccessError``; any other 4xx (about one
        channel, playlist or video) goes on as a definitive page the mapping rejects."""
        if status < 400:
            return
        reasons = error_reasons(body)
        self._check_access(status, reasons)
        if status not in (403, 429):
            return
        if QUOTA_REASONS.intersection(reasons):
            assert self.quota is not None
            self.quota.exhaust()
            raise QuotaExhausted(
                "youtube", self.quota.resets_at(), f"HTTP {status} quotaExceeded from YouTube"
            )
        if RATE_REASONS.intersection(reasons):
            reason = next(r for r in reasons if r in RATE_REASONS)
            raise Retryable(f"HTTP {status} {reason}", wait=self.rate_limit_wait)

    def _check_access(self, status: int, reasons: list[str]) -> None:
        def refused(kind: frozenset[str]) -> str | None:
            found = [r for r in dict.fromkeys(reasons) if r in kind]
            return ", ".join(found) if found else None

        if reason := refused(KEY_REASONS):
            fix = (
                "the API key is not valid (mistyped, deleted or expired): put a valid key "
                "for the YouTube Data API v3 in the radar_youtube connection's password"
            )
        elif reason := refused(KEY_BLOCKED_REASONS):
            fix = (
                "the API key's restrictions refuse this call: in Google Cloud Console, "
                "Credentials, allow the YouTube Data API v3 under the key's API "
                "restrictions and set its application restrictions to None or to this "
                "server's IP address"
            )
        elif reason := refused(PROJECT_REASONS):
            fix = (
                "the key's Google Cloud project cannot use the YouTube Data API v3: "
                "enable the API for the project (APIs & Services, Library) or check that "
                "the project is not suspended"
            )
        else:
            return
        message = f"YouTube refused the API key (HTTP {status} {reason}): {fix}"
        raise YouTubeAccessError(message.replace(self._key, "REDACTED"))

    def channels_by_id(self, ids: list[str]) -> RecordedPage:
        """Up to 50 channel ids in one request; unknown ids are simply missing from items."""
        if len(ids) > IDS_PER_REQUEST:
            raise ValueError(f"channels.list takes at most {IDS_PER_REQUEST} ids")
        params = [("part", CHANNEL_PARTS), ("id", ",".join(ids))]
        return self._get("/channels", params, COSTS["channels"])

    def channel_by_handle(self, handle: str) -> RecordedPage:
        """One handle per request (``forHandle`` takes a single value)."""
        handle = handle if handle.startswith("@") else f"@{handle}"
        params = [("part", CHANNEL_PARTS), ("forHandle", handle)]
        return self._get("/channels", params, COSTS["channels"])

    def channels(self, ids: list[str]) -> Iterator[RecordedPage]:
        for start in range(0, len(ids), IDS_PER_REQUEST):
            yield self.channels_by_id(ids[start : start + IDS_PER_REQUEST])

    def uploads(self, playlist_id: str, since: datetime) -> Iterator[RecordedPage]:
        """An uploads playlist, newest first, until ``nextPageToken`` runs out or comes
        back as a token already followed, or a page reaches back past ``since`` (naive
        UTC) by ``videoPublishedAt``.

        A page of only private or deleted videos has no times and does not stop the walk.
        """
        params: list[tuple[str, str | int]] = [
            ("part", "contentDetails"),
            ("playlistId", playlist_id),
            ("maxResults", PAGE_SIZE),
        ]
        token, followed = None, set()
        while True:
            extra = [("pageToken", token)] if token else []
            page = self._get("/playlistItems", params + extra, COSTS["playlist_items"])
            yield page
            body = json.loads(page.body)
            times = [t for t in map(_published_at, body.get("items", [])) if t is not None]
            followed.add(token)
            token = body.get("nextPageToken")
            # a token that does not move would ask for the same page (and unit) forever
            if not token or token in followed or (times and min(times) < since):
                return

    def videos(self, ids: list[str]) -> RecordedPage:
        """Snippet and statistics of up to 50 videos in one request."""
        if len(ids) > IDS_PER_REQUEST:
            raise ValueError(f"videos.list takes at most {IDS_PER_REQUEST} ids")
        params = [("part", VIDEO_PARTS), ("id", ",".join(ids))]
        return self._get("/videos", params, COSTS["videos"])

    def search(
        self,
        query: str,
        kind: str = "video",
        max_pages: int = 1,
        published_after: datetime | None = None,
        order: str = "date",
        region_code: str | None = None,
        relevance_language: str | None = None,
    ) -> Iterator[RecordedPage]:
        """search.list, at most ``max_pages`` pages: each costs 100 units, so discovery
        spends a known budget per term. Stops early when ``nextPageToken`` runs out or
        repeats a token already followed."""
        params: list[tuple[str, str | int]] = [
            ("part", "snippet"),
            ("q", query),
            ("type", kind),
            ("order", order),
            ("maxResults", PAGE_SIZE),
        ]
        if published_after is not None:
            params.append(("publishedAfter", _rfc3339(published_after)))
        if region_code:
            params.append(("regionCode", region_code))
        if relevance_language:
            params.append(("relevanceLanguage", relevance_language))
        token, followed = None, set()
        for _ in range(max_pages):
            extra = [("pageToken", token)] if token else []
            page = self._get("/search", params + extra, COSTS["search"])
            yield page
            followed.add(token)
            token = json.loads(page.body).get("nextPageToken")
            if not token or token in followed:
                return
