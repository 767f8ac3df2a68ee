"""Response models for the YouTube Data API v3 endpoints the radar reads.

Every count is a JSON string (uint64): ``Count`` accepts the string and yields an int
(pydantic's lax mode parses numeric strings; anything else is a validation error).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from radar.canonical import Count, Timestamp


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RelatedPlaylists(_Model):
    uploads: str | None = None


class ChannelContentDetails(_Model):
    relatedPlaylists: RelatedPlaylists = RelatedPlaylists()


class ChannelSnippet(_Model):
    title: str = ""
    description: str = ""
    customUrl: str | None = None
    publishedAt: Timestamp | None = None
    country: str | None = None
    defaultLanguage: str | None = None


class ChannelStatistics(_Model):
    viewCount: Count | None = None
    subscriberCount: Count | None = None  # rounded down to 3 significant figures
    hiddenSubscriberCount: bool = False
    videoCount: Count | None = None


class Channel(_Model):
    id: str
    snippet: ChannelSnippet
    contentDetails: ChannelContentDetails | None = None
    statistics: ChannelStatistics | None = None


class ChannelListPage(_Model):
    # an unknown id or handle is a 200 without ``items``
    items: list[Channel] = []


class PlaylistItemContentDetails(_Model):
    videoId: str
    # absent on private and deleted videos left in the playlist
    videoPublishedAt: Timestamp | None = None


class PlaylistItem(_Model):
    id: str | None = None
    contentDetails: PlaylistItemContentDetails


class PlaylistItemsPage(_Model):
    nextPageToken: str | None = None
    items: list[PlaylistItem] = []


class VideoSnippet(_Model):
    publishedAt: Timestamp
    channelId: str
    title: str = ""
    description: str = ""
    channelTitle: str | None = None
    tags: list[str] | None = None  # creator keywords, not hashtags
    defaultLanguage: str | None = None
    defaultAudioLanguage: str | None = None
    liveBroadcastContent: str | None = None


class VideoStatistics(_Model):
    viewCount: Count | None = None
    likeCount: Count | None = None  # absent when the owner hides likes
    commentCount: Count | None = None  # absent when comments are disabled


class PaidProductPlacementDetails(_Model):
    # the API reference says only the owner can read it; absent then, never false
    hasPaidProductPlacement: bool | None = None


class Video(_Model):
    id: str
    snippet: VideoSnippet
    statistics: VideoStatistics | None = None
    paidProductPlacementDetails: PaidProductPlacementDetails | None = None
    contentDetails: dict[str, Any] | None = None


class VideoListPage(_Model):
    items: list[Video] = []


class SearchResultId(_Model):
    kind: str
    videoId: str | None = None
    channelId: str | None = None


class SearchSnippet(_Model):
    channelId: str
    # HTML-entity-escaped in search results (``&#39;``, ``&amp;``)
    channelTitle: str = ""
    title: str = ""
    description: str = ""
    publishedAt: Timestamp | None = None


class SearchResult(_Model):
    id: SearchResultId
    snippet: SearchSnippet


class SearchPage(_Model):
    nextPageToken: str | None = None
    items: list[SearchResult] = []


class ErrorItem(_Model):
    reason: str | None = None
    domain: str | None = None
    message: str | None = None


class ErrorDetail(_Model):
    code: int | None = None
    message: str | None = None
    status: str | None = None
    errors: list[ErrorItem] = []
    details: list[dict[str, Any]] = []


class ErrorBody(_Model):
    error: ErrorDetail
