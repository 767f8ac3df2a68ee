"""Live fetching for Bluesky: tracked actors' profiles and author feeds on the public
AppView; for discovery, account search and (with a session) post search."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ingest.bluesky.client import POSTS_PER_REQUEST, BlueskyClient, is_session_token
from ingest.bluesky.settings import BlueskySources
from ingest.connector import DiscoveryBatch, FetchContext, LiveBatch, Pages
from ingest.walk import as_pages, noting, walk

log = logging.getLogger(__name__)


def fetch(settings: BlueskySources, batch: LiveBatch, ctx: FetchContext) -> Pages:
    """The batch's profiles (25 a request), then each actor's feed back to its ``since``,
    or to its oldest post to recheck (``batch.recheck``) when that is older; then
    ``getPosts`` (25 a request) for the posts to recheck that no feed showed: each one
    missing from its answer is deleted (``mapping.map_get_posts``).

    A feed page holds up to 100 items and a getPosts answer 25 posts, so reading the
    feed further back is the cheaper re-read; only what it did not show, mostly the
    deleted posts, is asked for by URI. An actor whose feed could not be read (a 4xx:
    deactivated, taken down) has none of its posts asked for: that is no sign they
    were deleted."""
    with BlueskyClient(settings.base_url, observe_before=ctx.until, **ctx.client_options) as client:
        client.archive = ctx.archives("get_profiles")
        yield from walk("get_profiles", client.profiles, batch.accounts)
        client.archive = ctx.archives("get_author_feed")
        seen: set[str] = set()
        walked = []
        for actor in batch.accounts:
            since = batch.walk_since(actor)
            pages = walk("get_author_feed", client.author_feed, actor, since)
            if (yield from noting(pages, _feed_uris, seen)) is not None:
                walked.append(actor)
        unseen = list(dict.fromkeys(u for a in walked for u in batch.recheck.get(a, [])))
        unseen = [uri for uri in unseen if uri not in seen]
        if unseen:
            client.archive = ctx.archives("get_posts")
        for first in range(0, len(unseen), POSTS_PER_REQUEST):
            chunk = unseen[first : first + POSTS_PER_REQUEST]
            yield from walk("get_posts", as_pages(client.posts), chunk)


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


def _feed_uris(body: object) -> list[str]:
    """The posts an author feed page shows (an original a repost shows exists too)."""
    items = body.get("feed") if isinstance(body, dict) else None
    posts = [i.get("post") for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    return [p["uri"] for p in posts if isinstance(p, dict) and isinstance(p.get("uri"), str)]
