"""Instagram Graph API client: business discovery of other professional accounts.

Auth is a Facebook User access token sent as the ``access_token`` query parameter (the
documented way), plus our own IG professional account id, which every request is made
through: ``GET /{ig_user_id}?fields=business_discovery.username(<u>){...}``. The raw
archive stores the URL through ``redact_url``, and httpx's own request log line is
scrubbed by the shared filter in ``ingest.http`` (``_RedactLoggedUrls``, which every
``PlatformClient`` installs on the ``httpx`` logger), so the token reaches no archive or
log. Error messages this client raises have the token taken out too.

Rate limits come as usage percentages, not counters: ``X-App-Usage`` (Platform limit, a
rolling hour) and ``X-Business-Use-Case-Usage`` (BUC limit, with
``estimated_time_to_regain_access`` in minutes). ``UsageReader`` turns them into the
shared limiter's (remaining, reset) so no request goes out while a window is spent.
Errors hide in the body: branch on ``error.code`` and ``is_transient``, never the status.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx

from ingest.http import PlatformClient, QuotaExhausted, RateLimiter, RawArchive, Retryable
from ingest.instagram.models import ErrorEnvelope, GraphError
from ingest.pages import RecordedPage
from radar.canonical import to_naive_utc
from radar.errors import PermanentError

PLATFORM = "instagram"
GRAPH_API = "https://graph.facebook.com/v25.0"
MEDIA_PAGE_SIZE = 25

# what a tracked account's walk asks for, on every page (each page maps the profile too)
PROFILE_FIELDS = "id,username,name,biography,followers_count,follows_count,media_count,website"
MEDIA_FIELDS = (
    "id,caption,comments_count,like_count,media_type,media_product_type,permalink,timestamp"
)
# a discovery candidate: who it is, its followers, and the captions its hashtags are in
CANDIDATE_PROFILE_FIELDS = "id,username,name,followers_count,media_count"
CANDIDATE_MEDIA_FIELDS = "id,caption,timestamp"

# throttling: 4 app, 17 user, 32 page, 613 custom, 80002 Instagram BUC
THROTTLE_CODES = frozenset({4, 17, 32, 613, 80002})
# 1 "API unknown" and 2 "API service" are Meta's temporary-issue codes [mem]
TEMPORARY_CODES = frozenset({1, 2})
TOKEN_CODES = frozenset({102, 190})  # 190: token expired, revoked or invalid
PERMISSION_CODES = frozenset({10, *range(200, 300)})
# 100/33: the object we asked through (our own ig_user_id) does not exist for this token
UNKNOWN_OBJECT = (100, 33)

# Instagram usernames: letters, digits, periods and underscores, at most 30
_USERNAME = re.compile(r"[A-Za-z0-9._]{1,30}")
_SECRET_PARAM = re.compile(r"(access_token=)[^&\s\"']+", re.IGNORECASE)


class InstagramAccessError(PermanentError):
    """The token, its permissions or our own account id are wrong: every request would
    fail the same way, so the task stops with what to fix (never with the token)."""


def normalize_username(handle: str) -> str:
    """``@Some.Baker`` → ``some.baker``; refuses what cannot be an Instagram username
    (it would break the field expansion it is spliced into)."""
    name = handle.strip().lstrip("@").lower()
    if not _USERNAME.fullmatch(name):
        raise ValueError(f"not an Instagram username: {handle!r}")
    return name


def discovery_fields(
    username: str,
    after: str | None = None,
    limit: int = MEDIA_PAGE_SIZE,
    profile_fields: str = PROFILE_FIELDS,
    media_fields: str = MEDIA_FIELDS,
) -> str:
    """The ``fields`` value: the next page is ``media.after(<cursor>)`` in the same
    expansion (nested media has no ``paging.next`` URL)."""
    edge = f"media.after({after}).limit({limit})" if after else f"media.limit({limit})"
    return f"business_discovery.username({username}){{{profile_fields},{edge}{{{media_fields}}}}}"


def _scrub(text: str) -> str:
    return _SECRET_PARAM.sub(r"\1REDACTED", text)


def _header_json(headers: httpx.Headers, name: str) -> object:
    value = headers.get(name)
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _number(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _percent(usage: dict) -> float:
    """The most used of a usage entry's percentages."""
    values = [_number(usage.get(k)) for k in ("call_count", "total_cputime", "total_time")]
    return max((v for v in values if v is not None), default=0.0)


def _regain_seconds(headers: httpx.Headers) -> float | None:
    """The longest ``estimated_time_to_regain_access`` (minutes) in the BUC header, in
    seconds; None when no entry names one."""
    buc = _header_json(headers, "x-business-use-case-usage")
    waits = [
        minutes * 60
        for entries in (buc.values() if isinstance(buc, dict) else [])
        for entry in (entries if isinstance(entries, list) else [entries])
        if isinstance(entry, dict)
        for minutes in [_number(entry.get("estimated_time_to_regain_access"))]
        if minutes is not None and minutes > 0
    ]
    return max(waits, default=None)


class UsageReader:
    """Meta's usage headers as the shared limiter's (remaining, reset epoch).

    A window counts as spent when any percentage reaches ``threshold`` or the BUC header
    names a time to regain access; it reopens after that time, else after ``window``
    seconds (X-App-Usage is a rolling hour and names no time). While not spent,
    ``remaining`` is the percentage left.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        threshold: float = 95.0,
        window: float = 3600.0,
    ) -> None:
        self._clock, self.threshold, self.window = clock, threshold, window
        self.reason = ""

    def __call__(self, headers: httpx.Headers) -> tuple[int | None, float | None]:
        readings: list[tuple[str, float, float | None]] = []
        app = _header_json(headers, "x-app-usage")
        if isinstance(app, dict):
            readings.append(("X-App-Usage", _percent(app), None))
        buc = _header_json(headers, "x-business-use-case-usage")
        for owner, entries in buc.items() if isinstance(buc, dict) else []:
            for entry in entries if isinstance(entries, list) else [entries]:
                if isinstance(entry, dict):
                    minutes = _number(entry.get("estimated_time_to_regain_access")) or 0.0
                    label = f"X-Business-Use-Case-Usage {entry.get('type') or owner}"
                    readings.append((label, _percent(entry), minutes * 60 or None))
        if not readings:
            return None, None
        spent = [r for r in readings if r[1] >= self.threshold or r[2]]
        if not spent:
            return max(1, int(100 - max(r[1] for r in readings))), None
        self.reason = "; ".join(f"{label} at {pct:g}%" for label, pct, _ in spent)
        return 0, self._clock() + max(wait or self.window for _, _, wait in spent)


class UsageLimiter(RateLimiter):
    """The shared limiter, except that a window reopening later than ``max_wait`` stops
    the task (``QuotaExhausted``: the caller lands what it has) instead of sleeping for
    an hour or a day inside it."""

    def __init__(
        self,
        reader: UsageReader,
        max_wait: float,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(reader, clock=clock, sleep=sleep)
        self.reader, self.max_wait = reader, max_wait

    def before_request(self) -> None:
        if self.remaining is not None and self.remaining <= 0 and self.reset_at is not None:
            delay = self.reset_at - self._clock()
            if delay > self.max_wait:
                raise QuotaExhausted(
                    PLATFORM,
                    _naive_utc(self.reset_at),
                    f"{self.reader.reason}: the window reopens in {delay / 60:.0f} min, "
                    f"more than the {self.max_wait / 60:.0f} min a task waits",
                )
        super().before_request()


def _naive_utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def graph_error(body: bytes) -> GraphError | None:
    """The ``{"error": {...}}`` envelope of a Graph API error, if the body is one."""
    try:
        return ErrorEnvelope.model_validate_json(body).error
    except ValueError:
        return None


class InstagramClient(PlatformClient):
    def __init__(
        self,
        base_url: str = GRAPH_API,
        archive: RawArchive | None = None,
        *,
        access_token: str,
        ig_user_id: str,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        usage_threshold: float = 95.0,
        usage_window: float = 3600.0,
        max_wait: float = 900.0,
        page_size: int = MEDIA_PAGE_SIZE,
        **kwargs,
    ) -> None:
        if not access_token:
            raise InstagramAccessError(
                "no Instagram access token: credentials need 'access_token' (a Facebook "
                "User access token)"
            )
        if not re.fullmatch(r"[0-9]+", ig_user_id or ""):
            raise InstagramAccessError(
                f"ig_user_id must be our own IG professional account's numeric id, "
                f"got {ig_user_id!r}"
            )
        self._clock = clock or time.time
        limiter = UsageLimiter(
            UsageReader(self._clock, usage_threshold, usage_window),
            max_wait,
            clock=self._clock,
            sleep=sleep or time.sleep,
        )
        if sleep is not None:
            kwargs["sleep"] = sleep
        super().__init__(PLATFORM, base_url, limiter, archive, **kwargs)
        self._token, self.ig_user_id = access_token, ig_user_id
        self.max_wait, self.page_size = max_wait, page_size

    def _hide_token(self, text: str) -> str:
        return _scrub(text.replace(self._token, "REDACTED"))

    def check_response(self, status: int, headers: httpx.Headers, body: bytes) -> None:
        """Throttling and temporary errors are retried; token, permission and account-id
        errors stop the task; the rest (e.g. 110, an unknown or personal username) go on
        as a definitive 4xx that the mapping rejects."""
        if status < 400:
            return
        error = graph_error(body)
        if error is None:
            return  # an HTML 5xx or similar: the shared rules decide
        code, subcode = error.code, error.error_subcode
        detail = self._hide_token(
            f"Graph API error {code}" + (f"/{subcode}" if subcode else "") + f": {error.message}"
        )
        if code in THROTTLE_CODES:
            wait = _regain_seconds(headers)
            if wait is not None and wait > self.max_wait:
                resets_at = _naive_utc(self._clock() + wait)
                raise QuotaExhausted(PLATFORM, resets_at, f"throttled ({detail})")
            raise Retryable(f"throttled ({detail})", wait)
        if code in TOKEN_CODES:
            raise InstagramAccessError(
                f"Instagram access token rejected ({detail}); it has expired or been "
                "revoked: issue a new Facebook User access token"
            )
        if code in PERMISSION_CODES:
            raise InstagramAccessError(
                f"Instagram permission missing ({detail}); business discovery needs "
                "instagram_basic and pages_read_engagement on a token whose user manages "
                "the Page linked to our IG professional account"
            )
        if (code, subcode) == UNKNOWN_OBJECT:
            raise InstagramAccessError(
                f"ig_user_id {self.ig_user_id} is not an IG professional account this "
                f"token can use ({detail})"
            )
        if error.is_transient or code in TEMPORARY_CODES:
            raise Retryable(f"temporary ({detail})")

    def _discover(self, fields: str) -> RecordedPage:
        # access_token last, so the archived URL reads fields=...&access_token=REDACTED
        return self.get(
            f"/{self.ig_user_id}", params={"fields": fields, "access_token": self._token}
        )

    def business_discovery(
        self, username: str, since: datetime, max_pages: int | None = None
    ) -> Iterator[RecordedPage]:
        """A tracked account's profile and media, newest first, page by page; stops when
        the ``after`` cursor is missing or the same as the one just followed, when a page
        reaches back past ``since`` (naive UTC), or after ``max_pages`` pages.

        An empty ``data`` page that still has a new cursor is followed: Graph edges can
        return an empty, filtered slice with more behind it."""
        name = normalize_username(username)
        after: str | None = None
        for _ in range(max_pages) if max_pages else itertools.count():
            page = self._discover(discovery_fields(name, after, self.page_size))
            yield page
            media = _media_edge(page.body)
            data = media.get("data") or []
            times = [t for t in map(_timestamp, data) if t is not None]
            cursor = ((media.get("paging") or {}).get("cursors") or {}).get("after")
            if not cursor or cursor == after or (times and min(times) < since):
                return
            after = cursor

    def candidate(self, username: str) -> RecordedPage:
        """One page for a discovery candidate: profile, followers and its newest media's
        captions, where its hashtags are."""
        name = normalize_username(username)
        fields = discovery_fields(
            name, None, self.page_size, CANDIDATE_PROFILE_FIELDS, CANDIDATE_MEDIA_FIELDS
        )
        return self._discover(fields)


def _media_edge(body: bytes) -> dict:
    try:
        media = json.loads(body)["business_discovery"].get("media")
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}
    return media if isinstance(media, dict) else {}


def _timestamp(item: object) -> datetime | None:
    """A media item's time, or None for a record the mapping will reject anyway."""
    try:
        return to_naive_utc(datetime.fromisoformat(item["timestamp"]))  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return None
