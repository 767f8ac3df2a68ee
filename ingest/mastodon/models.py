"""Response models for the Mastodon REST API (only the fields the radar uses)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, RootModel


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Account(_Model):
    id: str
    username: str
    acct: str
    display_name: str = ""
    note: str = ""
    url: str | None = None
    bot: bool = False
    created_at: datetime | None = None
    followers_count: int | None = None
    following_count: int | None = None
    statuses_count: int | None = None
    suspended: bool = False
    moved: Account | None = None


class Tag(_Model):
    name: str


class Mention(_Model):
    acct: str


class Status(_Model):
    id: str
    uri: str
    created_at: datetime
    url: str | None = None
    in_reply_to_id: str | None = None
    language: str | None = None
    content: str = ""
    spoiler_text: str = ""
    replies_count: int | None = None
    reblogs_count: int | None = None
    favourites_count: int | None = None
    quotes_count: int | None = None
    account: Account
    reblog: Status | None = None
    quote: dict[str, Any] | None = None
    tags: list[Tag] = []
    mentions: list[Mention] = []


class StatusesPage(RootModel[list[Status]]):
    pass


class SearchPage(_Model):
    accounts: list[Account] = []
