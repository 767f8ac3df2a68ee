"""The shared HTTP layer: one long-lived client per platform and credential.

- retries with exponential backoff and jitter on 429, 5xx, timeouts, transport errors and
  bodies that do not decode; never on other 4xx, which raise ``PlatformHTTPError``;
- a rate limiter fed by the platform's own headers, which waits before a request once the
  window is spent instead of running into a 429;
- every page that came back for good (2xx and 4xx) is written to the raw archive, in the
  recorded-page format of ``ingest.pages``, before anyone parses it; credentials never are.

Exceptions: ``PlatformHTTPError`` (a definitive 4xx, archived; the caller records it) and
``RetriesExhausted`` (the platform kept failing; nothing archived).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import tenacity

from ingest.pages import PageRef, RecordedPage

_SECRET_PARAMS = {"access_token", "key", "token", "client_secret", "password"}
_SECRET_HEADERS = {"authorization", "cookie", "set-cookie", "x-api-key"}
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class PlatformHTTPError(Exception):
    """A 4xx other than 429: retrying will not help. The page was archived."""

    def __init__(self, page: RecordedPage) -> None:
        super().__init__(f"HTTP {page.status} from {page.url}: {page.body[:200]!r}")
        self.page = page


class RetriesExhausted(Exception):
    """The platform kept answering 429/5xx, timing out or sending broken bodies."""


class _Retryable(Exception):
    pass


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


class RateLimiter:
    """Waits before a request while the platform says the window is spent.

    ``read`` turns response headers into (remaining, reset as epoch seconds), or Nones
    when the platform did not say.
    """

    def __init__(
        self,
        read: Callable[[httpx.Headers], tuple[int | None, float | None]],
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._read, self._clock, self._sleep = read, clock, sleep
        self.remaining: int | None = None
        self.reset_at: float | None = None
        self.waited = 0.0

    def before_request(self) -> None:
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


class RawArchive:
    """Gzip JSON lines of recorded pages, written under a temporary name and renamed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = path.with_name(f".{path.name}.tmp")
        self._handle = gzip.open(self._tmp, "wt", encoding="utf-8")
        self.lines = 0

    def append(self, page: RecordedPage) -> PageRef:
        self.lines += 1
        record = {
            "fetched_at": page.fetched_at.isoformat() + "Z",
            "request": {"method": page.method, "url": page.url},
            "response": {
                "status": page.status,
                "headers": page.headers,
                "body_text": page.body.decode("utf-8", "replace"),
            },
        }
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        return PageRef(str(self.path), self.lines)

    def close(self) -> None:
        self._handle.close()
        os.replace(self._tmp, self.path)


class PlatformClient:
    """A long-lived ``httpx.Client`` for one platform; use it as a context manager."""

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
    ) -> None:
        self.platform, self.limiter, self.archive = platform, limiter, archive
        # a run observes its data interval: a fetch made after the interval's end (the run
        # starts then) is dated just inside it, so that run's as-of counts what it fetched
        self.observe_before = observe_before
        self._client = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout, transport=transport
        )
        self._retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type((_Retryable, httpx.TransportError)),
            wait=tenacity.wait_exponential_jitter(multiplier=0.5, max=backoff_max),
            stop=tenacity.stop_after_attempt(max_attempts),
            sleep=sleep,
            reraise=True,
        )
        self.requests = 0

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def get(self, url: str, params: dict | list | None = None) -> RecordedPage:
        try:
            return self._retrying(self._get_once, url, params)
        except (_Retryable, httpx.TransportError) as exc:
            raise RetriesExhausted(f"{self.platform} {redact_url(url)}: {exc}") from exc

    def _get_once(self, url: str, params: dict | list | None) -> RecordedPage:
        self.limiter.before_request()
        self.requests += 1
        response = self._client.get(url, params=params)
        body = response.read()
        self.limiter.after_response(response.headers)
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Retryable(f"HTTP {status}")
        if status < 300:
            try:
                json.loads(body)
            except ValueError as exc:
                raise _Retryable(f"undecodable body: {exc}") from exc
        fetched_at = datetime.now(UTC).replace(tzinfo=None)
        if self.observe_before is not None:
            fetched_at = min(fetched_at, self.observe_before - timedelta(microseconds=1))
        page = RecordedPage(
            ref=PageRef("", 0),
            fetched_at=fetched_at,
            method="GET",
            url=redact_url(str(response.request.url)),
            status=status,
            headers={k: v for k, v in response.headers.items() if k not in _SECRET_HEADERS},
            body=body,
        )
        if self.archive is not None:
            page = RecordedPage(**{**page.__dict__, "ref": self.archive.append(page)})
        if status >= 400:
            raise PlatformHTTPError(page)
        return page
