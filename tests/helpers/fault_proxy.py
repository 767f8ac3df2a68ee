"""A rate-limited Mastodon on 127.0.0.1 and a fault-injecting proxy in front of it.

``FakeMastodon`` serves accounts and their statuses, five a page linked by ``Link:
rel="next"``, under a fixed-window rate limit told in ``X-RateLimit-*`` headers; a request
past the limit is a 429 it counts as the client's fault. ``FaultProxy`` forwards requests
to it, or answers with a seeded fault instead: 429 with and without ``Retry-After``, 5xx,
connection resets, stalls past the client's timeout, truncated and garbled bodies. It
records every ``Retry-After`` window it opened and every request that arrived inside one.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.helpers.feed_builder import mastodon_account, mastodon_status

INSTANCE = "faulty.social"
NEWEST = datetime(2026, 11, 20, 6)
FAULTS = (
    "429_retry_after",
    "429",
    "500",
    "502",
    "503_retry_after",
    "reset",
    "stall",
    "cut",
    "garbled",
)


class _Server:
    def __init__(self, handle) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                try:
                    handle(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class FakeMastodon(_Server):
    """``accounts`` users with ``pages`` pages of five statuses each, ``limit`` requests per
    ``window`` seconds. ``public_url`` is where clients reach it (the proxy), for links."""

    def __init__(self, accounts: int, pages: int, limit: int, window: float) -> None:
        super().__init__(self._answer)
        self.accounts, self.pages, self.limit, self.window = accounts, pages, limit, window
        self.public_url = ""
        self.lock = threading.Lock()
        self.window_start: float | None = None
        self.used = 0
        self.over_limit = 0  # requests that arrived with the window spent: the client's fault
        self.served: Counter[str] = Counter()

    def account(self, i: int) -> dict:
        return mastodon_account(f"u{i}", INSTANCE, 10_000 + i, local_id=str(i + 1))

    def statuses(self, i: int, page: int) -> list[dict]:
        account = self.account(i)
        first = (page * 5) + 1
        return [
            mastodon_status(
                account,
                INSTANCE,
                f"{i + 1}{n:05d}",
                NEWEST - timedelta(hours=n),
                f"post {n} of u{i} about #sourdough",
                likes=n,
            )
            for n in range(first, first + 5)
        ]

    def expected_post_ids(self) -> set[str]:
        return {
            f"{i + 1}{n:05d}" for i in range(self.accounts) for n in range(1, self.pages * 5 + 1)
        }

    def _take(self) -> tuple[bool, int, float]:
        with self.lock:
            now = time.time()
            if self.window_start is None or now >= self.window_start + self.window:
                self.window_start, self.used = now, 0
            reset = self.window_start + self.window
            if self.used >= self.limit:
                self.over_limit += 1
                return False, 0, reset
            self.used += 1
            return True, self.limit - self.used, reset

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        ok, remaining, reset = self._take()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": datetime.fromtimestamp(reset, UTC).isoformat(),
        }
        if not ok:
            _send(handler, 429, b'{"error": "Too many requests"}', headers)
            return
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        if parts.path == "/api/v1/accounts/lookup":
            user = query["acct"][0].split("@")[0]
            body = self.account(int(user[1:]))
        else:
            i = int(parts.path.split("/")[4]) - 1
            page = int(query.get("page", ["0"])[0])
            body = self.statuses(i, page)
            if page + 1 < self.pages:
                nxt = f"{self.public_url}/api/v1/accounts/{i + 1}/statuses?page={page + 1}"
                headers["Link"] = f'<{nxt}>; rel="next"'
        with self.lock:
            self.served[handler.path] += 1
        _send(handler, 200, json.dumps(body).encode(), headers)


class FaultProxy(_Server):
    """Forwards to ``upstream``, or, with probability ``rate``, answers with a fault."""

    def __init__(self, upstream: FakeMastodon, rate: float, seed: int, stall: float) -> None:
        super().__init__(self._answer)
        self.upstream, self.rate, self.stall = upstream, rate, stall
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.faults: Counter[str] = Counter()
        self.retry_after_until = 0.0  # the end of the latest Retry-After window opened
        self.inside_retry_after = 0  # requests that arrived before it ended
        self.requests = 0

    def _choose(self) -> tuple[str | None, float]:
        with self.lock:
            self.requests += 1
            if time.time() < self.retry_after_until:
                self.inside_retry_after += 1
            if self.rng.random() >= self.rate:
                return None, 0.0
            # stalls cost the client a timeout each: rarer than the rest
            fault = self.rng.choices(FAULTS, weights=[3, 2, 2, 2, 2, 2, 0.3, 2, 2])[0]
            wait = round(self.rng.uniform(0.01, 0.04), 3)
            self.faults[fault] += 1
            if fault.endswith("retry_after"):
                self.retry_after_until = max(self.retry_after_until, time.time() + wait)
            return fault, wait

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        fault, wait = self._choose()
        if fault is None:
            status, headers, body = self._forward(handler.path)
            _send(handler, status, body, headers)
        elif fault.startswith(("429", "50")):
            status = int(fault[:3])
            headers = {"Retry-After": str(wait)} if fault.endswith("retry_after") else {}
            _send(handler, status, b'{"error": "injected"}', headers)
        elif fault == "reset":
            # SO_LINGER 0: close() sends a TCP reset instead of a clean end
            linger = struct.pack("ii", 1, 0)
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            handler.close_connection = True
        elif fault == "stall":
            time.sleep(self.stall)
            handler.close_connection = True
        elif fault == "cut":
            status, headers, body = self._forward(handler.path)
            handler.send_response(status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body[: len(body) // 2])
            handler.close_connection = True
        else:  # garbled: a 200 whose body is not JSON, as a broken cache would send
            _send(handler, 200, b"<html>upstream error</html>", {"Content-Type": "text/html"})

    def _forward(self, path: str) -> tuple[int, dict, bytes]:
        host, port = urlsplit(self.upstream.url).netloc.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            keep = ("content-type", "link", "x-ratelimit-limit", "x-ratelimit-remaining")
            headers = {k: v for k, v in response.getheaders() if k.lower() in keep}
            reset = response.getheader("X-RateLimit-Reset")
            if reset is not None:
                headers["X-RateLimit-Reset"] = reset
            return response.status, headers, body
        finally:
            conn.close()
