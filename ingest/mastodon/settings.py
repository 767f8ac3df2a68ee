"""Mastodon's blocks of config/sources.yaml."""

from __future__ import annotations

from ingest.connector import DiscoverySettings, PlatformSettings


class MastodonSources(PlatformSettings):
    # user@instance handles
    accounts: list[str] = []
    # an instance's base URL when it is not https://<instance>
    instance_urls: dict[str, str] = {}

    def tracked(self) -> list[str]:
        return self.accounts

    def base_url(self, instance: str) -> str:
        return self.instance_urls.get(instance, f"https://{instance}")


class MastodonDiscovery(DiscoverySettings):
    # instances whose hashtag timelines are read (remote accounts show up there too);
    # discovery runs on Mastodon when this lists any, ``enabled`` is not needed
    instances: list[str] = []
