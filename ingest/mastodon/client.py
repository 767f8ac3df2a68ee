"""Mastodon REST client: account lookup and paged statuses, on the shared HTTP layer.

Public data needs no token; when one is configured it goes in the Authorization header
only, which the raw archive never stores.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from urllib.parse import quote

from ingest.http import PlatformClient, RateLimiter, RawArchive, mastodon_rate_limit, next_link
from ingest.pages import RecordedPage
from radar.canonical import to_naive_utc

STATUSES_PAGE_SIZE = 40  # the API's maximum
_LOCAL_STATUS_URI = re.compile(r"^https://(?P<host>[^/]+)/users/[^/]+/statuses/(?P<id>[^/?#]+)$")


class MastodonClient(PlatformClient):
    def __init__(
        self,
        base_url: str,
        archive: RawArchive | None = None,
        *,
        token: str | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        **kwargs,
    ) -> None:
        extra = {k: v for k, v in (("clock", clock), ("sleep", sleep)) if v is not None}
        limiter = RateLimiter(mastodon_rate_limit, **extra)
        headers = {"Authorization": f"Bearer {token}"} if token else None
        if sleep is not None:
            kwargs["sleep"] = sleep
        super().__init__("mastodon", base_url, limiter, archive, headers=headers, **kwargs)

    def lookup(self, acct: str) -> RecordedPage:
        return self.get("/api/v1/accounts/lookup", params={"acct": acct})

    def statuses(self, account_id: str, since: datetime) -> Iterator[RecordedPage]:
        """Newest first, page by page, until a page reaches back past ``since`` (naive UTC).

        ``since`` is the cursor minus the lookback window: counts on recent posts keep
        changing, so they are read again on every run.
        """
        url: str | None = f"/api/v1/accounts/{account_id}/statuses"
        params: dict | None = {"limit": STATUSES_PAGE_SIZE}
        while url is not None:
            page = self.get(url, params=params)
            yield page
            times = [t for t in map(_created_at, json.loads(page.body)) if t is not None]
            oldest = min(times, default=None)
            if oldest is None or oldest < since:
                return
            url, params = next_link(page.headers), None

    def status(self, status_id: str, uri: str) -> RecordedPage:
        """One status by its id on this instance (404 once deleted). The post's key
        (``uri``) rides in the URL's fragment, which is never sent: the archived page
        says which post a 404 was about."""
        path = self._client.base_url.join(f"api/v1/statuses/{quote(status_id, safe='')}")
        return self.get(str(path.copy_with(fragment=uri)))

    def tag_timeline(self, tag: str, max_pages: int) -> Iterator[RecordedPage]:
        """Newest statuses under ``tag`` (no ``#``), at most ``max_pages`` pages: a cap, so
        discovery spends a known number of requests per tag."""
        url: str | None = f"/api/v1/timelines/tag/{quote(tag, safe='')}"
        params: dict | None = {"limit": STATUSES_PAGE_SIZE}
        for _ in range(max_pages):
            page = self.get(url, params=params)
            yield page
            url, params = next_link(page.headers), None
            if url is None:
                return

    def search_accounts(self, query: str) -> Iterator[RecordedPage]:
        """Accounts matching ``query`` in name or bio: one page of 40 (paging past it needs
        a user token)."""
        yield self.get(
            "/api/v2/search", params={"q": query, "type": "accounts", "limit": STATUSES_PAGE_SIZE}
        )


def local_status_id(uri: str, instance: str) -> str | None:
    """A status's id on its home ``instance``, read from its ActivityPub ``uri`` as
    Mastodon (and GoToSocial) write it, ``https://<instance>/users/<name>/statuses/<id>``;
    None for any other shape (other server software), whose id cannot be known."""
    match = _LOCAL_STATUS_URI.match(uri)
    if match is None or match["host"].lower() != instance.lower():
        return None
    return match["id"]


def _created_at(status: object) -> datetime | None:
    """A status's time, or None for a record the mapping will reject anyway."""
    try:
        return to_naive_utc(datetime.fromisoformat(status["created_at"]))  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None
