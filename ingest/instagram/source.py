"""Live fetching for Instagram: tracked accounts and discovery candidates, by business
discovery through our own IG professional account.

Credentials: ``{"access_token": <Facebook User access token>, "ig_user_id": <our IG
professional account id>}``; ``InstagramSources.ig_user_id``, when set, wins over the
credential (the id is not secret, only configurable). The token goes into the query
string, which the raw archive and httpx's log line both redact.

Instagram has no daily unit budget: its limits are rolling usage percentages that the
client reads from every response, so it keeps no daily ledger. A window that reopens
later than ``max_wait_seconds`` raises ``QuotaExhausted``, which propagates so the
caller lands what was fetched.
"""

from __future__ import annotations

import logging

from ingest.connector import DiscoveryBatch, FetchContext, LiveBatch, Pages
from ingest.instagram.client import InstagramClient, normalize_username
from ingest.instagram.settings import InstagramSources
from ingest.walk import as_pages, walk

log = logging.getLogger(__name__)

ENDPOINT = "business_discovery"
DISCOVERY_ENDPOINT = "candidate_discovery"


def _client(sources: InstagramSources, ctx: FetchContext) -> InstagramClient:
    return InstagramClient(
        sources.base_url,
        access_token=ctx.credentials.get("access_token", ""),
        ig_user_id=sources.ig_user_id or ctx.credentials.get("ig_user_id", ""),
        observe_before=ctx.until,
        usage_threshold=sources.usage_threshold,
        usage_window=sources.usage_window_seconds,
        max_wait=sources.max_wait_seconds,
        **ctx.client_options,
    )


def _valid(handle: str) -> str | None:
    try:
        return normalize_username(handle)
    except ValueError:
        log.error("instagram: skipped %r, which is not an Instagram username", handle)
        return None


def fetch(sources: InstagramSources, batch: LiveBatch, ctx: FetchContext) -> Pages:
    """Each account's business discovery pages, back to ``batch.since[account]``.

    An unknown or personal username (error 110) ends that account's walk as its archived
    page, which the mapping rejects; token and permission errors stop the task
    (``InstagramAccessError``).
    """
    with _client(sources, ctx) as client:
        client.archive = ctx.archives(ENDPOINT)
        for account in batch.accounts:
            if _valid(account) is None:
                continue
            yield from walk(
                ENDPOINT,
                client.business_discovery,
                account,
                batch.since[account],
                sources.max_pages_per_account,
            )


def discover(sources: InstagramSources, batch: DiscoveryBatch, ctx: FetchContext) -> Pages:
    """Instagram cannot search by topic, so the batch's terms go unused: one business
    discovery page per configured ``discovery_candidates`` handle, tracked accounts left
    out, at most ``max_candidates_per_run``. The mapping sights each hashtag they post
    under."""
    tracked = set(sources.accounts)
    handles = sources.discovery_candidates
    todo = [h for h in dict.fromkeys(filter(None, map(_valid, handles))) if h not in tracked]
    todo = todo[: sources.max_candidates_per_run]
    if not todo:
        return
    with _client(sources, ctx) as client:
        client.archive = ctx.archives(DISCOVERY_ENDPOINT)
        for handle in todo:
            yield from walk(DISCOVERY_ENDPOINT, as_pages(client.candidate), handle)
