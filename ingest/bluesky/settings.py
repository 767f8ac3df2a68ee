"""Bluesky's blocks of config/sources.yaml."""

from __future__ import annotations

from ingest.bluesky.client import DEFAULT_PDS
from ingest.connector import DiscoverySettings, PlatformSettings


class BlueskySources(PlatformSettings):
    base_url: str = "https://public.api.bsky.app"
    # handles or DIDs
    actors: list[str] = []

    def tracked(self) -> list[str]:
        return self.actors


class BlueskyDiscovery(DiscoverySettings):
    # post search needs a session on a PDS (Airflow connection radar_bluesky: login = handle,
    # password = an app password); without one only account search by keyword runs
    pds_url: str = DEFAULT_PDS
