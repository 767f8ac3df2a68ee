"""Live fetching for Instagram: tracked accounts and discovery candidates, by business
discovery through our own IG professional account.

Credentials: ``{"access_token": <Facebook User access token>, "ig_user_id": <our IG
professional account id>}``; ``InstagramSources.ig_user_id``, when set, wins over the
credential (the id is not secret, only configurable). The token goes into the query
string, which the raw archive and httpx's log line both redact.

Instagram has no daily unit budget: its limits are rolling usage percentages that the
client reads from every response, so ``quota_path`` is accepted for a uniform signature
and not used. A window that reopens later than ``max_wait_seconds`` raises
``QuotaExhausted``, which propagates so the caller lands what was fetched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.http import RawArchive
from ingest.instagram.client import GRAPH_API, InstagramClient, normalize_username
from ingest.pages import RecordedPage
from ingest.walk import as_pages, walk

log = logging.getLogger(__name__)

ENDPOINT = "business_discovery"
DISCOVERY_ENDPOINT = "candidate_discovery"


class InstagramSources(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = GRAPH_API
    # our own IG professional account (linked to a Facebook Page) that asks; when unset,
    # credentials["ig_user_id"]
    ig_user_id: str | None = None
    # usernames of business or creator accounts to track (personal ones cannot be read)
    accounts: list[str] = []
    # a cap per account and run: 25 media a page, and every page spends the hourly budget
    max_pages_per_account: int = Field(default=20, ge=1)
    # a usage percentage at or above this counts as a spent window
    usage_threshold: float = Field(default=95.0, gt=0, le=100)
    # how long a spent window stays shut when Meta names no time (X-App-Usage: an hour)
    usage_window_seconds: float = Field(default=3600.0, gt=0)
    # waits up to this long inside a task; a longer one stops it with QuotaExhausted
    max_wait_seconds: float = Field(default=900.0, ge=0)
    # handles to vet in niche_discovery (Instagram cannot search accounts by topic)
    discovery_candidates: list[str] = []
    max_candidates_per_run: int = Field(default=25, ge=0)

    @field_validator("accounts", "discovery_candidates")
    @classmethod
    def _usernames(cls, handles: list[str]) -> list[str]:
        return list(dict.fromkeys(normalize_username(h) for h in handles))


def _client(
    sources: InstagramSources, credentials: dict[str, str], until: datetime, options: dict
) -> InstagramClient:
    return InstagramClient(
        sources.base_url,
        access_token=credentials.get("access_token", ""),
        ig_user_id=sources.ig_user_id or credentials.get("ig_user_id", ""),
        observe_before=until,
        usage_threshold=sources.usage_threshold,
        usage_window=sources.usage_window_seconds,
        max_wait=sources.max_wait_seconds,
        **options,
    )


def _valid(handle: str) -> str | None:
    try:
        return normalize_username(handle)
    except ValueError:
        log.error("instagram: skipped %r, which is not an Instagram username", handle)
        return None


def fetch_pages(
    sources: InstagramSources,
    accounts: list[str],
    since: dict[str, datetime],
    until: datetime,
    archives: Callable[[str], RawArchive],
    credentials: dict[str, str],
    quota_path: Path | None = None,
    **client_options: object,
) -> Iterator[tuple[str, RecordedPage]]:
    """Each account's business discovery pages, back to ``since[account]`` (naive UTC).

    An unknown or personal username (error 110) ends that account's walk as its archived
    page, which the mapping rejects; token and permission errors stop the task
    (``InstagramAccessError``). ``client_options`` go to the client (timeouts, retries,
    clock and sleep, in tests).
    """
    with _client(sources, credentials, until, client_options) as client:
        client.archive = archives(ENDPOINT)
        for account in accounts:
            if _valid(account) is None:
                continue
            yield from walk(
                ENDPOINT,
                client.business_discovery,
                account,
                since[account],
                sources.max_pages_per_account,
            )


def fetch_discovery_pages(
    sources: InstagramSources,
    candidates: list[str] | None,
    until: datetime,
    archives: Callable[[str], RawArchive],
    credentials: dict[str, str],
    quota_path: Path | None = None,
    **client_options: object,
) -> Iterator[tuple[str, RecordedPage]]:
    """One business discovery page per candidate handle (``candidates``, or the
    configured ``discovery_candidates`` when None), tracked accounts left out, at most
    ``max_candidates_per_run``: the mapping sights each hashtag they post under."""
    tracked = set(sources.accounts)
    handles = candidates if candidates is not None else sources.discovery_candidates
    todo = [h for h in dict.fromkeys(filter(None, map(_valid, handles))) if h not in tracked]
    todo = todo[: sources.max_candidates_per_run]
    if not todo:
        return
    with _client(sources, credentials, until, client_options) as client:
        client.archive = archives(DISCOVERY_ENDPOINT)
        for handle in todo:
            yield from walk(DISCOVERY_ENDPOINT, as_pages(client.candidate), handle)
