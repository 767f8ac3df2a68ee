"""Bluesky (AT Protocol AppView): profiles, author feeds, account and post search."""

from ingest.bluesky import source
from ingest.bluesky.mapping import DISCOVERY_MAPPERS, MAPPERS
from ingest.bluesky.settings import BlueskyDiscovery, BlueskySources
from ingest.connector import Connector

connector = Connector(
    name="bluesky",
    label="Bluesky",
    settings=BlueskySources,
    mappers=MAPPERS,
    fetch=source.fetch,
    discovery_mappers=DISCOVERY_MAPPERS,
    discover=source.discover,
    discovery_settings=BlueskyDiscovery,
    connection_fields={"identifier": "login", "app_password": "password"},
    pool_slots=4,
    confirms_deletions=True,
)
