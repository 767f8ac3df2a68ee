"""A live API emulator: a week world (``synthetic.week``) served on 127.0.0.1 as the
Mastodon REST API of its instances and as the Bluesky AppView and a PDS, at a clock the
caller moves.

At clock ``T`` it answers as the world looks at ``T``: follower counts at ``T``, posts
created by then with their counts at ``T`` (engagement arrives over the first day or
two), posts deleted by then gone (404 by id on Mastodon, left out of Bluesky's
``getPosts`` and of every feed, timeline and search). Routes, by path prefix:

- ``/mastodon/<instance>``: ``/api/v1/accounts/lookup``, ``/api/v1/accounts/:id``,
  ``/api/v1/accounts/:id/statuses`` (``Link`` paging by ``max_id``, ``since_id``,
  ``min_id``), ``/api/v1/timelines/tag/:tag``, ``/api/v2/search?type=accounts``,
  ``/api/v1/statuses/:id`` and ``/api/v1/statuses?id[]=``;
- ``/bsky`` (the public AppView): ``app.bsky.actor.getProfile(s)``, ``searchActors``,
  ``app.bsky.feed.getAuthorFeed`` (cursor paging), ``getPosts`` (25 uris at most);
  ``searchPosts`` answers 403 there, as the public AppView has since 2025;
- ``/pds``: ``com.atproto.server.createSession`` (the configured handle and app
  password) and ``app.bsky.feed.searchPosts`` with the session's bearer token, plus
  every AppView read.

Each platform has a fixed rate-limit window, told in its own headers (Mastodon's
``X-RateLimit-*`` with an ISO reset, Bluesky's ``RateLimit-*`` with epoch seconds), and
answers 429 past it. Faults on top: a seeded fraction of requests (by clock, request and
try, so the same run meets the same faults) get a 429 with spent-window headers or a
5xx, at most two tries in a row; ``faults`` and ``unanswered_faults`` tell whether every
one was retried.
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
import sys
import threading
import time
import traceback
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from synthetic import shapes
from synthetic.week import Boost, WeekAccount, WeekPost, WeekWorld

MASTODON_PAGE_MAX = 40
BLUESKY_PAGE_MAX = 100
GET_POSTS_MAX = 25
GET_PROFILES_MAX = 25
MASTODON_STATUSES_MAX = 20  # GET /api/v1/statuses?id[]=
FAULTS_IN_A_ROW = 2  # the clients try five times
ENGAGEMENT_HOURS = 10.0  # a post has 1 - e^(-age/10 h) of its final counts
NOT_FOUND = {"error": "Record not found"}


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class Window:
    """A fixed rate-limit window: ``limit`` requests per ``seconds`` of wall time."""

    limit: int
    seconds: float


class _Limiter:
    def __init__(self, window: Window) -> None:
        self.window, self.started, self.used = window, 0.0, 0

    def take(self, now: float) -> tuple[int, float]:
        """Spend one request; returns (remaining, reset epoch). Remaining below 0: refused."""
        if now >= self.started + self.window.seconds:
            self.started, self.used = now, 0
        self.used += 1
        return self.window.limit - self.used, self.started + self.window.seconds


def _phrase(query: str) -> re.Pattern:
    """A search query as whole words in order (``trail run`` is no hit in ``trail
    running``; ``@tofu_ana`` is no hit for ``tofu``)."""
    words = [re.escape(w) for w in query.lower().split()]
    return re.compile(r"(?<![\w@])" + r"\s+".join(words) + r"(?!\w)")


def _iso_micro(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LiveAPI:
    """The emulator; a context manager that starts and stops its server thread."""

    def __init__(
        self,
        world: WeekWorld,
        *,
        fault_rate: float = 0.0,
        identifier: str = "radar.bsky.social",
        app_password: str = "abcd-efgh-ijkl-mnop",
        mastodon_window: Window = Window(300, 5.0),
        bluesky_window: Window = Window(3000, 30.0),
    ) -> None:
        self.world = world
        self.clock = world.week_start
        self.fault_rate = fault_rate
        self.identifier, self.app_password = identifier, app_password
        self._limiters = {
            "mastodon": _Limiter(mastodon_window),
            "bsky": _Limiter(bluesky_window),
            "pds": _Limiter(bluesky_window),
        }
        self._lock = threading.Lock()
        self._tries: Counter = Counter()
        self.faults: list[tuple[str, int]] = []
        self.refused: list[str] = []  # requests past a rate-limit window: a client ran into it
        self._walks: Counter = Counter()  # first pages of an account's posts, per clock
        self._answered: set[str] = set()
        self.requests: Counter = Counter()  # per route
        self.errors: list[str] = []  # the emulator's own failures: a test asserts none
        self.sessions: set[str] = set()
        self._index()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # shutdown() waits for serve_forever's next poll: 0.5 s by default
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> LiveAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def mastodon_url(self, instance: str) -> str:
        return f"{self.url}/mastodon/{instance}"

    @property
    def appview_url(self) -> str:
        return f"{self.url}/bsky"

    @property
    def pds_url(self) -> str:
        return f"{self.url}/pds"

    @property
    def unanswered_faults(self) -> list[str]:
        """Requests that met a fault and were never asked again to a good answer."""
        with self._lock:
            return sorted({key for key, _ in self.faults} - self._answered)

    @property
    def repeated(self) -> list[str]:
        """Requests asked again at the same clock though no fault or refusal answered them
        before: a walk or a read done twice in a run."""
        with self._lock:
            excused = Counter(key for key, _ in self.faults) + Counter(self.refused)
            return sorted(k for k, n in self._tries.items() if n > 1 + excused[k])

    @property
    def walked_twice(self) -> list[str]:
        """Accounts whose posts were walked twice at one clock (a profile lookup or a
        feed's first page answered twice), whatever key the walk named them by."""
        with self._lock:
            return sorted(k for k, n in self._walks.items() if n > 1)

    def _walked(self, account: WeekAccount) -> None:
        with self._lock:
            self._walks[f"{self.clock.isoformat()} {account.platform} {account.key}"] += 1

    # --- the world, indexed once -------------------------------------------------------

    def _index(self) -> None:
        world = self.world
        self._m_accounts: dict[tuple[str, str], WeekAccount] = {}
        self._m_by_id: dict[str, WeekAccount] = {}
        self._timelines: dict[int, list[tuple[int, WeekPost | Boost]]] = {}
        self._m_statuses: dict[str, WeekPost | Boost] = {}
        self._tags: dict[str, list[tuple[int, WeekPost]]] = {}
        self._b_accounts: dict[str, WeekAccount] = {}
        self._feeds: dict[int, list[tuple[tuple[str, str], WeekPost | Boost]]] = {}
        self._uris: dict[str, WeekPost] = {}
        self._b_posts: list[WeekPost] = []
        self._post_times: dict[tuple[str, int], list[datetime]] = {}
        for account in world.accounts:
            self._post_times[(account.platform, account.index)] = sorted(
                p.created_at for p in account.posts
            )
            if account.platform == "mastodon":
                self._m_accounts[(account.user.lower(), account.instance)] = account
                self._m_by_id[_mastodon_id(account)] = account
                self._timelines[account.index] = []
            else:
                self._b_accounts[shapes.did_of(account)] = account
                self._b_accounts[account.handle.lower()] = account
                self._feeds[account.index] = []
            for post in account.posts:
                if account.platform == "mastodon":
                    status_id = int(shapes.snowflake(post.created_at, post.post_no))
                    self._timelines[account.index].append((status_id, post))
                    self._m_statuses[str(status_id)] = post
                    for tag in {t.lower() for t in post.hashtags}:
                        self._tags.setdefault(tag, []).append((status_id, post))
                else:
                    self._feeds[account.index].append((_sort_key(post), post))
                    self._uris[post.key] = post
                    self._b_posts.append(post)
        for boost in world.boosts:
            if boost.booster.platform == "mastodon":
                status_id = int(shapes.snowflake(boost.at, boost.seq))
                self._timelines[boost.booster.index].append((status_id, boost))
                self._m_statuses[str(status_id)] = boost
            else:
                key = (shapes.iso(boost.at), f"repost/{boost.seq}")
                self._feeds[boost.booster.index].append((key, boost))
        for entries in (*self._timelines.values(), *self._tags.values()):
            entries.sort(key=lambda e: e[0], reverse=True)
        for items in self._feeds.values():
            items.sort(key=lambda e: e[0], reverse=True)
        self._b_posts.sort(key=lambda p: p.created_at, reverse=True)

    # --- the world at the clock --------------------------------------------------------

    def _account_at(self, account: WeekAccount, at: datetime) -> WeekAccount:
        times = self._post_times[(account.platform, account.index)]
        return replace(
            account,
            followers=float(self.world.followers_at(account, at)),
            statuses=account.statuses + bisect_right(times, at),
        )

    @staticmethod
    def _counted(post: WeekPost, at: datetime) -> WeekPost:
        """The post with the counts it has at ``at``: engagement keeps arriving for a day
        or two after posting."""
        hours = max((at - post.created_at).total_seconds() / 3600, 0.0)
        share = 1 - math.exp(-hours / ENGAGEMENT_HOURS)
        return replace(
            post,
            likes=int(post.likes * share),
            comments=int(post.comments * share),
            shares=int(post.shares * share),
            quotes=int(post.quotes * share),
        )

    def _m_account_json(self, account: WeekAccount, instance: str) -> dict:
        at = self.clock
        return shapes.mastodon_account(self._account_at(account, at), at, seen_from=instance)

    def _m_status_json(self, entry: WeekPost | Boost, instance: str) -> dict:
        if isinstance(entry, Boost):
            booster = self._m_account_json(entry.booster, instance)
            original = self._m_status_json(entry.original, instance)
            return shapes.mastodon_boost(entry.booster, booster, original, entry.at, entry.seq)
        author = self._m_account_json(entry.author, instance)
        return shapes.mastodon_status(self._counted(entry, self.clock), author)

    def _b_view(self, post: WeekPost) -> dict:
        view = shapes.bluesky_post_view(self._counted(post, self.clock))
        record = view["record"]
        if post.record_tags:  # tags beside the text, not in it
            record["text"], record["facets"] = post.text, []
            record["tags"] = list(post.hashtags)
        if post.client_created_at is not None:
            record["createdAt"] = shapes.iso(post.client_created_at)
        return view

    def _b_profile(self, account: WeekAccount) -> dict:
        return shapes.bluesky_profile(self._account_at(account, self.clock))

    def _b_actor(self, account: WeekAccount) -> dict:
        return {
            **shapes.bluesky_author(account),
            "description": shapes._bio(account),
            "indexedAt": "2024-01-01T00:00:00.000Z",
        }

    # --- HTTP --------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # one write per answer, sent at once: headers and body written apart on a
            # kept-alive connection wait out the client's delayed ACK (40 ms each)
            wbufsize = -1
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                self._serve(b"")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(length) if length else b"")

            def _serve(self, body: bytes) -> None:
                answer = api.answer(self.command, self.path, dict(self.headers), body)
                text = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
                data = text.encode()
                try:
                    self.send_response(answer.status)
                    kind = "text/html" if isinstance(answer.body, str) else "application/json"
                    self.send_header("Content-Type", f"{kind}; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """One request, as the platform would answer it at the clock (faults included)."""
        parts = urlsplit(path)
        segments = parts.path.strip("/").split("/")
        platform = segments[0] if segments else ""
        key = f"{self.clock.isoformat()} {method} {path}"
        with self._lock:
            tries = self._tries[key]
            self._tries[key] += 1
        fault = self._fault(key, tries)
        if platform not in self._limiters:
            return Answer(404, NOT_FOUND, {})
        now = time.time()
        with self._lock:
            remaining, reset = self._limiters[platform].take(now)
        if fault == 429:  # another limit than the window's, spent for a second
            remaining, reset = 0, now + 1
        limit_headers = self._limit_headers(platform, max(remaining, 0), reset)
        if fault is not None or remaining < 0:
            status = fault or 429
            with self._lock:
                if fault is not None:
                    self.faults.append((key, status))
                else:
                    self.refused.append(key)
                self.requests["429 past the window" if fault is None else f"fault {status}"] += 1
            return Answer(status, self._fault_body(platform, status), limit_headers)
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            if platform == "mastodon":
                answer = self._mastodon(segments[1], segments[2:], query)
            else:
                answer = self._bluesky(platform, segments[1:], query, headers, method, body)
        except Exception:  # the emulator's own bug: told, and never taken for a fault
            self.errors.append(traceback.format_exc())
            print(self.errors[-1], file=sys.stderr)
            answer = Answer(500, {"error": "emulator failure"}, {})
        with self._lock:
            self._answered.add(key)
        answer.headers.update(limit_headers)
        return answer

    def _fault(self, key: str, tries: int) -> int | None:
        if self.fault_rate <= 0 or tries >= FAULTS_IN_A_ROW:
            return None
        rng = random.Random(f"{self.world.seed}:{key}:{tries}")
        if rng.random() >= self.fault_rate:
            return None
        return 429 if rng.random() < 0.6 else rng.choice((500, 502, 503))

    @staticmethod
    def _fault_body(platform: str, status: int) -> Any:
        if status == 429:
            if platform == "mastodon":
                return {"error": "Too many requests"}
            return {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        if status == 502:
            return "<html><body><h1>502 Bad Gateway</h1></body></html>"
        return {"error": "InternalServerError", "message": "Internal Server Error"}

    def _limit_headers(self, platform: str, remaining: int, reset: float) -> dict[str, str]:
        window = self._limiters[platform].window
        if platform == "mastodon":
            return {
                "X-RateLimit-Limit": str(window.limit),
                "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": _iso_micro(reset),
            }
        return {
            "RateLimit-Limit": str(window.limit),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(math.ceil(reset)),
            "RateLimit-Policy": f"{window.limit};w={window.seconds:g}",
        }

    def _count(self, route: str) -> None:
        with self._lock:
            self.requests[route] += 1

    # --- Mastodon ----------------------------------------------------------------------

    def _mastodon(self, instance: str, rest: list[str], query: dict) -> Answer:
        path = "/".join(rest)
        if path == "api/v1/accounts/lookup":
            self._count("mastodon lookup")
            return self._m_lookup(instance, query)
        if match := re.fullmatch(r"api/v1/accounts/([^/]+)/statuses", path):
            self._count("mastodon statuses")
            return self._m_account_statuses(instance, match[1], query)
        if match := re.fullmatch(r"api/v1/accounts/([^/]+)", path):
            account = self._m_by_id.get(match[1])
            if account is None:
                return Answer(404, NOT_FOUND, {})
            return Answer(200, self._m_account_json(account, instance), {})
        if match := re.fullmatch(r"api/v1/timelines/tag/([^/]+)", path):
            self._count("mastodon tag timeline")
            return self._m_tag(instance, unquote(match[1]).lower(), query)
        if path == "api/v2/search":
            self._count("mastodon search")
            return self._m_search(instance, query)
        if match := re.fullmatch(r"api/v1/statuses/([^/]+)", path):
            self._count("mastodon status")
            entry = self._m_statuses.get(match[1])
            if entry is None or not entry.visible_at(self.clock):
                return Answer(404, NOT_FOUND, {})
            return Answer(200, self._m_status_json(entry, instance), {})
        if path == "api/v1/statuses":
            self._count("mastodon statuses by id")
            ids = query.get("id[]", [])
            if len(ids) > MASTODON_STATUSES_MAX:
                return Answer(422, {"error": "Too many ids"}, {})
            found = [self._m_statuses.get(i) for i in ids]
            shown = [e for e in found if e is not None and e.visible_at(self.clock)]
            return Answer(200, [self._m_status_json(e, instance) for e in shown], {})
        return Answer(404, NOT_FOUND, {})

    def _m_lookup(self, instance: str, query: dict) -> Answer:
        acct = (query.get("acct") or [""])[0].lstrip("@").lower()
        user, _, domain = acct.partition("@")
        account = self._m_accounts.get((user, domain or instance))
        if account is None:
            return Answer(404, NOT_FOUND, {})
        self._walked(account)
        return Answer(200, self._m_account_json(account, instance), {})

    def _m_page(
        self, instance: str, path: str, entries: list[tuple[int, Any]], query: dict
    ) -> Answer:
        """Newest first, ``limit`` at most, within ``max_id``/``since_id``/``min_id``; a
        ``Link`` header to the older and newer pages when any status was shown."""
        limit = _limit(query, 20, MASTODON_PAGE_MAX)
        max_id = _int_param(query, "max_id")
        since_id = _int_param(query, "since_id")
        min_id = _int_param(query, "min_id")
        shown = [
            (i, e)
            for i, e in entries
            if (max_id is None or i < max_id)
            and (since_id is None or i > since_id)
            and (min_id is None or i > min_id)
            and e.visible_at(self.clock)
        ]
        # min_id pages forward: the statuses just after it, still shown newest first
        page = shown[-limit:] if min_id is not None else shown[:limit]
        headers = {}
        if page:
            base = f"{self.mastodon_url(instance)}/{path}"
            older = urlencode({"limit": limit, "max_id": page[-1][0]})
            newer = urlencode({"limit": limit, "min_id": page[0][0]})
            headers["Link"] = f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'
        statuses = [self._m_status_json(e, instance) for _, e in page]
        return Answer(200, statuses, headers)

    def _m_account_statuses(self, instance: str, account_id: str, query: dict) -> Answer:
        account = self._m_by_id.get(account_id)
        if account is None:
            return Answer(404, NOT_FOUND, {})
        entries = self._timelines[account.index]
        if _flag(query, "exclude_reblogs"):
            entries = [(i, e) for i, e in entries if not isinstance(e, Boost)]
        if _flag(query, "exclude_replies"):
            entries = [(i, e) for i, e in entries if isinstance(e, Boost) or not e.is_reply]
        return self._m_page(instance, f"api/v1/accounts/{account_id}/statuses", entries, query)

    def _m_tag(self, instance: str, tag: str, query: dict) -> Answer:
        """A federated tag timeline: every instance's public posts under the tag."""
        entries = self._tags.get(tag, [])
        if not any(e.created_at <= self.clock for _, e in entries):
            return Answer(404, NOT_FOUND, {})  # no such tag yet
        path = f"api/v1/timelines/tag/{quote(tag, safe='')}"
        return self._m_page(instance, path, entries, query)

    def _m_search(self, instance: str, query: dict) -> Answer:
        """Accounts whose name or bio hold the query's words (the public search since 4.0:
        accounts only, no offset)."""
        q = (query.get("q") or [""])[0]
        kind = (query.get("type") or ["accounts"])[0]
        limit = _limit(query, 20, MASTODON_PAGE_MAX)
        found = []
        if kind == "accounts" and q.strip():
            pattern = _phrase(q)
            for account in self._m_by_id.values():
                name = f"{account.user} {account.user.split('_')[0]} {shapes._bio(account)}"
                if pattern.search(name.lower()):
                    found.append(account)
        body = {
            "accounts": [self._m_account_json(a, instance) for a in found[:limit]],
            "statuses": [],
            "hashtags": [],
        }
        return Answer(200, body, {})

    # --- Bluesky -----------------------------------------------------------------------

    def _bluesky(
        self, host: str, rest: list[str], query: dict, headers: dict, method: str, body: bytes
    ) -> Answer:
        if len(rest) != 2 or rest[0] != "xrpc":
            return Answer(404, {"error": "NotFound", "message": "no such method"}, {})
        nsid = rest[1]
        self._count(f"{host} {nsid}")
        if nsid == "com.atproto.server.createSession" and host == "pds" and method == "POST":
            return self._create_session(body)
        if nsid == "app.bsky.feed.searchPosts":
            if host != "pds":
                # the public AppView refuses post search (atproto #3423)
                return Answer(403, {"error": "Forbidden", "message": "Forbidden"}, {})
            token = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
            if not token:
                missing = {"error": "AuthMissing", "message": "Authentication Required"}
                return Answer(401, missing, {})
            if token.removeprefix("Bearer ") not in self.sessions:
                invalid = {"error": "InvalidToken", "message": "Token is invalid"}
                return Answer(400, invalid, {})
            return self._search_posts(query)
        readers = {
            "app.bsky.actor.getProfiles": self._get_profiles,
            "app.bsky.actor.getProfile": self._get_profile,
            "app.bsky.feed.getAuthorFeed": self._author_feed,
            "app.bsky.feed.getPosts": self._get_posts,
            "app.bsky.actor.searchActors": self._search_actors,
        }
        if nsid not in readers or method != "GET":
            return Answer(501, {"error": "MethodNotImplemented", "message": nsid}, {})
        return readers[nsid](query)

    def _create_session(self, body: bytes) -> Answer:
        try:
            login = json.loads(body)
        except ValueError:
            return Answer(400, {"error": "InvalidRequest", "message": "bad body"}, {})
        known = (login.get("identifier"), login.get("password"))
        if known != (self.identifier, self.app_password):
            refused = "Invalid identifier or password"
            return Answer(401, {"error": "AuthenticationRequired", "message": refused}, {})
        did = "did:plc:radarsessionaccount0000"
        claims = {"scope": "com.atproto.appPass", "sub": did, "n": len(self.sessions)}
        token = ".".join(
            base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
            for part in ({"typ": "at+jwt", "alg": "ES256K"}, claims, {"sig": self.world.seed})
        )
        with self._lock:
            self.sessions.add(token)
        session = {
            "accessJwt": token,
            "refreshJwt": token + "r",
            "handle": self.identifier,
            "did": did,
            "active": True,
        }
        return Answer(200, session, {})

    def _actor(self, actor: str) -> WeekAccount | None:
        return self._b_accounts.get(actor.lstrip("@").lower())

    def _get_profiles(self, query: dict) -> Answer:
        actors = query.get("actors", [])
        if len(actors) > GET_PROFILES_MAX:
            return Answer(400, {"error": "InvalidRequest", "message": "too many actors"}, {})
        found = [a for a in map(self._actor, actors) if a is not None]
        return Answer(200, {"profiles": [self._b_profile(a) for a in found]}, {})

    def _get_profile(self, query: dict) -> Answer:
        account = self._actor((query.get("actor") or [""])[0])
        if account is None:
            return Answer(400, {"error": "InvalidRequest", "message": "Profile not found"}, {})
        return Answer(200, self._b_profile(account), {})

    def _author_feed(self, query: dict) -> Answer:
        """Newest first by sort time (the earlier of createdAt and indexedAt, a repost's
        own time), ``limit`` at most after ``cursor``; a cursor while more remain."""
        account = self._actor((query.get("actor") or [""])[0])
        if account is None:
            return Answer(400, {"error": "InvalidRequest", "message": "Profile not found"}, {})
        limit = _limit(query, 50, BLUESKY_PAGE_MAX)
        cursor = (query.get("cursor") or [None])[0]
        after = tuple(cursor.split("::", 1)) if cursor else None
        if cursor is None:
            self._walked(account)
        no_replies = (query.get("filter") or [""])[0] == "posts_no_replies"
        shown = [
            (key, e)
            for key, e in self._feeds[account.index]
            if (after is None or key < after)
            and e.visible_at(self.clock)
            and not (no_replies and isinstance(e, WeekPost) and e.is_reply)
        ]
        page = shown[:limit]
        feed = []
        for _, entry in page:
            if isinstance(entry, Boost):
                view = self._b_view(entry.original)
                feed.append(shapes.bluesky_repost_item(entry.booster, view, entry.at, entry.seq))
            else:
                feed.append({"post": self._b_view(entry)})
        body: dict[str, Any] = {"feed": feed}
        if len(shown) > limit:
            body["cursor"] = "::".join(page[-1][0])
        return Answer(200, body, {})

    def _get_posts(self, query: dict) -> Answer:
        uris = query.get("uris", [])
        if len(uris) > GET_POSTS_MAX:
            return Answer(400, {"error": "InvalidRequest", "message": "too many uris"}, {})
        found = [self._uris.get(u) for u in uris]
        shown = [p for p in found if p is not None and p.visible_at(self.clock)]
        return Answer(200, {"posts": [self._b_view(p) for p in shown]}, {})

    def _search_actors(self, query: dict) -> Answer:
        q = (query.get("q") or query.get("term") or [""])[0]
        limit = _limit(query, 25, BLUESKY_PAGE_MAX)
        offset = _int_param(query, "cursor") or 0
        pattern = _phrase(q) if q.strip() else None
        found = []
        for did, account in self._b_accounts.items():
            if pattern is None or not did.startswith("did:"):
                continue
            name = f"{account.handle} {account.user.split('_')[0]} {shapes._bio(account)}"
            if pattern.search(name.lower()):
                found.append(account)
        page = found[offset : offset + limit]
        body: dict[str, Any] = {"actors": [self._b_actor(a) for a in page]}
        if offset + limit < len(found):
            body["cursor"] = str(offset + limit)
        return Answer(200, body, {})

    def _search_posts(self, query: dict) -> Answer:
        """Posts (newest first) holding every ``tag`` and the query's words; a ``#word``
        in the query is a tag too."""
        q = (query.get("q") or [""])[0]
        limit = _limit(query, 25, BLUESKY_PAGE_MAX)
        offset = _int_param(query, "cursor") or 0
        tags = {t.lstrip("#").lower() for t in query.get("tag", [])}
        tags |= {w[1:].lower() for w in q.split() if w.startswith("#")}
        words = [w for w in q.split() if not w.startswith("#")]
        pattern = _phrase(" ".join(words)) if words else None
        found = []
        for post in self._b_posts:
            if not post.visible_at(self.clock):
                continue
            if tags and not tags <= {t.lower() for t in post.hashtags}:
                continue
            if pattern is not None and not pattern.search(post.text.lower()):
                continue
            found.append(post)
        page = found[offset : offset + limit]
        body: dict[str, Any] = {"posts": [self._b_view(p) for p in page], "hitsTotal": len(found)}
        if offset + limit < len(found):
            body["cursor"] = str(offset + limit)
        return Answer(200, body, {})


def _mastodon_id(account: WeekAccount) -> str:
    return str(100_000_000_000 + account.index)  # as shapes.mastodon_account writes it


def _sort_key(post: WeekPost) -> tuple[str, str]:
    """A feed's order: the earlier of createdAt and indexedAt, then the record key."""
    return (shapes.iso(post.trusted_created_at), post.key.rsplit("/", 1)[-1])


def _limit(query: dict, default: int, most: int) -> int:
    value = _int_param(query, "limit")
    return min(max(value if value is not None else default, 1), most)


def _int_param(query: dict, name: str) -> int | None:
    try:
        return int(query[name][0])
    except (KeyError, IndexError, ValueError):
        return None


def _flag(query: dict, name: str) -> bool:
    return (query.get(name) or ["false"])[0].lower() in ("1", "true")
