"""TikTok Research API client: client-credentials auth, user info and windowed video queries.

Access: TikTok grants the Research API only to approved academic and not-for-profit
researchers, for non-commercial use (shared/reference/platform-apis.md, section 5). This
connector is for those who hold such access; it is no way around that.

Every endpoint is a POST with a JSON body (``fields`` goes in the query string), so pages
are told apart, archived and replayed by their request body.

Auth: a client access token from ``POST /v2/oauth/token/`` (form body with the client
key and secret). The token request goes over the underlying httpx client through an
``httpx.Auth`` flow, never through ``PlatformClient.request``, so neither the secret (in
its body) nor the token (in its answer) can reach the raw archive; the token lives only
in the Authorization header, which is never archived. It is fetched before a request is
first sent (a replayed walk needs none), and renewed before ``expires_in`` runs out,
both ahead of the quota ledger: a token endpoint that fails (5xx, 429, a broken body) is
retried without spending Research API units. It is renewed once more when the API
answers 401 / ``access_token_invalid``. A 4xx from the token endpoint is a
``TikTokAuthError``, never retried.

Limits: 1,000 requests a day per client, reset at 00:00 UTC, kept in a ``DailyQuota``
ledger; every API attempt spends a unit (the API counts 500s too). No rate-limit headers
are documented, so the limiter never waits on its own: a 429 ``rate_limit_exceeded`` is
either a short throttle or the spent day. A first 429 waits and retries (unless the
ledger is spent); a second in a row stops the task, and marks the shared ledger spent
only when it is already at ``QUOTA_LIKELY_SPENT`` of the day's budget.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx

from ingest.http import (
    DailyQuota,
    PlatformClient,
    PlatformHTTPError,
    QuotaExhausted,
    RateLimiter,
    RawArchive,
    Retryable,
    retry_after_seconds,
    transient,
)
from ingest.pages import RecordedPage
from ingest.tiktok.models import error_of
from radar.errors import PermanentError
from radar.text import normalize_tag

log = logging.getLogger(__name__)

RESEARCH_API = "https://open.tiktokapis.com"
TOKEN_PATH = "/v2/oauth/token/"
USER_INFO_PATH = "/v2/research/user/info/"
VIDEO_QUERY_PATH = "/v2/research/video/query/"
USER_FIELDS = (
    "display_name,bio_description,avatar_url,is_verified,"
    "follower_count,following_count,likes_count,video_count"
)
VIDEO_FIELDS = (
    "id,username,create_time,region_code,video_description,hashtag_names,"
    "view_count,like_count,comment_count,share_count,music_id"
)
PAGE_SIZE = 100  # max_count's maximum
# start_date and end_date may be at most 30 days apart; 30 dates a window stays inside
# that whether "apart" counts the end date or not
WINDOW_DAYS = 30
DAILY_REQUESTS = 1000
RATE_LIMIT_WAIT = 60.0  # seconds before trying again after a first 429
TOKEN_MARGIN = 300.0  # renew this long before the token's stated expiry
CREDENTIAL_KEYS = ("client_key", "client_secret")
# a 429 that repeats once the ledger has spent this share of the day is taken as the day
QUOTA_LIKELY_SPENT = 0.9

# a 400 in the middle of a walk that walking the window again from its start cures
_RESTARTABLE = re.compile(r"Search Id \d+ is invalid or expired|Invalid count or cursor", re.I)
# a 400 about the user, not the window: every other window would be refused the same way
_NO_SUCH_USER = re.compile(r"cannot find the user|cannot return this user", re.I)


class TikTokAuthError(PermanentError):
    """The credentials were refused (wrong key or secret, no Research API scope): no retry
    helps, and nothing was archived."""


def tiktok_rate_limit(headers: httpx.Headers) -> tuple[int | None, float | None]:
    """TikTok documents no rate-limit headers: the limiter never knows a window."""
    return None, None


def date_windows(since: datetime, until: datetime) -> list[tuple[date, date]]:
    """Inclusive (start, end) date pairs covering ``since`` up to just before ``until``,
    newest first, each at most ``WINDOW_DAYS`` dates long (dates are UTC)."""
    first, end = since.date(), (until - timedelta(microseconds=1)).date()
    windows = []
    while end >= first:
        start = max(first, end - timedelta(days=WINDOW_DAYS - 1))
        windows.append((start, end))
        end = start - timedelta(days=1)
    return windows


class _ClientCredentials(httpx.Auth):
    """Adds the client access token to every request. ``ensure`` fetches it over the same
    httpx client (and transport) when there is none or it is about to expire; the client
    calls it before spending a quota unit. When the API says the token is invalid, a new
    one is fetched inside the flow and the request sent once more with it."""

    requires_response_body = True

    def __init__(self, token_url: str, key: str, secret: str, clock: Callable[[], float]):
        self._url, self._key, self._secret, self._clock = token_url, key, secret, clock
        self._token: str | None = None
        self._expires_at = 0.0
        self.fetched = 0

    def _stale(self) -> bool:
        return self._token is None or self._clock() >= self._expires_at

    def ensure(self, client: httpx.Client) -> None:
        """Fetch a token if there is none or it is about to expire, outside the auth flow
        (``auth=None``): raises ``Retryable`` or ``TikTokAuthError`` like ``_store``."""
        if self._stale():
            self._store(client.send(self._token_request(), auth=None))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._stale():  # ``ensure`` ran first; this is only a fallback
            self._store((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        if response.status_code == 401 or error_of(response.content)[0] == "access_token_invalid":
            log.info("tiktok: the access token was refused, fetching a new one")
            # forgotten first: should the renewal fail, the retry fetches a token before
            # it spends a unit, rather than sending the refused one again
            self._token = None
            self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    def _token_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._url,
            data={
                "client_key": self._key,
                "client_secret": self._secret,
                "grant_type": "client_credentials",
            },
            headers={"Cache-Control": "no-cache"},
        )

    def _store(self, response: httpx.Response) -> None:
        status = response.status_code
        if transient(status):
            raise Retryable(
                f"token endpoint HTTP {status}", wait=retry_after_seconds(response.headers)
            )
        try:
            answer = response.json()
        except ValueError as exc:
            if status >= 400:  # definitive, JSON or not
                raise TikTokAuthError(
                    f"token request refused: HTTP {status} (the body is not JSON)"
                ) from None
            raise Retryable("token endpoint sent an undecodable body") from exc
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if status >= 400 or not isinstance(token, str) or not token:
            error = answer.get("error") if isinstance(answer, dict) else None
            if isinstance(error, dict):
                error = f"{error.get('code')}: {error.get('message')}"
            described = answer.get("error_description", "") if isinstance(answer, dict) else ""
            reason = f"token request refused: HTTP {status} {error} {described}".strip()
            # whatever the answer echoes, the secret never goes into a message or a log
            for shown in {self._secret, quote_plus(self._secret), quote(self._secret, safe="")}:
                reason = reason.replace(shown, "REDACTED")
            raise TikTokAuthError(reason)
        self._token = token
        expires_in = answer.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, int | float) else 7200.0
        self._expires_at = self._clock() + max(0.0, lifetime - TOKEN_MARGIN)
        self.fetched += 1


def _credentials(credentials: dict[str, str]) -> tuple[str, str]:
    missing = [k for k in CREDENTIAL_KEYS if not credentials.get(k)]
    if missing:
        raise ValueError(f"tiktok credentials lack {', '.join(missing)}")
    return credentials["client_key"], credentials["client_secret"]


class TikTokClient(PlatformClient):
    def __init__(
        self,
        base_url: str = RESEARCH_API,
        archive: RawArchive | None = None,
        *,
        credentials: dict[str, str],
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        quota_path: Path | None = None,
        daily_requests: int = DAILY_REQUESTS,
        rate_limit_wait: float = RATE_LIMIT_WAIT,
        **kwargs,
    ) -> None:
        key, secret = _credentials(credentials)
        self._clock = clock or time.time
        extra = {k: v for k, v in (("clock", clock), ("sleep", sleep)) if v is not None}
        if sleep is not None:
            kwargs["sleep"] = sleep
        if kwargs.get("quota") is None:
            kwargs["quota"] = DailyQuota(
                "tiktok", daily_requests, "UTC", quota_path, clock=clock or time.time
            )
        self.auth = _ClientCredentials(
            base_url.rstrip("/") + TOKEN_PATH, key, secret, clock or time.time
        )
        super().__init__(
            "tiktok",
            base_url,
            RateLimiter(tiktok_rate_limit, **extra),
            archive,
            auth=self.auth,
            **kwargs,
        )
        self.rate_limit_wait = rate_limit_wait
        self._throttled = False  # the previous answer was a 429
        self._stopped: QuotaExhausted | None = None  # a repeated 429 stopped this client

    def _send_once(self, request: httpx.Request, body: str | None, cost: int) -> RecordedPage:
        """A stopped client sends nothing; else the token comes first, so a failing token
        endpoint is retried without spending the ledger."""
        if self._stopped is not None:
            raise self._stopped
        self.auth.ensure(self._client)
        return super()._send_once(request, body, cost)

    def check_response(self, status: int, headers: httpx.Headers, body: bytes) -> None:
        code, message = error_of(body)
        if status == 429:
            self._too_many(message or str(code))
        self._throttled = False
        if status == 401 or code == "access_token_invalid":
            # the auth flow already fetched a new token and tried again
            raise TikTokAuthError(f"HTTP {status} {code}: a fresh access token was refused")

    def _too_many(self, message: str) -> None:
        """429 ``rate_limit_exceeded`` means a short throttle or the spent day.

        A first 429 waits ``rate_limit_wait`` and retries, unless our ledger is spent (then
        it is the day). A second in a row stops this client (``QuotaExhausted``: the task
        lands what it has); it marks the shared ledger spent, stopping every TikTok task
        until midnight UTC, only when the ledger has used ``QUOTA_LIKELY_SPENT`` of the
        day. Earlier in the day it is taken as a throttle that outlasted the wait.
        """
        used, budget = self.quota.used, self.quota.units_per_day
        reason = f"HTTP 429 rate_limit_exceeded {message}".strip()
        if used >= budget or (self._throttled and used >= QUOTA_LIKELY_SPENT * budget):
            self._throttled = False
            self.quota.exhaust()
            raise QuotaExhausted(self.platform, self.quota.resets_at(), reason)
        if self._throttled:
            self._throttled = False
            resume = datetime.fromtimestamp(self._clock() + self.rate_limit_wait, UTC)
            self._stopped = QuotaExhausted(
                self.platform,
                resume.replace(tzinfo=None),
                f"{reason} twice with {used} of {budget} daily units used: taken as a "
                "throttle, this task stops and the shared ledger is left open",
            )
            raise self._stopped
        self._throttled = True
        raise Retryable("HTTP 429 rate_limit_exceeded", wait=self.rate_limit_wait)

    def user_info(self, username: str) -> RecordedPage:
        """A profile; the answer lacks the username, which the request body keeps."""
        return self.post(
            USER_INFO_PATH, params={"fields": USER_FIELDS}, json_body={"username": username}
        )

    def user_videos(
        self, username: str, since: datetime, until: datetime
    ) -> Iterator[RecordedPage]:
        """Every video ``username`` posted from ``since`` to ``until``: one query per
        30-day window, newest window first, each walked until ``has_more`` is false.

        A window the API refuses (a definitive 4xx, or a second expiry after its one
        restart) ends as its archived error page, yielded for the mapping to reject, and
        the older windows are still walked. A refusal that names the user ("cannot find
        the user", "cannot return this user's information") would come back for every
        window: the walk ends after its page.

        Results are not stable between runs (counts and even membership move), so every
        run reads its lookback again and the loader keeps the latest observation.
        """
        query = {"and": [{"operation": "EQ", "field_name": "username", "field_values": [username]}]}
        for start, end in date_windows(since, until):
            try:
                yield from self.query_videos(query, start, end)
            except PlatformHTTPError as exc:
                yield exc.page
                message = error_of(exc.page.body)[1]
                if _NO_SUCH_USER.search(message):
                    log.info("tiktok: %s; no further windows for %s", message, username)
                    return
                log.info("tiktok: window %s-%s refused (%s); going on", start, end, exc.page.status)

    def hashtag_videos(
        self,
        tag: str,
        since: datetime,
        until: datetime,
        max_pages: int,
        region_codes: list[str] | None = None,
    ) -> Iterator[RecordedPage]:
        """Recent videos under ``tag`` (with or without ``#``), at most ``max_pages`` pages
        of the newest window: discovery spends a known number of requests per term."""
        clause = {
            "operation": "IN",
            "field_name": "hashtag_name",
            "field_values": [normalize_tag(tag)],
        }
        return self._search(clause, since, until, max_pages, region_codes)

    def keyword_videos(
        self,
        keyword: str,
        since: datetime,
        until: datetime,
        max_pages: int,
        region_codes: list[str] | None = None,
    ) -> Iterator[RecordedPage]:
        """Recent videos whose description holds ``keyword``, capped like hashtags."""
        clause = {"operation": "EQ", "field_name": "keyword", "field_values": [keyword]}
        return self._search(clause, since, until, max_pages, region_codes)

    def _search(
        self,
        clause: dict,
        since: datetime,
        until: datetime,
        max_pages: int,
        region_codes: list[str] | None,
    ) -> Iterator[RecordedPage]:
        clauses = [clause]
        if region_codes:
            clauses.append(
                {"operation": "IN", "field_name": "region_code", "field_values": region_codes}
            )
        windows = date_windows(since, until)
        if not windows:
            return iter(())
        return self.query_videos({"and": clauses}, *windows[0], max_pages=max_pages)

    def query_videos(
        self, query: dict, start: date, end: date, max_pages: int | None = None
    ) -> Iterator[RecordedPage]:
        """One window of a video query, page by page, resending the body with the answer's
        ``cursor`` and ``search_id`` until ``has_more`` is false (or ``max_pages``).

        A ``search_id`` can expire, and the API can forget a cursor, mid-walk: the 400 page
        is yielded (it is archived, and maps to a reject) and the window walked again from
        its start, once; a second such 400, or any other definitive 4xx, raises
        ``PlatformHTTPError``. Pages already yielded stay (the loader keeps one row per
        post). A page that omits ``search_id`` keeps the one before it.
        """
        body = {
            "query": query,
            "start_date": start.strftime("%Y%m%d"),
            "end_date": end.strftime("%Y%m%d"),
            "max_count": PAGE_SIZE,
        }
        paging: dict = {}
        restarted, pages = False, 0
        while True:
            try:
                page = self.post(
                    VIDEO_QUERY_PATH, params={"fields": VIDEO_FIELDS}, json_body={**body, **paging}
                )
            except PlatformHTTPError as exc:
                if restarted or not paging or not _restartable(exc.page):
                    raise
                log.info("tiktok: %s; walking the window again", error_of(exc.page.body)[1])
                yield exc.page
                paging, restarted = {}, True
                continue
            yield page
            pages += 1
            answer = json.loads(page.body)
            data = answer.get("data") if isinstance(answer, dict) else None
            if not isinstance(data, dict):
                return  # not the envelope: the mapping rejects the page
            cursor = data.get("cursor")
            if not data.get("has_more") or (max_pages is not None and pages >= max_pages):
                return
            if not isinstance(cursor, int) or cursor <= paging.get("cursor", 0):
                log.warning("tiktok: has_more without a cursor that moves on; window ends here")
                return
            search_id = data.get("search_id")
            if search_id is None:
                search_id = paging.get("search_id")  # omitted: the walk's id still holds
            paging = {"cursor": cursor}
            if search_id is not None:
                paging["search_id"] = search_id


def _restartable(page: RecordedPage) -> bool:
    code, message = error_of(page.body)
    return page.status == 400 and bool(_RESTARTABLE.search(message))
