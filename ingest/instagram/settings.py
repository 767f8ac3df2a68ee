"""Instagram's block of config/sources.yaml."""

from __future__ import annotations

from pydantic import Field, field_validator

from ingest.connector import PlatformSettings
from ingest.instagram.client import GRAPH_API, normalize_username


class InstagramSources(PlatformSettings):
    base_url: str = GRAPH_API
    # our own IG professional account (linked to a Facebook Page) that asks; when unset,
    # credentials["ig_user_id"]
    ig_user_id: str | None = None
    # usernames of business or creator accounts to track (personal ones cannot be read)
    accounts: list[str] = []
    # a cap per account and run: 25 media a page, and every page spends the hourly budget
    max_pages_per_account: int = Field(default=20, ge=1)
    # a usage percentage at or above this counts as a spent window
    usage_threshold: float = Field(default=95.0, gt=0, le=100)
    # how long a spent window stays shut when Meta names no time (X-App-Usage: an hour)
    usage_window_seconds: float = Field(default=3600.0, gt=0)
    # waits up to this long inside a task; a longer one stops it with QuotaExhausted
    max_wait_seconds: float = Field(default=900.0, ge=0)
    # handles to vet in niche_discovery (Instagram cannot search accounts by topic)
    discovery_candidates: list[str] = []
    max_candidates_per_run: int = Field(default=25, ge=0)

    @field_validator("accounts", "discovery_candidates")
    @classmethod
    def _usernames(cls, handles: list[str]) -> list[str]:
        return list(dict.fromkeys(normalize_username(h) for h in handles))

    def tracked(self) -> list[str]:
        return self.accounts
