"""Response models for the Mastodon REST API (only the fields the radar uses).

What they accept is what the bulk mapping (``ingest.mastodon.bulk``) can tell apart, so
both paths take and refuse the same records: counts are JSON integers (or decimal
strings) within 64 bits, ids are strings or integers, text is a string (``null`` is the
default), timestamps are ISO strings within years 1-9999 in UTC.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    RootModel,
    ValidationInfo,
    field_validator,
)

from radar.canonical import INT64_MAX, Count, Timestamp


def _id(value: object) -> object:
    # Mastodon sends ids as strings; an integer id is the same id
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


Id = Annotated[str, BeforeValidator(_id)]


def _account_count(value: int, info: ValidationInfo) -> int | None:
    # -1 is Mastodon's "hidden" (hide_collections): unknown, not a count
    if value == -1:
        return None
    if value < 0:
        raise ValueError(f"negative count {info.field_name}")
    if value > INT64_MAX:
        raise ValueError(f"count {info.field_name} is above the 64-bit integer range")
    return value


def _no_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("a count must be an integer, not a boolean")
    return value


AccountCount = Annotated[int, BeforeValidator(_no_boolean), AfterValidator(_account_count)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class MovedAccount(_Model):
    """The account an account moved to: only what the mapping reads of it."""

    id: Id
    username: str
    acct: str
    url: str | None = None


class Account(_Model):
    id: Id
    username: str
    acct: str
    display_name: str = ""
    note: str = ""
    url: str | None = None
    bot: bool = False
    created_at: Timestamp | None = None
    followers_count: AccountCount | None = None
    following_count: AccountCount | None = None
    statuses_count: AccountCount | None = None
    suspended: bool = False
    moved: MovedAccount | None = None

    @field_validator("display_name", "note", mode="before")
    @classmethod
    def _null_text(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("bot", "suspended", mode="before")
    @classmethod
    def _strict_flag(cls, value: object) -> object:
        # JSON true/false (or their spellings as strings); null is the default
        if value is None:
            return False
        if isinstance(value, bool) or value in ("true", "false"):
            return value
        raise ValueError("a flag must be true or false")


class Tag(_Model):
    name: str


class Mention(_Model):
    acct: str


class QuotedRef(_Model):
    uri: str | None = None


class Quote(_Model):
    quoted_status: QuotedRef | None = None


class Status(_Model):
    id: Id
    uri: str
    created_at: Timestamp
    url: str | None = None
    in_reply_to_id: Id | None = None
    language: str | None = None
    content: str = ""
    spoiler_text: str = ""
    replies_count: Count | None = None
    reblogs_count: Count | None = None
    favourites_count: Count | None = None
    quotes_count: Count | None = None
    account: Account
    reblog: Status | None = None
    quote: Quote | None = None
    tags: list[Tag] = []
    mentions: list[Mention] = []

    @field_validator("content", "spoiler_text", mode="before")
    @classmethod
    def _null_text(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("tags", "mentions", mode="before")
    @classmethod
    def _null_list(cls, value: object) -> object:
        return [] if value is None else value


class StatusesPage(RootModel[list[Status]]):
    pass


class SearchPage(_Model):
    accounts: list[Account] = []
