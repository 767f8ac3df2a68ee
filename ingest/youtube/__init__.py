"""YouTube Data API v3: channels, uploads playlists, video statistics, search."""

from ingest.connector import Connector
from ingest.youtube import source
from ingest.youtube.mapping import DISCOVERY_MAPPERS, MAPPERS
from ingest.youtube.settings import YouTubeSources

connector = Connector(
    name="youtube",
    label="YouTube Data v3",
    settings=YouTubeSources,
    mappers=MAPPERS,
    fetch=source.fetch,
    discovery_mappers=DISCOVERY_MAPPERS,
    discover=source.discover,
    connection_fields={"api_key": "password"},
    budget="10,000 units, midnight Pacific (`youtube.units_per_day`)",
    confirms_deletions=True,
)
