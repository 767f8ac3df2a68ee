"""The shared HTTP layer: one long-lived client per platform and credential.

- retries with exponential backoff and jitter on 429, 5xx, timeouts, transport errors and
  bodies that do not decode; never on other 4xx, which raise ``PlatformHTTPError``;
- a rate limiter fed by the platform's own headers, which waits before a request once the
  window is spent instead of running into a 429;
- every page that came back for good (2xx and 4xx) is written to the raw archive, in the
  recorded-page format of ``ingest.pages``, before anyone parses it; credentials never are.

Exceptions: ``PlatformHTTPError`` (a definitive 4xx, archived; the caller records it),
``RetriesExhausted`` (the platform kept failing; nothing archived) and ``QuotaExhausted``
(a daily quota is spent: stop until it resets, never retry).

A task that failed mid-walk and is retried resumes where it stopped: its archive file
from the failed try is read back, and each request that matches an archived page is
answered from it instead of the network (see ``RawArchive.replay``).
"""

from __future__ import annotations

import fcntl
import gzip
import json
import logging
import os
import re
import time
import zlib
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx
import tenacity

from ingest.pages import PageFormatError, PageRef, RecordedPage, read_pages, request_key

log = logging.getLogger(__name__)

_SECRET_PARAMS = {"access_token", "key", "token", "client_secret", "password"}
_SECRET_HEADERS = {"authorization", "cookie", "set-cookie", "x-api-key"}
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class _RedactLoggedUrls(logging.Filter):
    """httpx logs ``HTTP Request: GET <full url>`` at INFO, which Airflow task logs keep:
    a key or token in the query (YouTube ``key``, Instagram ``access_token``) is taken out
    of the line first."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(str(a)) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


def _redact_httpx_logs() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactLoggedUrls) for f in logger.filters):
        logger.addFilter(_RedactLoggedUrls())


class PlatformHTTPError(Exception):
    """A 4xx other than 429: retrying will not help. The page was archived."""

    def __init__(self, page: RecordedPage) -> None:
        super().__init__(f"HTTP {page.status} from {page.url}: {page.body[:200]!r}")
        self.page = page


class RetriesExhausted(Exception):
    """The platform kept answering 429/5xx, timing out or sending broken bodies."""


class Retryable(Exception):
    """Raised by ``check_response`` for an answer worth retrying; ``wait`` is the least
    time the platform asked for (seconds), on top of the usual backoff."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.wait = wait


class QuotaExhausted(Exception):
    """A daily quota is spent: nothing more until ``resets_at`` (naive UTC)."""

    def __init__(self, platform: str, resets_at: datetime, reason: str) -> None:
        super().__init__(f"{platform}: {reason}; quota resets at {resets_at.isoformat()}Z")
        self.platform, self.resets_at = platform, resets_at


class DailyQuota:
    """Units a platform allows per day (YouTube 10,000 units reset at midnight Pacific;
    TikTok Research 1,000 requests reset at midnight UTC).

    ``spend`` is called before each request and refuses, with ``QuotaExhausted``, a
    request the budget cannot pay for: no request is sent once the day is spent. With a
    ``path`` the ledger is a small JSON file under a lock, so every task on the machine
    spends from one budget.
    """

    def __init__(
        self,
        platform: str,
        units_per_day: int,
        reset_tz: str = "UTC",
        path: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.platform, self.units_per_day, self.path = platform, units_per_day, path
        self._tz, self._clock = ZoneInfo(reset_tz), clock
        self._state = {"day": "", "used": 0, "exhausted": False}
        self._spent_day: str | None = None  # the ledger day of this client's last spend

    def _today(self) -> str:
        return datetime.fromtimestamp(self._clock(), self._tz).date().isoformat()

    def resets_at(self) -> datetime:
        local = datetime.fromtimestamp(self._clock(), self._tz)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
        return midnight.replace(tzinfo=self._tz).astimezone(UTC).replace(tzinfo=None)

    def _apply(self, state: dict, change: Callable[[dict], None]) -> dict:
        """``change`` on today's state: a ledger of an earlier day starts over."""
        if state.get("day") != self._today():
            state = {"day": self._today(), "used": 0, "exhausted": False}
        change(state)
        return state

    def _update(self, change: Callable[[dict], None]) -> dict:
        if self.path is None:
            self._state = self._apply(self._state, change)
            return dict(self._state)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = json.loads(self.path.read_text())
            except (FileNotFoundError, ValueError):
                state = {}
            state = self._apply(state, change)
            tmp = self.path.with_name(f".{self.path.name}.tmp")
            tmp.write_text(json.dumps(state))
            os.replace(tmp, self.path)
            return state

    def spend(self, units: int) -> None:
        def take(state: dict) -> None:
            if state["exhausted"] or state["used"] + units > self.units_per_day:
                raise QuotaExhausted(
                    self.platform,
                    self.resets_at(),
                    f"{state['used']} of {self.units_per_day} daily units used, "
                    f"{units} more needed",
                )
            state["used"] += units
            self._spent_day = state["day"]

        self._update(take)

    def exhaust(self) -> None:
        """The platform said the quota is spent, whatever our ledger thought. It refused a
        request paid from the day of the last spend: if the reset came in between, the new
        day's budget is left alone."""

        def mark(state: dict) -> None:
            if self._spent_day in (None, state["day"]):
                state["exhausted"] = True

        self._update(mark)

    @property
    def used(self) -> int:
        return self._update(lambda state: None)["used"]


# secrets a platform may echo inside a body (the Graph API puts access_token in paging.next
# URLs): as a URL parameter or as a JSON field. Only names that never mean anything else.
_SECRET_IN_TEXT = re.compile(
    r"(?i)(?P<lead>[?&](?:access_token|client_secret|password|api_key)=)[^&\"'\s<>\\]+"
    r"|(?P<field>\"(?:access_token|client_secret|refresh_token|password)\"\s*:\s*\")[^\"]*"
)


def redact_text(text: str) -> str:
    """``text`` with every secret parameter or field value replaced by ``REDACTED``."""
    return _SECRET_IN_TEXT.sub(lambda m: (m.group("lead") or m.group("field")) + "REDACTED", text)


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    query = [
        (k, "REDACTED" if k.lower() in _SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def next_link(headers: dict[str, str]) -> str | None:
    """The ``rel="next"`` target of a Link header (Mastodon paging)."""
    match = _NEXT_LINK.search(headers.get("link", ""))
    return match.group(1) if match else None


# answers that say the server will never do this, however often asked: Not Implemented,
# HTTP Version Not Supported, Not Extended (RFC 9110, RFC 2774)
PERMANENT_5XX = frozenset({501, 505, 510})


def transient(status: int) -> bool:
    """Whether an HTTP status is worth retrying: 429 and the 5xx that may pass."""
    return status == 429 or (status >= 500 and status not in PERMANENT_5XX)


def safe_host(host: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "_" for c in host)


class RateLimiter:
    """Waits before a request while the platform says the window is spent.

    ``read`` turns response headers into (remaining, reset as epoch seconds), or Nones
    when the platform did not say. With a ``path`` (``PlatformClient``'s ``rate_state_dir``)
    the last window seen is a small JSON file under a lock, shared by every task of the
    platform on the machine: a task that starts after another spent the window waits for
    its reset instead of meeting a 429.
    """

    def __init__(
        self,
        read: Callable[[httpx.Headers], tuple[int | None, float | None]],
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        path: Path | None = None,
    ) -> None:
        self._read, self._clock, self._sleep = read, clock, sleep
        self.path = path
        self.remaining: int | None = None
        self.reset_at: float | None = None
        self.waited = 0.0

    def before_request(self) -> None:
        if self.path is not None:
            shared = self._shared()
            if shared.get("reset_at") is not None and shared["reset_at"] > self._clock():
                self.remaining, self.reset_at = shared["remaining"], shared["reset_at"]
        if self.remaining is not None and self.remaining <= 0 and self.reset_at is not None:
            delay = self.reset_at - self._clock()
            if delay > 0:
                self.waited += delay
                self._sleep(delay)
            self.remaining = None

    def after_response(self, headers: httpx.Headers) -> None:
        remaining, reset_at = self._read(headers)
        if remaining is not None:
            self.remaining, self.reset_at = remaining, reset_at
            if self.path is not None:
                self._share({"remaining": remaining, "reset_at": reset_at})

    def _shared(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _share(self, state: dict) -> None:
        # replaced whole and atomically: a reader sees the old window or the new one
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.path)


def mastodon_rate_limit(headers: httpx.Headers) -> tuple[int | None, float | None]:
    """``X-RateLimit-Remaining``; ``X-RateLimit-Reset`` is an ISO-8601 time."""
    remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
    if remaining is None or reset is None:
        return None, None
    return int(float(remaining)), datetime.fromisoformat(reset).timestamp()


def bluesky_rate_limit(headers: httpx.Headers) -> tuple[int | None, float | None]:
    """``RateLimit-Remaining``; ``RateLimit-Reset`` is epoch seconds."""
    remaining, reset = headers.get("ratelimit-remaining"), headers.get("ratelimit-reset")
    if remaining is None or reset is None:
        return None, None
    return int(remaining), float(reset)


def retry_after_seconds(
    headers: httpx.Headers, now: Callable[[], float] = time.time
) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date (RFC 9110)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now())
    except (TypeError, ValueError, IndexError):
        return None  # unreadable: the usual backoff applies


def _page_key(method: str, url: str, body: str | None) -> tuple[str, str, str | None]:
    return method.upper(), url, body


def archive_tmp(path: Path) -> Path:
    """Where an archive is written until it is complete."""
    return path.with_name(f".{path.name}.tmp")


class RawArchive:
    """Gzip JSON lines of recorded pages, written under a temporary name and renamed.

    Each page is flushed as it is written, so a crashed try leaves its pages readable.
    ``earlier``: archives of former tries of the same task (newest first). Their pages,
    complete or cut short, are read back: ``replay`` answers a request from them, in
    order, and writes them again, so this archive holds every page this try used and the
    platform is not asked twice. A former try's archive is never rewritten, so rows it
    landed keep pointing at their pages.
    """

    def __init__(self, path: Path, earlier: list[Path] | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = archive_tmp(path)
        self._salvaged: dict[tuple, deque[RecordedPage]] = {}
        self.salvaged = 0
        # the same try opened again first, then former tries, newest first; a request is
        # answered from the newest archive that has it, never from two
        sources = [path, self._tmp]
        for former in earlier or []:
            sources += [former, archive_tmp(former)]
        for source in sources:
            if source.exists():
                self._salvage(source)
        self._handle = gzip.open(self._tmp, "wt", encoding="utf-8")
        self.lines = 0
        self.replayed = 0

    def _salvage(self, path: Path) -> None:
        found: dict[tuple, deque[RecordedPage]] = {}
        try:
            for page in read_pages(path):
                key = _page_key(page.method, page.url, page.request_body)
                found.setdefault(key, deque()).append(page)
        except (EOFError, zlib.error, OSError, PageFormatError) as exc:
            # the former try died mid-write: what came before the cut is kept
            log.info("%s: archive cut short by a failed try, kept what precedes: %s", path, exc)
        for key, pages in found.items():
            if key not in self._salvaged:
                self._salvaged[key] = pages
                self.salvaged += len(pages)

    def replay(self, method: str, url: str, body: str | None = None) -> RecordedPage | None:
        """The page a former try got for this request, archived again; else None."""
        queue = self._salvaged.get(_page_key(method, url, body))
        if not queue:
            return None
        page = queue.popleft()
        self.replayed += 1
        return RecordedPage(**{**page.__dict__, "ref": self.append(page)})

    def append(self, page: RecordedPage) -> PageRef:
        self.lines += 1
        request: dict = {"method": page.method, "url": page.url}
        if page.request_body is not None:
            request["body"] = json.loads(page.request_body)
        record = {
            "fetched_at": page.fetched_at.isoformat() + "Z",
            "request": request,
            "response": {
                "status": page.status,
                "headers": {k: redact_text(v) for k, v in page.headers.items()},
                "body_text": redact_text(page.body.decode("utf-8", "replace")),
            },
        }
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        return PageRef(str(self.path), self.lines)

    def close(self) -> None:
        self._handle.close()
        os.replace(self._tmp, self.path)


class PlatformClient:
    """A long-lived ``httpx.Client`` for one platform; use it as a context manager.

    Platforms whose errors hide in the body (YouTube's 403 ``quotaExceeded``, Instagram's
    throttling codes on a 400) override ``check_response``.
    """

    def __init__(
        self,
        platform: str,
        base_url: str,
        limiter: RateLimiter,
        archive: RawArchive | None = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        max_attempts: int = 5,
        backoff_max: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        observe_before: datetime | None = None,
        quota: DailyQuota | None = None,
        auth: httpx.Auth | None = None,
        max_retry_after: float = 300.0,
        rate_state_dir: Path | None = None,
    ) -> None:
        self.platform, self.limiter, self.archive = platform, limiter, archive
        if rate_state_dir is not None and limiter.path is None:
            # one window per platform and host (each Mastodon instance has its own)
            host = httpx.URL(base_url).host or "local"
            limiter.path = rate_state_dir / f"ratelimit-{platform}-{safe_host(host)}.json"
        self.max_retry_after = max_retry_after
        self.quota = quota
        _redact_httpx_logs()
        # a run observes its data interval: a fetch made after the interval's end (the run
        # starts then) is dated just inside it, so that run's as-of counts what it fetched
        self.observe_before = observe_before
        # an auth flow (TikTok's client-credentials token) runs beside the archive: its
        # token request, which carries the secret, is never recorded
        self._client = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport, auth=auth
        )
        backoff = tenacity.wait_exponential_jitter(multiplier=0.5, max=backoff_max)
        self._retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((Retryable, httpx.TransportError)),
            wait=lambda state: max(backoff(state), _asked_wait(state)),
            stop=tenacity.stop_after_attempt(max_attempts),
            sleep=sleep,
            reraise=True,
        )
        self.requests = 0

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def get(self, url: str, params: dict | list | None = None, cost: int = 1) -> RecordedPage:
        return self.request("GET", url, params=params, cost=cost)

    def post(
        self,
        url: str,
        params: dict | list | None = None,
        json_body: dict | None = None,
        cost: int = 1,
    ) -> RecordedPage:
        return self.request("POST", url, params=params, json_body=json_body, cost=cost)

    def request(
        self,
        method: str,
        url: str,
        params: dict | list | None = None,
        json_body: dict | None = None,
        cost: int = 1,
    ) -> RecordedPage:
        """One logical request; ``cost`` is what it takes from the daily quota, if any."""
        request = self._client.build_request(method, url, params=params, json=json_body)
        body = request_key(json_body)
        if self.archive is not None:
            page = self.archive.replay(method, redact_url(str(request.url)), body)
            if page is not None:
                if page.status >= 400:
                    raise PlatformHTTPError(page)
                return page
        try:
            return self._retrying(self._send_once, request, body, cost)
        except (Retryable, httpx.TransportError) as exc:
            raise RetriesExhausted(f"{self.platform} {redact_url(url)}: {exc}") from exc

    def check_response(self, status: int, headers: httpx.Headers, body: bytes) -> None:
        """Raise ``Retryable`` or ``QuotaExhausted`` for a platform's special answers."""

    def _send_once(self, request: httpx.Request, body: str | None, cost: int) -> RecordedPage:
        if self.quota is not None:
            self.quota.spend(cost)
        self.limiter.before_request()
        self.requests += 1
        response = self._client.send(request)
        data = response.read()
        self.limiter.after_response(response.headers)
        status = response.status_code
        self.check_response(status, response.headers, data)
        if transient(status):
            asked = retry_after_seconds(response.headers)
            if asked is not None and asked > self.max_retry_after:
                # sleeping that long inside a task would hold a worker slot for nothing
                raise RetriesExhausted(
                    f"{self.platform}: HTTP {status} asks to retry after {asked:.0f} s, "
                    f"past the {self.max_retry_after:.0f} s a task waits"
                )
            raise Retryable(f"HTTP {status}", wait=asked)
        if status < 300:
            try:
                json.loads(data)
            except ValueError as exc:
                raise Retryable(f"undecodable body: {exc}") from exc
        fetched_at = datetime.now(UTC).replace(tzinfo=None)
        if self.observe_before is not None:
            fetched_at = min(fetched_at, self.observe_before - timedelta(microseconds=1))
        page = RecordedPage(
            ref=PageRef("", 0),
            fetched_at=fetched_at,
            method=request.method,
            url=redact_url(str(request.url)),
            status=status,
            headers={k: v for k, v in response.headers.items() if k not in _SECRET_HEADERS},
            body=data,
            request_body=body,
        )
        if self.archive is not None:
            page = RecordedPage(**{**page.__dict__, "ref": self.archive.append(page)})
        if status >= 400:
            raise PlatformHTTPError(page)
        return page


def _asked_wait(state: tenacity.RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    return getattr(exc, "wait", None) or 0.0
