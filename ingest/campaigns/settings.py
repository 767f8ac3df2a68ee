"""Where the campaign exports are: ``RADAR_CAMPAIGN_EXPORTS_DIR`` (see ``.env.example``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from radar.settings import PROJECT_ROOT

# the recorded exports beside the demo feed, as RADAR_FEED_DIR defaults to that feed
DEFAULT_EXPORTS_DIR = PROJECT_ROOT / "fixtures" / "campaigns" / "exports"


class CampaignSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RADAR_CAMPAIGN_", env_file=".env", extra="ignore")

    # one folder per source: shopify…/ (orders CSV), ga4…/ (GA4 CSV), short_links…/ (clicks)
    exports_dir: Path = DEFAULT_EXPORTS_DIR
