"""TikTok Research API: user info, video queries and video search."""

from ingest.connector import Connector
from ingest.tiktok import source
from ingest.tiktok.mapping import DISCOVERY_MAPPERS, MAPPERS
from ingest.tiktok.settings import TikTokSources

connector = Connector(
    name="tiktok",
    label="TikTok Research",
    settings=TikTokSources,
    mappers=MAPPERS,
    fetch=source.fetch,
    discovery_mappers=DISCOVERY_MAPPERS,
    discover=source.discover,
    connection_fields={"client_key": "login", "client_secret": "password"},
    budget="1,000 requests, midnight UTC (`tiktok.daily_requests`)",
)
