"""TikTok's block of config/sources.yaml."""

from __future__ import annotations

from pydantic import Field

from ingest.connector import PlatformSettings
from ingest.tiktok.client import DAILY_REQUESTS, RESEARCH_API, WINDOW_DAYS


class TikTokSources(PlatformSettings):
    base_url: str = RESEARCH_API
    # usernames (a leading "@" is dropped)
    accounts: list[str] = []
    # the client's whole daily budget; other tasks on the machine spend from the same ledger
    daily_requests: int = Field(default=DAILY_REQUESTS, ge=1)
    # discovery reads the newest ``discovery_days`` of a term, at most ``max_pages_per_term``
    # pages of 100 videos: a run costs at most terms x max_pages_per_term requests
    discovery_days: int = Field(default=7, ge=1, le=WINDOW_DAYS)
    max_pages_per_term: int = Field(default=2, ge=1)
    # restrict discovery to accounts registered in these regions (e.g. ["DE", "AT"])
    region_codes: list[str] = []

    def tracked(self) -> list[str]:
        return self.accounts
