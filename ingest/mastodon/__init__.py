"""Mastodon (REST API of any instance): tracked accounts, hashtag timelines, search."""

from ingest.connector import Connector
from ingest.mastodon import source
from ingest.mastodon.bulk import BULK_MAPPINGS
from ingest.mastodon.mapping import DISCOVERY_MAPPERS, MAPPERS
from ingest.mastodon.settings import MastodonDiscovery, MastodonSources

connector = Connector(
    name="mastodon",
    label="Mastodon",
    settings=MastodonSources,
    mappers=MAPPERS,
    fetch=source.fetch,
    discovery_mappers=DISCOVERY_MAPPERS,
    discover=source.discover,
    discovery_settings=MastodonDiscovery,
    plan_discovery=source.plan_discovery,
    bulk_mappings=BULK_MAPPINGS,
    credentials=source.credentials,
    pool_slots=4,
    confirms_deletions=True,
)
