"""Live fetching for Mastodon: tracked accounts (lookup, then their statuses) and, for
discovery, hashtag timelines and account search on each listed instance.

Public data needs no token. With one (an Airflow connection per instance, or one for
all) it goes into the Authorization header only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ingest.connector import DiscoveryBatch, FetchContext, LiveBatch, Pages
from ingest.mastodon.settings import MastodonDiscovery, MastodonSources
from ingest.walk import as_pages, noting, walk

if TYPE_CHECKING:
    from ingest.mastodon.client import MastodonClient


def fetch(settings: MastodonSources, batch: LiveBatch, ctx: FetchContext) -> Pages:
    """Per account: its profile (``accounts_lookup``), then its statuses back to
    ``batch.since[account]``, or to its oldest post to recheck (``batch.recheck``) when
    that is older; then each post to recheck that the walk did not show, by id
    (``status``): a 404 says it is deleted (``mapping.map_status_read``). One client per
    instance, so its rate limiter sees every request to it.

    A statuses page holds 40 posts and a status read one, so reading the timeline
    further back is by far the cheaper re-read; only what it did not show, mostly the
    deleted posts, is read by id. An account whose timeline could not be read, or which
    is suspended, has none of its posts read: that is no sign they were deleted."""
    from ingest.mastodon.client import local_status_id

    by_instance: dict[str, list[tuple[str, str]]] = {}
    for acct in batch.accounts:
        user, instance = acct.lstrip("@").split("@", 1)
        by_instance.setdefault(instance, []).append((user, acct))
    for instance, users in by_instance.items():
        with _client(settings, instance, ctx) as client:
            for user, acct in users:
                client.archive = ctx.archives("accounts_lookup")
                profile = yield from walk("accounts_lookup", as_pages(client.lookup), user)
                if profile is None:
                    continue
                client.archive = ctx.archives("account_statuses")
                account = json.loads(profile.body)
                seen: set[str] = set()
                since = batch.walk_since(acct)
                statuses = walk("account_statuses", client.statuses, account["id"], since)
                walked = yield from noting(statuses, _status_uris, seen)
                if walked is None or account.get("suspended") is True:
                    continue
                for uri in batch.recheck.get(acct, []):
                    status_id = local_status_id(uri, instance)
                    if uri not in seen and status_id is not None:
                        client.archive = ctx.archives("status")
                        yield from walk("status", as_pages(client.status), status_id, uri)


def discover(settings: MastodonSources, batch: DiscoveryBatch, ctx: FetchContext) -> Pages:
    """On the batch's instance: each tag's timeline (capped pages), one account search per
    keyword."""
    with _client(settings, batch.instance, ctx) as client:
        client.archive = ctx.archives("tag_timeline")
        for tag in batch.tags:
            cap = ctx.discovery.max_pages_per_tag
            yield from walk("tag_timeline", client.tag_timeline, tag, cap)
        client.archive = ctx.archives("account_search")
        for keyword in batch.keywords:
            yield from walk("account_search", client.search_accounts, keyword)


def plan_discovery(
    name: str, discovery: MastodonDiscovery, tags: list[str], keywords: list[str]
) -> list[DiscoveryBatch]:
    """One batch per listed instance."""
    return [
        DiscoveryBatch(platform=name, instance=i, tags=tags, keywords=keywords)
        for i in discovery.instances
    ]


def credentials(batch: Any, connection: Callable[[str], Any]) -> dict[str, str]:
    """Access tokens per instance the batch reads: the password of the Airflow connection
    ``radar_mastodon__<instance>`` (dots and dashes as ``_``), else of ``radar_mastodon``.
    No connection means public access, which is all the radar needs."""

    def password(conn_id: str) -> str | None:
        conn = connection(conn_id)
        return (conn.password or None) if conn is not None else None

    instances = [batch.instance] if getattr(batch, "instance", None) else []
    accounts = getattr(batch, "accounts", [])
    instances += sorted({a.lstrip("@").split("@", 1)[1] for a in accounts if "@" in a})
    default = password("radar_mastodon")
    tokens = {}
    for instance in instances:
        token = password("radar_mastodon__" + instance.replace(".", "_").replace("-", "_"))
        if token or default:
            tokens[instance] = token or default
    return tokens


def _status_uris(body: object) -> list[str]:
    """The posts a statuses page shows, boosted originals included."""
    statuses = body if isinstance(body, list) else []
    shown = [s for s in statuses if isinstance(s, dict)]
    shown += [s["reblog"] for s in shown if isinstance(s.get("reblog"), dict)]
    return [s["uri"] for s in shown if isinstance(s.get("uri"), str)]


def _client(settings: MastodonSources, instance: str, ctx: FetchContext) -> MastodonClient:
    # imported here: the client needs httpx (~0.3 CPU s), which a fixture extract never uses
    from ingest.mastodon.client import MastodonClient

    return MastodonClient(
        settings.base_url(instance),
        token=ctx.credentials.get(instance),
        observe_before=ctx.until,
        **ctx.client_options,
    )
