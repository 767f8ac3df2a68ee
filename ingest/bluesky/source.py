"""Live fetching for Bluesky: tracked actors' profiles and author feeds on the public
AppView; for discovery, account search and (with a session) post search."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ingest.bluesky.client import BlueskyClient, is_session_token
from ingest.bluesky.settings import BlueskySources
from ingest.connector import DiscoveryBatch, FetchContext, LiveBatch, Pages
from ingest.walk import walk

log = logging.getLogger(__name__)


def fetch(settings: BlueskySources, batch: LiveBatch, ctx: FetchContext) -> Pages:
    """The batch's profiles (25 a request), then each actor's feed back to its ``since``."""
    with BlueskyClient(settings.base_url, observe_before=ctx.until, **ctx.client_options) as client:
        client.archive = ctx.archives("get_profiles")
        yield from walk("get_profiles", client.profiles, batch.accounts)
        client.archive = ctx.archives("get_author_feed")
        for actor in batch.accounts:
            yield from walk("get_author_feed", client.author_feed, actor, batch.since[actor])


def discover(settings: BlueskySources, batch: DiscoveryBatch, ctx: FetchContext) -> Pages:
    """searchActors per keyword on the public AppView; with a session (``identifier`` and
    ``app_password``), searchPosts per tag and keyword on the PDS. Then the profiles of
    every account found, 25 a request, for their follower counts."""
    cap = ctx.discovery.max_pages_per_tag
    found: dict[str, None] = {}

    def note(pages: Pages, key: str, who: Callable[[dict], str]) -> Pages:
        for endpoint, page in pages:
            if page.status < 400:
                for item in page.json().get(key) or []:
                    try:
                        found.setdefault(who(item))
                    except (KeyError, TypeError):
                        pass  # the mapping rejects it
            yield endpoint, page

    options, creds = ctx.client_options, ctx.credentials
    with BlueskyClient(settings.base_url, observe_before=ctx.until, **options) as app:
        app.archive = ctx.archives("search_actors")
        for keyword in batch.keywords:
            yield from note(walk("search_actors", app.search_actors, keyword, cap), "actors", _did)
        secret = creds.get("app_password") or ""
        if is_session_token(secret) or (creds.get("identifier") and secret):
            pds_url = ctx.discovery.bluesky.pds_url
            with BlueskyClient(pds_url, observe_before=ctx.until, **options) as pds:
                if is_session_token(secret):  # a session made elsewhere: no login
                    pds.use_session(secret)
                else:
                    pds.login(creds["identifier"], secret)
                pds.archive = ctx.archives("search_posts")
                searches = [(f"#{t}", t) for t in batch.tags] + [(k, None) for k in batch.keywords]
                for query, tag in searches:
                    pages = walk("search_posts", pds.search_posts, query, cap, tag)
                    yield from note(pages, "posts", _author_did)
        else:
            # blind to accounts reachable only by their hashtags: say so in the run's log
            log.warning(
                "bluesky discovery runs WITHOUT post search (by tag and keyword): only "
                "account search by keyword; set the Airflow connection radar_bluesky "
                "(login = handle, password = an app password) to search posts"
            )
        app.archive = ctx.archives("discovery_profiles")
        yield from walk("discovery_profiles", app.profiles, list(found))


def _did(actor: dict) -> str:
    return actor["did"]


def _author_did(post: dict) -> str:
    return post["author"]["did"]
