"""Canonical rows every platform maps into, one model per warehouse table.

Counts are ``None`` when the platform hides them or does not have them: never 0.
Timestamps are naive UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

# a registered platform's name (radar.platforms): the connector that maps a row sets it
Platform = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]


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


class TimestampRangeError(ValueError):
    """A timestamp whose UTC instant lies outside what ``datetime`` holds (years 1-9999)."""


def to_naive_utc(value: datetime) -> datetime:
    """The naive UTC of ``value``. ``0001-01-01T00:00:00+01:00`` or
    ``9999-12-31T23:59:59-05:00`` has no UTC ``datetime``: a ``TimestampRangeError`` (a
    ``ValueError``, so a model field reports it as a validation error), never an
    ``OverflowError`` that fails a whole batch."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError as exc:
        raise TimestampRangeError(
            f"timestamp {value.isoformat()} is outside the range of UTC timestamps"
        ) from exc


# What a platform model's fields accept, shared by every platform ------------------------

INT64_MAX = 2**63 - 1


def _not_a_boolean(value: object) -> object:
    # pydantic's lax int takes true/false as 1/0; a count that is a boolean is malformed
    if isinstance(value, bool):
        raise ValueError("a count must be an integer, not a boolean")
    return value


def _count_in_range(value: int, info: ValidationInfo) -> int:
    if value < 0:
        raise ValueError(f"negative count {info.field_name}")
    if value > INT64_MAX:
        raise ValueError(f"count {info.field_name} is above the 64-bit integer range")
    return value


# A count: a JSON integer (or, as YouTube sends them, a decimal string), 0 to 2^63-1. A
# negative one is refused with the reason "negative count <field>"
Count = Annotated[int, BeforeValidator(_not_a_boolean), AfterValidator(_count_in_range)]
# A platform timestamp, kept as naive UTC from the moment it is read
Timestamp = Annotated[datetime, AfterValidator(to_naive_utc)]

# a lone surrogate (from a JSON escape such as "\ud83c" without its pair) is no Unicode
# text: Parquet, DuckDB and Arrow refuse it
_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(value: str) -> bool:
    return not value.isascii() and _SURROGATE.search(value) is not None


def _checked(value: object, name: str) -> object:
    if isinstance(value, datetime):
        return to_naive_utc(value)
    if isinstance(value, str):
        if has_lone_surrogate(value):
            raise ValueError(f"{name} holds a lone surrogate (not valid Unicode)")
    elif isinstance(value, int) and not isinstance(value, bool):
        if not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise ValueError(f"{name} is outside the 64-bit integer range")
    elif isinstance(value, list):
        for item in value:
            _checked(item, name)
    return value


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, value: object, info: ValidationInfo) -> object:
        """Naive UTC timestamps; and the last guard before landing: no value Parquet
        cannot hold (an int past 64 bits, a lone surrogate) gets into a row."""
        return _checked(value, info.field_name)


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


class PostDisclosure(_Row):
    """Key: (platform, post_id, kind). What the platform itself says about a post's paid
    promotion (``kind``: ``paid_product_placement`` for YouTube's flag), newest wins."""

    platform: Platform
    post_id: str
    kind: str
    disclosed: bool
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
    "post_disclosures": PostDisclosure,
    "account_discoveries": AccountDiscovery,
    "rejects": Reject,
}
