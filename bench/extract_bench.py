"""Extraction benchmark: how much of a platform's allowed rate the live client uses.

A Mastodon-shaped server on 127.0.0.1 enforces a fixed-window rate limit the way Mastodon
does (``X-RateLimit-Limit/Remaining/Reset``, HTTP 429 past the limit) and serves every
account's statuses as pages of 40 synthetic statuses linked by ``Link: rel="next"``. The
radar's own ``MastodonClient`` walks the accounts with the raw archive on, as a live run
does. Reported: requests per second, utilisation of the allowed rate, and the 429s the
client ran into (any 429 here is self-inflicted: nobody else uses the server).

    python -m bench.extract_bench --limit 300 --window 5 --accounts 40 --pages 15
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bench.common import machine, publish

SINCE = datetime(2026, 1, 1)


class RateLimitedMastodon:
    """Fixed windows of ``window`` seconds, ``limit`` requests each, counted server-side."""

    def __init__(self, limit: int, window: float, pages_per_account: int) -> None:
        self.limit, self.window, self.pages = limit, window, pages_per_account
        self.lock = threading.Lock()
        self.window_start: float | None = None  # the first request opens the first window
        self.windows = 0  # windows in which at least one request was served
        self.used = 0
        self.served = 0
        self.rejected = 0
        self.bodies = _page_bodies(pages_per_account)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real server
            disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> RateLimitedMastodon:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _take(self) -> tuple[bool, int, float]:
        with self.lock:
            now = time.time()
            if self.window_start is None:
                self.window_start = now
            if now >= self.window_start + self.window:
                elapsed = now - self.window_start
                self.window_start += self.window * math.floor(elapsed / self.window)
                self.used = 0
            if self.used == 0:
                self.windows += 1
            reset = self.window_start + self.window
            if self.used >= self.limit:
                self.rejected += 1
                return False, 0, reset
            self.used += 1
            self.served += 1
            return True, self.limit - self.used, reset

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        ok, remaining, reset = self._take()
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": datetime.fromtimestamp(reset, UTC).isoformat(),
            "Content-Type": "application/json; charset=utf-8",
        }
        if not ok:
            body = b'{"error":"Too many requests"}'
            status = 429
        else:
            status, body = 200, self._page(handler.path, headers)
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _page(self, path: str, headers: dict[str, str]) -> bytes:
        parts = urlsplit(path)
        account = parts.path.split("/")[4]
        page = int(parse_qs(parts.query).get("page", ["0"])[0])
        if page + 1 < self.pages:
            headers["Link"] = (
                f'<{self.url}/api/v1/accounts/{account}/statuses?page={page + 1}>; rel="next"'
            )
        return self.bodies[page]


def _page_bodies(pages: int) -> list[bytes]:
    """Pages of 40 statuses, newest first, one day apart, from the synthetic world."""
    import random

    from synthetic import shapes
    from synthetic.world import Niche, make_account, posts_for_day

    niche = Niche("sourdough_baking", ("sourdough", "levain"), ("sourdough", "breadbaking"))
    account = make_account(7, "mastodon", 1, [niche], 30, 40.0)
    account.rng = random.Random(7)
    account.rate = 40.0
    bodies, counter = [], [0]
    day = date(2026, 11, 20)
    for _ in range(pages):
        posts = posts_for_day(account, day, counter)[:40]
        at = datetime.combine(day, datetime.min.time())
        account_json = shapes.mastodon_account(account, at)
        statuses = [shapes.mastodon_status(p, account_json) for p in reversed(posts)]
        bodies.append(json.dumps(statuses).encode())
        day -= timedelta(days=1)
    return bodies


def run(limit: int, window: float, accounts: int, pages: int, workdir: Path) -> dict:
    from ingest.http import RawArchive
    from ingest.mastodon.client import MastodonClient

    with RateLimitedMastodon(limit, window, pages) as server:
        archive = RawArchive(workdir / "raw" / "statuses.jsonl.gz")
        started = time.perf_counter()
        with MastodonClient(server.url, archive, max_attempts=8) as client:
            for n in range(accounts):
                for _ in client.statuses(str(n), SINCE):
                    pass
            waited = client.limiter.waited
        elapsed = time.perf_counter() - started
        archive.close()
        served, rejected, windows = server.served, server.rejected, server.windows
    allowed = limit / window
    return {
        "requests": served,
        "seconds": round(elapsed, 2),
        "requests_per_s": round(served / elapsed, 1),
        "allowed_per_s": round(allowed, 1),
        # of the requests the windows it touched allowed, the share the client sent
        "utilisation": served / (windows * limit),
        "http_429": rejected,
        "waited_s": round(waited, 2),
    }


def report(result: dict, limit: int, window: float, ceiling: dict | None = None) -> str:
    lines = [
        f"### Extraction against a rate-limited loopback Mastodon ({machine()})",
        "",
        "Pages of 40 statuses (about 80 KB), each archived; one client, as one extract task.",
        "",
        "| limit | requests | wall (s) | requests/s | allowed/s | utilisation | 429s "
        "| waited (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    rows = [(f"{limit} per {window:g} s", result)]
    if ceiling is not None:
        rows.append(("none (the client's ceiling)", ceiling))
    for label, r in rows:
        utilisation = f"{r['utilisation']:.1%}" if label[0].isdigit() else "-"
        allowed = r["allowed_per_s"] if label[0].isdigit() else "-"
        lines.append(
            f"| {label} | {r['requests']:,} | {r['seconds']} | {r['requests_per_s']} | "
            f"{allowed} | {utilisation} | {r['http_429']} | {r['waited_s']} |"
        )
    lines += [
        "",
        "Utilisation: requests sent / requests allowed in the windows the run touched (a "
        "window opens at its first request, as on Mastodon).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.extract_bench")
    parser.add_argument("--limit", type=int, default=300, help="requests per window")
    parser.add_argument("--window", type=float, default=5.0, help="window length, seconds")
    parser.add_argument("--accounts", type=int, default=40)
    parser.add_argument("--pages", type=int, default=15, help="pages per account")
    parser.add_argument("--append-to", type=Path, help="markdown file to append the table to")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="radar-extract-bench-") as workdir:
        result = run(args.limit, args.window, args.accounts, args.pages, Path(workdir) / "a")
        ceiling = run(10**9, 1.0, args.accounts, args.pages, Path(workdir) / "b")
    text = report(result, args.limit, args.window, ceiling)
    publish(text, args.append_to)


if __name__ == "__main__":
    main()
