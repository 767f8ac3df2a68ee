"""YouTube responses to canonical rows. Accounts key on the channel id (``UC…``), posts
on the video id.

Counts arrive as strings and are parsed to ints by the models; a count YouTube hides or
lacks (hidden subscribers, hidden likes, disabled comments, shares) is None, never 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from ingest.batch import MappedBatch, validate_page
from ingest.pages import RecordedPage
from ingest.youtube import models
from ingest.youtube.client import error_reasons
from radar.canonical import (
    PROFILE_TERM,
    Account,
    AccountDiscovery,
    AccountSnapshot,
    FollowerPrecision,
    Post,
    PostDeletion,
    PostDisclosure,
    PostKind,
    PostMetricSnapshot,
)
from radar.text import clean_text, normalize_tag

PLATFORM = "youtube"
# a '#' that starts a word (not a URL fragment or an HTML entity), with at least one letter:
# YouTube does not link all-digit tags such as #1
_HASHTAG = re.compile(r"(?<![\w&#/])#(\w*[^\W\d_]\w*)")
# core.post_disclosures.kind of paidProductPlacementDetails.hasPaidProductPlacement
PAID_PRODUCT_PLACEMENT = "paid_product_placement"
# ISO 639 codes meaning "no language" / "undetermined"
_NO_LANGUAGE = {"zxx", "und"}

Mapper = Callable[[RecordedPage, MappedBatch], None]


def channel_url(channel: models.Channel) -> str:
    custom = channel.snippet.customUrl
    if custom and custom.startswith("@"):
        return f"https://www.youtube.com/{custom}"
    return f"https://www.youtube.com/channel/{channel.id}"


def channel_handle(channel: models.Channel) -> str:
    """``customUrl`` without its ``@``: the planner looks cursors up by handle with any
    leading ``@`` stripped (as Bluesky and Mastodon handles are stored)."""
    custom = channel.snippet.customUrl
    return custom.lstrip("@") if custom else channel.id


def video_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def hashtags(*texts: str) -> list[str]:
    """``#tags`` written in the title and description; ``snippet.tags`` are hidden creator
    keywords, not hashtags."""
    return sorted({normalize_tag(m) for text in texts for m in _HASHTAG.findall(text or "")})


def _query(page: RecordedPage) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def _requested_ids(page: RecordedPage) -> list[str]:
    """The ids a channels.list or videos.list request asked for (``id=a,b,c``)."""
    return [i for value in _query(page).get("id", []) for i in value.split(",") if i]


def _returned_ids(page: RecordedPage) -> set[str] | None:
    """Every id the body holds, malformed items included (those are rejected, not
    missing); None when the body is not a list response at all (already rejected)."""
    try:
        body = page.json()
    except ValueError:
        return None
    items = body.get("items", []) if isinstance(body, dict) else None
    if not isinstance(items, list):
        return None
    return {i["id"] for i in items if isinstance(i, dict) and isinstance(i.get("id"), str)}


def missing_index(position: int) -> int:
    """The ``record_index`` of a reject for the requested id or handle at ``position``
    (0-based, in request order) that did not come back: -2, -3, ... Rejects key on
    (source page, entity, index), so each missing id needs its own index; negative ones
    cannot collide with an item's index, and -1 stays the whole page's."""
    return -(position + 2)


def _reject_error_page(page: RecordedPage, batch: MappedBatch) -> None:
    """A definitive 4xx about the resource asked for (``playlistNotFound``, a forbidden
    video...): one reject that names YouTube's reason. A refused key or project never gets
    here from a live run (the client raises ``YouTubeAccessError`` first), but an archive
    recorded before that check is still mapped the same way."""
    reasons = error_reasons(page.body)
    reason = f"HTTP {page.status}" + (f" {', '.join(dict.fromkeys(reasons))}" if reasons else "")
    batch.reject(page, "page", -1, reason, page.body.decode("utf-8", "replace"))


def _followers(stats: models.ChannelStatistics | None) -> tuple[int | None, FollowerPrecision]:
    # hidden counts used to come as "0"; now the key may be missing: both mean unknown
    if stats is None or stats.hiddenSubscriberCount or stats.subscriberCount is None:
        return None, FollowerPrecision.hidden
    return stats.subscriberCount, FollowerPrecision.rounded


def map_channel(channel: models.Channel, page: RecordedPage, batch: MappedBatch) -> None:
    snippet = channel.snippet
    batch.accounts.append(
        Account(
            platform=PLATFORM,
            account_id=channel.id,
            handle=channel_handle(channel),
            display_name=clean_text(snippet.title) or None,
            bio=clean_text(snippet.description) or None,
            url=channel_url(channel),
            created_at=snippet.publishedAt,
            discovered_via="tracked",
            observed_at=page.fetched_at,
        )
    )
    followers, precision = _followers(channel.statistics)
    batch.account_snapshots.append(
        AccountSnapshot(
            platform=PLATFORM,
            account_id=channel.id,
            observed_at=page.fetched_at,
            followers=followers,
            following=None,
            posts_count=channel.statistics.videoCount if channel.statistics else None,
            follower_precision=precision,
        )
    )


def _reject_unknown_channels(page: RecordedPage, batch: MappedBatch) -> None:
    """Each requested id or handle that did not come back (a 200 without it), at its own
    ``missing_index``."""
    returned = _returned_ids(page)
    if returned is None:  # the page itself was rejected
        return
    for position, channel_id in enumerate(dict.fromkeys(_requested_ids(page))):
        if channel_id not in returned:
            reason = f"unknown channel id {channel_id} (no item returned)"
            batch.reject(page, "accounts", missing_index(position), reason, channel_id)
    if not returned:
        for position, handle in enumerate(dict.fromkeys(_query(page).get("forHandle", []))):
            reason = f"unknown handle {handle} (no item returned)"
            batch.reject(page, "accounts", missing_index(position), reason, handle)


def map_channels(page: RecordedPage, batch: MappedBatch) -> None:
    """channels.list by ``id`` (up to 50) or ``forHandle``. An unknown id or handle is a
    200 without items: each requested one that did not come back is rejected."""
    if page.status >= 400:
        _reject_error_page(page, batch)
        return
    result = validate_page(page, models.ChannelListPage, models.Channel, "items", "accounts", batch)
    for channel in result.items if result else []:
        map_channel(channel, page, batch)
    _reject_unknown_channels(page, batch)


def map_discovery_channels(page: RecordedPage, batch: MappedBatch) -> None:
    """channels.list for the channels search found: their subscriber counts, as sightings
    under ``PROFILE_TERM`` (search results carry none). Nothing goes to core.accounts: a
    channel is not tracked until the queue says so."""
    if page.status >= 400:
        _reject_error_page(page, batch)
        return
    result = validate_page(page, models.ChannelListPage, models.Channel, "items", "accounts", batch)
    for channel in result.items if result else []:
        batch.account_discoveries.append(
            AccountDiscovery(
                platform=PLATFORM,
                account_id=channel.id,
                term=PROFILE_TERM,
                handle=channel_handle(channel),
                followers=_followers(channel.statistics)[0],
                observed_at=page.fetched_at,
            )
        )
    _reject_unknown_channels(page, batch)


def _language(snippet: models.VideoSnippet) -> str | None:
    language = snippet.defaultAudioLanguage or snippet.defaultLanguage
    return None if language is None or language.lower() in _NO_LANGUAGE else language


def map_video(video: models.Video, page: RecordedPage, batch: MappedBatch) -> None:
    snippet = video.snippet
    text = f"{snippet.title}\n\n{snippet.description}" if snippet.description else snippet.title
    batch.posts.append(
        Post(
            platform=PLATFORM,
            post_id=video.id,
            account_id=snippet.channelId,
            # the video's own publish time (a playlist item's publishedAt is when it was
            # added to the playlist)
            created_at=snippet.publishedAt,
            text=clean_text(text) or None,
            language=_language(snippet),
            hashtags=hashtags(snippet.title, snippet.description),
            url=video_url(video.id),
            kind=PostKind.original,
            observed_at=page.fetched_at,
        )
    )
    stats = video.statistics or models.VideoStatistics()
    batch.post_metric_snapshots.append(
        PostMetricSnapshot(
            platform=PLATFORM,
            post_id=video.id,
            observed_at=page.fetched_at,
            likes=stats.likeCount,  # absent when the owner hides likes
            comments=stats.commentCount,  # absent when comments are disabled
            shares=None,  # YouTube has no share count
            views=stats.viewCount,
        )
    )
    placement = video.paidProductPlacementDetails
    if placement is not None and placement.hasPaidProductPlacement is not None:
        # false is kept too: a flag the creator took off replaces the earlier true
        batch.post_disclosures.append(
            PostDisclosure(
                platform=PLATFORM,
                post_id=video.id,
                kind=PAID_PRODUCT_PLACEMENT,
                disclosed=placement.hasPaidProductPlacement,
                observed_at=page.fetched_at,
            )
        )


def map_videos(page: RecordedPage, batch: MappedBatch) -> None:
    """videos.list for up to 50 ids; a requested id that did not come back (deleted,
    made private, or never public) is rejected, at its own ``missing_index``."""
    if page.status >= 400:
        _reject_error_page(page, batch)
        return
    result = validate_page(page, models.VideoListPage, models.Video, "items", "posts", batch)
    for video in result.items if result else []:
        map_video(video, page, batch)
    returned = _returned_ids(page)
    if returned is None:
        return
    for position, video_id in enumerate(dict.fromkeys(_requested_ids(page))):
        if video_id not in returned:
            reason = f"video {video_id} not returned (deleted, private or unknown)"
            batch.reject(page, "posts", missing_index(position), reason, video_id)


def map_recheck_videos(page: RecordedPage, batch: MappedBatch) -> None:
    """videos.list for up to 50 known videos (``source.fetch``'s recheck): fresh counts,
    and each requested id missing from ``items`` is gone from public view (deleted or
    made private): a deletion. Only an answer that holds an ``items`` list says so; a
    malformed item is rejected, not deleted."""
    if page.status >= 400:
        _reject_error_page(page, batch)
        return
    result = validate_page(page, models.VideoListPage, models.Video, "items", "posts", batch)
    for video in result.items if result else []:
        map_video(video, page, batch)
    try:
        body = page.json()
    except ValueError:
        return
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return
    returned = [i.get("id") if isinstance(i, dict) else None for i in items]
    if not all(isinstance(i, str) for i in returned):
        return  # an item without its id might be any requested one: none is known gone
    for video_id in dict.fromkeys(_requested_ids(page)):
        if video_id not in returned:
            batch.post_deletions.append(
                PostDeletion(platform=PLATFORM, post_id=video_id, observed_at=page.fetched_at)
            )


def map_playlist_items(page: RecordedPage, batch: MappedBatch) -> None:
    """Uploads-playlist pages only feed the walk (ids and times, no counts): nothing is
    mapped from them but a reject for an error page (``playlistNotFound``...)."""
    if page.status >= 400:
        _reject_error_page(page, batch)


def search_term(page: RecordedPage) -> str:
    """The sighting's term, from the request's ``q``: ``#tag`` for a hashtag search, else
    the keyword, spelt as ``ingest.discovery.search_terms`` spells them."""
    query = _query(page).get("q", [""])[0].strip()
    return f"#{normalize_tag(query)}" if query.startswith("#") else normalize_tag(query)


def map_search(page: RecordedPage, batch: MappedBatch) -> None:
    """search.list (videos or channels): one sighting per channel and page. Search gives
    no counts, so followers stay None until the channel is tracked."""
    if page.status >= 400:
        _reject_error_page(page, batch)
        return
    result = validate_page(page, models.SearchPage, models.SearchResult, "items", "accounts", batch)
    if result is None:
        return
    term, seen = search_term(page), set()
    for item in result.items:
        channel_id = item.snippet.channelId
        if channel_id in seen:
            continue
        seen.add(channel_id)
        # the handle is what the live planner fetches: the channel id (the title is not
        # a handle); the profile read after the search brings the real @handle
        batch.account_discoveries.append(
            AccountDiscovery(
                platform=PLATFORM,
                account_id=channel_id,
                term=term,
                handle=channel_id,
                followers=None,
                observed_at=page.fetched_at,
            )
        )


MAPPERS: dict[str, Mapper] = {
    "channels": map_channels,
    "playlist_items": map_playlist_items,
    "videos": map_videos,
    "recheck_videos": map_recheck_videos,
}
# endpoints niche_discovery reads; social_ingest never plans them
DISCOVERY_MAPPERS: dict[str, Mapper] = {
    "search": map_search,
    "discovery_channels": map_discovery_channels,
}
