"""Live fetching from the TikTok Research API: tracked accounts and discovery terms.

Credentials are ``{"client_key": ..., "client_secret": ...}``. They go to the token
request only; the access token goes into the Authorization header only. Neither reaches
an archive, a log line, a landing file or a table.

The daily budget (1,000 requests, reset at 00:00 UTC) is a ledger at ``quota_path``
shared by every task on the machine; when it is spent ``QuotaExhausted`` propagates, and
the caller lands what was fetched. A 429 that outlasts the throttle wait stops this task
the same way, but marks the shared ledger spent only late in the day (see
``TikTokClient._too_many``). Token requests spend nothing from the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ingest.http import RawArchive
from ingest.pages import RecordedPage
from ingest.tiktok.client import DAILY_REQUESTS, RESEARCH_API, WINDOW_DAYS, TikTokClient
from ingest.walk import as_pages, walk


class TikTokSources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = RESEARCH_API
    # usernames (a leading "@" is dropped)
    accounts: list[str] = []
    # the client's whole daily budget; other tasks on the machine spend from the same ledger
    daily_requests: int = Field(default=DAILY_REQUESTS, ge=1)
    # discovery reads the newest ``discovery_days`` of a term, at most ``max_pages_per_term``
    # pages of 100 videos: a run costs at most terms x max_pages_per_term requests
    discovery_days: int = Field(default=7, ge=1, le=WINDOW_DAYS)
    max_pages_per_term: int = Field(default=2, ge=1)
    # restrict discovery to accounts registered in these regions (e.g. ["DE", "AT"])
    region_codes: list[str] = []


def _username(account: str) -> str:
    return account.strip().lstrip("@")


def fetch_pages(
    sources: TikTokSources,
    accounts: list[str],
    since: dict[str, datetime],
    until: datetime,
    archives: Callable[[str], RawArchive],
    credentials: dict[str, str],
    quota_path: Path | None = None,
    **client_options: object,
) -> Iterator[tuple[str, RecordedPage]]:
    """Each account's profile (``user_info``), then its videos from ``since[account]`` to
    ``until`` (``video_query``). An unknown or refused account ends as its archived 400
    page, which the mapping rejects, and its videos are not asked for. A video window
    the API refuses is yielded as its error page (a reject) and the older windows are
    still walked.

    ``client_options`` go to the client (timeouts, retries, clock and sleep in tests).
    """
    with TikTokClient(
        sources.base_url,
        credentials=credentials,
        observe_before=until,
        quota_path=quota_path,
        daily_requests=sources.daily_requests,
        **client_options,
    ) as client:
        for account in accounts:
            username = _username(account)
            client.archive = archives("user_info")
            profile = yield from walk("user_info", as_pages(client.user_info), username)
            if profile is None:
                continue
            client.archive = archives("video_query")
            yield from walk("video_query", client.user_videos, username, since[account], until)


def fetch_discovery_pages(
    sources: TikTokSources,
    tags: list[str],
    keywords: list[str],
    until: datetime,
    archives: Callable[[str], RawArchive],
    credentials: dict[str, str],
    quota_path: Path | None = None,
    **client_options: object,
) -> Iterator[tuple[str, RecordedPage]]:
    """Recent videos per hashtag and per keyword (``video_search``), each capped at
    ``max_pages_per_term`` pages of the last ``discovery_days`` before ``until``."""
    since = until - timedelta(days=sources.discovery_days)
    cap, regions = sources.max_pages_per_term, sources.region_codes
    with TikTokClient(
        sources.base_url,
        credentials=credentials,
        observe_before=until,
        quota_path=quota_path,
        daily_requests=sources.daily_requests,
        **client_options,
    ) as client:
        client.archive = archives("video_search")
        for tag in tags:
            yield from walk("video_search", client.hashtag_videos, tag, since, until, cap, regions)
        for keyword in keywords:
            yield from walk(
                "video_search", client.keyword_videos, keyword, since, until, cap, regions
            )
