"""Live fetching for YouTube: tracked channels, their recent uploads and video statistics,
and keyword/hashtag searches for discovery.

Every request spends from one ``DailyQuota`` (10,000 units a day by default, reset at
midnight Pacific; file-backed with ``quota_path`` so every task on the machine shares it).
A ``QuotaExhausted`` propagates: the caller lands what was fetched and reports it. So
does a ``YouTubeAccessError`` (a refused key or project), at the first request that
meets it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from ingest.connector import DiscoveryBatch, FetchContext, LiveBatch, Pages
from ingest.http import DailyQuota
from ingest.pages import RecordedPage
from ingest.walk import as_pages, walk
from ingest.youtube.client import (
    IDS_PER_REQUEST,
    QUOTA_TZ,
    YouTubeClient,
    is_channel_id,
    uploaded_videos,
)
from ingest.youtube.settings import YouTubeSources


def _api_key(credentials: Mapping[str, str]) -> str:
    key = credentials.get("api_key")
    if not key:
        raise ValueError("youtube: credentials need an 'api_key'")
    return key


def _client(sources: YouTubeSources, ctx: FetchContext) -> YouTubeClient:
    quota = DailyQuota("youtube", sources.units_per_day, QUOTA_TZ, path=ctx.quota_path)
    return YouTubeClient(
        sources.base_url,
        api_key=_api_key(ctx.credentials),
        quota=quota,
        observe_before=ctx.until,
        **ctx.client_options,
    )


def _uploads(page: RecordedPage | None) -> list[tuple[str, str]]:
    """(channel id, uploads playlist id) of every channel on a channels.list page."""
    if page is None:
        return []
    pairs = []
    for item in page.json().get("items", []):
        try:
            uploads = item["contentDetails"]["relatedPlaylists"]["uploads"]
        except (KeyError, TypeError):
            continue  # the mapping rejects a malformed item; nothing to walk
        if isinstance(item.get("id"), str) and uploads:
            pairs.append((item["id"], uploads))
    return pairs


def fetch(sources: YouTubeSources, batch: LiveBatch, ctx: FetchContext) -> Pages:
    """channels.list for every account (ids 50 a request, handles one by one), then each
    channel's uploads playlist back to ``batch.since[account]``, then videos.list for the videos
    found, 50 a request. Yields (endpoint, page); a definitive 4xx about one channel,
    playlist or video is yielded as its page, while a refused key or project raises
    ``YouTubeAccessError``.

    Last, ``recheck_videos``: videos.list, 50 a request, for the videos to recheck
    (``batch.recheck``) that the walks did not find; each one missing from its answer is
    gone (``mapping.map_recheck_videos``). Reading the playlist further back instead
    would cost its pages and then videos.list for every video on them. A channel that
    did not come back or whose playlist could not be read has none of its videos
    rechecked: that is no sign they were deleted."""
    accounts, since, archives = batch.accounts, batch.since, ctx.archives
    with _client(sources, ctx) as client:
        # channel id -> (uploads playlist, how far back); one walk per channel even when
        # it is tracked both by id and by handle
        walks: dict[str, tuple[str, datetime]] = {}
        # channel id -> the videos of its accounts to recheck
        recheck: dict[str, dict[str, None]] = {}

        def found(page: RecordedPage | None, starts: dict[str, datetime], default: datetime):
            for channel_id, playlist in _uploads(page):
                start, earlier = starts.get(channel_id, default), walks.get(channel_id)
                walks[channel_id] = (playlist, min(start, earlier[1]) if earlier else start)

        def rechecks(page: RecordedPage | None, account: str) -> None:
            for channel_id, _ in _uploads(page):
                if channel_id == account or not is_channel_id(account):
                    recheck.setdefault(channel_id, {}).update(
                        dict.fromkeys(batch.recheck.get(account, []))
                    )

        client.archive = archives("channels")
        ids = list(dict.fromkeys(a for a in accounts if is_channel_id(a)))
        for first in range(0, len(ids), IDS_PER_REQUEST):
            chunk = ids[first : first + IDS_PER_REQUEST]
            page = yield from walk("channels", as_pages(client.channels_by_id), chunk)
            found(page, since, min(since[i] for i in chunk))
            for account in chunk:
                rechecks(page, account)
        for handle in dict.fromkeys(a for a in accounts if not is_channel_id(a)):
            page = yield from walk("channels", as_pages(client.channel_by_handle), handle)
            found(page, {}, since[handle])
            rechecks(page, handle)

        client.archive = archives("playlist_items")
        video_ids: dict[str, None] = {}
        unseen: dict[str, None] = {}
        for channel_id, (playlist, start) in walks.items():
            last = None
            for endpoint, last in walk("playlist_items", client.uploads, playlist, start):
                yield endpoint, last
                if last.status < 400:
                    video_ids.update(dict.fromkeys(uploaded_videos(last, start)))
            if last is not None and last.status < 400:
                unseen.update(recheck.get(channel_id, {}))

        client.archive = archives("videos")
        ordered = list(video_ids)
        for first in range(0, len(ordered), IDS_PER_REQUEST):
            chunk = ordered[first : first + IDS_PER_REQUEST]
            yield from walk("videos", as_pages(client.videos), chunk)

        unread = [video_id for video_id in unseen if video_id not in video_ids]
        if unread:
            client.archive = archives("recheck_videos")
        for first in range(0, len(unread), IDS_PER_REQUEST):
            chunk = unread[first : first + IDS_PER_REQUEST]
            yield from walk("recheck_videos", as_pages(client.videos), chunk)


def discover(sources: YouTubeSources, batch: DiscoveryBatch, ctx: FetchContext) -> Pages:
    """search.list for each hashtag (as ``q=#tag``) and keyword, at most
    ``max_search_pages_per_term`` pages (100 units) each; then, unless
    ``discovery_profiles`` is off, channels.list for every channel found (50 a request,
    1 unit each), for their subscriber counts.

    Video searches only look at videos published in the last ``search_window_days``
    before the interval's end: discovery wants accounts active now. Channel searches carry no
    ``publishedAfter`` (for channels it would filter on the channel's creation).
    """
    published_after = None
    if sources.search_type == "video":
        published_after = ctx.until - timedelta(days=sources.search_window_days)
    terms = [f"#{t.lstrip('#')}" for t in batch.tags] + list(batch.keywords)
    found: dict[str, None] = {}
    archives = ctx.archives
    with _client(sources, ctx) as client:
        client.archive = archives("search")
        for term in dict.fromkeys(terms):
            for endpoint, page in walk(
                "search",
                client.search,
                term,
                sources.search_type,
                sources.max_search_pages_per_term,
                published_after,
                sources.search_order,
                sources.region_code,
                sources.relevance_language,
            ):
                yield endpoint, page
                if page.status < 400:
                    found.update(dict.fromkeys(_channel_ids(page)))
        if not sources.discovery_profiles:
            return
        client.archive = archives("discovery_channels")
        ids = list(found)
        for first in range(0, len(ids), IDS_PER_REQUEST):
            chunk = ids[first : first + IDS_PER_REQUEST]
            yield from walk("discovery_channels", as_pages(client.channels_by_id), chunk)


def _channel_ids(page: RecordedPage) -> list[str]:
    """The channels of a search page's results (the mapping rejects malformed ones)."""
    ids = []
    for item in page.json().get("items", []):
        try:
            channel_id = item["snippet"]["channelId"]
        except (KeyError, TypeError):
            continue
        if isinstance(channel_id, str):
            ids.append(channel_id)
    return ids
