"""YouTube's block of config/sources.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ingest.connector import PlatformSettings
from ingest.youtube.client import API_BASE, UNITS_PER_DAY


class YouTubeSources(PlatformSettings):
    base_url: str = API_BASE
    # channel ids (UC…) or handles (@name)
    channels: list[str] = []
    # the project's daily quota in units (channels/playlistItems/videos 1, search 100)
    units_per_day: int = Field(default=UNITS_PER_DAY, ge=1)
    # discovery: search.list for videos (who posts about the term lately) or channels
    search_type: Literal["video", "channel"] = "video"
    search_order: Literal["date", "relevance", "viewCount", "rating"] = "date"
    # video searches look this far back before the interval's end (publishedAfter)
    search_window_days: int = Field(default=7, ge=1)
    # each page costs 100 units: the cap per term keeps discovery's spend known
    max_search_pages_per_term: int = Field(default=1, ge=1)
    region_code: str | None = None
    relevance_language: str | None = None
    # read the found channels' subscriber counts (channels.list, 1 unit per 50 channels)
    discovery_profiles: bool = True

    def tracked(self) -> list[str]:
        return self.channels
