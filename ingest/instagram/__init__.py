"""Instagram Graph API: business discovery of tracked accounts and of discovery candidates."""

from ingest.connector import Connector
from ingest.instagram import source
from ingest.instagram.mapping import DISCOVERY_MAPPERS, MAPPERS
from ingest.instagram.settings import InstagramSources

connector = Connector(
    name="instagram",
    label="Instagram Graph",
    settings=InstagramSources,
    mappers=MAPPERS,
    fetch=source.fetch,
    discovery_mappers=DISCOVERY_MAPPERS,
    discover=source.discover,
    connection_fields={"ig_user_id": "login", "access_token": "password"},
    budget="rolling usage %, waits up to `instagram.max_wait_seconds`, else stops",
)
