"""Response models for the Bluesky AppView XRPC endpoints the radar reads."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from radar.canonical import Count, Timestamp


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Profile(_Model):
    did: str
    handle: str
    displayName: str | None = None
    description: str | None = None
    followersCount: Count | None = None
    followsCount: Count | None = None
    postsCount: Count | None = None
    createdAt: Timestamp | None = None
    labels: list[dict[str, Any]] = []


class ProfilesPage(_Model):
    profiles: list[Profile]


class FacetIndex(_Model):
    byteStart: int
    byteEnd: int


class FacetFeature(_Model):
    type: str = Field(alias="$type")
    tag: str | None = None
    did: str | None = None
    uri: str | None = None


class Facet(_Model):
    index: FacetIndex
    features: list[FacetFeature]


class PostRecord(_Model):
    text: str = ""
    createdAt: Timestamp | None = None
    langs: list[str] | None = None
    facets: list[Facet] | None = None
    tags: list[str] | None = None
    reply: dict[str, Any] | None = None


class AuthorView(_Model):
    did: str
    handle: str
    displayName: str | None = None


class PostView(_Model):
    uri: str
    cid: str | None = None
    author: AuthorView
    record: PostRecord
    embed: dict[str, Any] | None = None
    replyCount: Count | None = None
    repostCount: Count | None = None
    likeCount: Count | None = None
    quoteCount: Count | None = None
    indexedAt: Timestamp


class Reason(_Model):
    type: str = Field(alias="$type")
    by: AuthorView | None = None
    uri: str | None = None
    indexedAt: Timestamp | None = None


class FeedItem(_Model):
    post: PostView
    reason: Reason | None = None
    reply: dict[str, Any] | None = None


class AuthorFeedPage(_Model):
    feed: list[FeedItem]
    cursor: str | None = None


class PostsPage(_Model):
    posts: list[PostView]


class ActorView(_Model):
    """``profileView`` in search results: no follower counts."""

    did: str
    handle: str
    displayName: str | None = None


class SearchActorsPage(_Model):
    actors: list[ActorView]
    cursor: str | None = None


class SearchPostsPage(_Model):
    posts: list[PostView]
    cursor: str | None = None
