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

from datetime import timedelta

from ingest.connector import DiscoveryBatch, FetchContext, LiveBatch, Pages
from ingest.tiktok.client import TikTokClient
from ingest.tiktok.settings import TikTokSources
from ingest.walk import as_pages, walk


def _username(account: str) -> str:
    return account.strip().lstrip("@")


def fetch(sources: TikTokSources, batch: LiveBatch, ctx: FetchContext) -> Pages:
    """Each account's profile (``user_info``), then its videos from ``batch.since[account]``
    to the interval's end (``video_query``). An unknown or refused account ends as its archived 400
    page, which the mapping rejects, and its videos are not asked for. A video window
    the API refuses is yielded as its error page (a reject) and the older windows are
    still walked.
    """
    until = ctx.until
    with _client(sources, ctx) as client:
        for account in batch.accounts:
            username = _username(account)
            client.archive = ctx.archives("user_info")
            profile = yield from walk("user_info", as_pages(client.user_info), username)
            if profile is None:
                continue
            client.archive = ctx.archives("video_query")
            since = batch.since[account]
            yield from walk("video_query", client.user_videos, username, since, until)


def discover(sources: TikTokSources, batch: DiscoveryBatch, ctx: FetchContext) -> Pages:
    """Recent videos per hashtag and per keyword (``video_search``), each capped at
    ``max_pages_per_term`` pages of the last ``discovery_days`` before the interval's end."""
    until = ctx.until
    since = until - timedelta(days=sources.discovery_days)
    cap, regions = sources.max_pages_per_term, sources.region_codes
    with _client(sources, ctx) as client:
        client.archive = ctx.archives("video_search")
        for tag in batch.tags:
            yield from walk("video_search", client.hashtag_videos, tag, since, until, cap, regions)
        for keyword in batch.keywords:
            yield from walk(
                "video_search", client.keyword_videos, keyword, since, until, cap, regions
            )


def _client(sources: TikTokSources, ctx: FetchContext) -> TikTokClient:
    return TikTokClient(
        sources.base_url,
        credentials=ctx.credentials,
        observe_before=ctx.until,
        quota_path=ctx.quota_path,
        daily_requests=sources.daily_requests,
        **ctx.client_options,
    )
