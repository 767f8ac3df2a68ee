"""Canonical rows every platform maps into, one model per warehouse table.

Counts are ``None`` when the platform hides them or does not have them: never 0.
Timestamps are naive UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator

Platform = Literal["mastodon", "bluesky", "youtube", "instagram", "tiktok"]


class FollowerPrecision(StrEnum):
    exact = "exact"
    rounded = "rounded"  # e.g. YouTube rounds subscriber counts to 3 significant figures
    hidden = "hidden"

    @classmethod
    def of(cls, followers: int | None) -> FollowerPrecision:
        """``exact`` for a count the platform gave, ``hidden`` when it gave none."""
        return cls.exact if followers is not None else cls.hidden


class PostKind(StrEnum):
    original = "original"
    reply = "reply"
    repost = "repost"
    quote = "quote"


class AccountStatus(StrEnum):
    active = "active"
    suspended = "suspended"
    deleted = "deleted"
    moved = "moved"


def to_naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, value: object) -> object:
        return to_naive_utc(value) if isinstance(value, datetime) else value


class Account(_Row):
    """Key: (platform, account_id). Latest observation wins on merge."""

    platform: Platform
    account_id: str
    handle: str
    display_name: str | None = None
    bio: str | None = None
    url: str | None = None
    home_instance: str | None = None
    is_bot: bool | None = None
    status: AccountStatus = AccountStatus.active
    moved_to: str | None = None
    created_at: datetime | None = None
    discovered_via: str
    observed_at: datetime


class AccountSnapshot(_Row):
    """Key: (platform, account_id, observed_at)."""

    platform: Platform
    account_id: str
    observed_at: datetime
    followers: int | None
    following: int | None = None
    posts_count: int | None = None
    follower_precision: FollowerPrecision


class Post(_Row):
    """Key: (platform, post_id). A repost row belongs to the reposter but carries no counts."""

    platform: Platform
    post_id: str
    account_id: str
    created_at: datetime
    client_created_at: datetime | None = None
    text: str | None = None
    language: str | None = None
    hashtags: list[str] = []
    mentions: list[str] = []
    url: str | None = None
    kind: PostKind
    original_post_id: str | None = None
    original_account_id: str | None = None
    observed_at: datetime


class PostMetricSnapshot(_Row):
    """Key: (platform, post_id, observed_at)."""

    platform: Platform
    post_id: str
    observed_at: datetime
    likes: int | None
    comments: int | None
    shares: int | None
    quotes: int | None = None
    views: int | None = None


class PostDeletion(_Row):
    """Key: (platform, post_id). The platform reported the post as gone."""

    platform: Platform
    post_id: str
    observed_at: datetime


# the term of a profile read during discovery: it carries the follower count of a platform
# whose search results have none (Bluesky), and no niche watches it
PROFILE_TERM = "(profile)"


class AccountDiscovery(_Row):
    """Key: (platform, account_id, term). An account found by a niche's term: ``#tag`` for
    a hashtag timeline, the keyword for an account search, or ``PROFILE_TERM``."""

    platform: Platform
    account_id: str
    term: str
    handle: str
    followers: int | None = None
    observed_at: datetime


class Reject(_Row):
    """A record that failed validation, with a pointer back to the page it came from."""

    platform: Platform
    entity: str
    source_path: str
    source_line: int
    record_index: int
    reason: str
    record: str | None
    observed_at: datetime


ENTITIES: dict[str, type[_Row]] = {
    "accounts": Account,
    "account_snapshots": AccountSnapshot,
    "posts": Post,
    "post_metric_snapshots": PostMetricSnapshot,
    "post_deletions": PostDeletion,
    "account_discoveries": AccountDiscovery,
    "rejects": Reject,
}
