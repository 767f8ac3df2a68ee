"""Bluesky discovery against a real server on 127.0.0.1: account search by keyword on the
AppView, post search by tag with a PDS session, then the found accounts' profiles for their
follower counts; the queue ranks them by those counts."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ingest.bluesky.client import BlueskyLoginError
from ingest.bluesky.settings import BlueskySources
from ingest.connector import DiscoveryBatch, TaskContext
from ingest.discovery import queue_discovered
from ingest.live_source import Sources, extract_live
from ingest.loader import load_pending
from ingest.pages import read_pages
from radar.warehouse import apply_schema, connect
from tests.helpers.replay_server import ReplayServer, Reply

START = datetime(2026, 11, 20)
ROOT = Path(__file__).resolve().parents[3]
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
JWT = "eyJ-session-jwt-never-stored"
SEARCH_ACTORS = "/xrpc/app.bsky.actor.searchActors"
SEARCH_POSTS = "/xrpc/app.bsky.feed.searchPosts"


def _actor(name: str) -> dict:
    return {"did": f"did:plc:{name}", "handle": f"{name}.bsky.social", "displayName": name}


def _post(name: str, n: int) -> dict:
    return {
        "uri": f"at://did:plc:{name}/app.bsky.feed.post/{n}",
        "cid": "c",
        "author": _actor(name),
        "record": {"text": "#sourdough crumb", "createdAt": "2026-11-19T10:00:00.000Z"},
        "likeCount": 3,
        "indexedAt": "2026-11-19T10:00:01.000Z",
    }


def _serve(server: ReplayServer) -> None:
    # two pages of actors exist; the cap (one page per term) leaves the second unread
    server.routes[f"{SEARCH_ACTORS}?q=sauerteig&limit=100"] = [
        Reply(body=json.dumps({"actors": [_actor("ana"), _actor("ben")], "cursor": "2"}))
    ]
    server.routes["/xrpc/com.atproto.server.createSession"] = [
        Reply(body=json.dumps({"accessJwt": JWT, "refreshJwt": "r", "did": "did:plc:me"}))
    ]
    tag_search = f"{SEARCH_POSTS}?q=%23sourdough&sort=latest&tag=sourdough&limit=100"
    server.routes[tag_search] = [
        Reply(body=json.dumps({"posts": [_post("cleo", 1), _post("cleo", 2), _post("ana", 3)]}))
    ]
    server.routes[SEARCH_POSTS] = [Reply(body=json.dumps({"posts": []}))]  # by keyword
    server.routes["/xrpc/app.bsky.actor.getProfiles"] = [
        Reply(
            body=json.dumps(
                {
                    "profiles": [
                        {**_actor("ana"), "followersCount": 250_000},
                        {**_actor("ben"), "followersCount": 41_000},
                        {**_actor("cleo"), "followersCount": 18_000},
                    ]
                }
            )
        )
    ]


def _sources(server: ReplayServer) -> Sources:
    return Sources.model_validate(
        {
            "bluesky": BlueskySources(base_url=server.url).model_dump(),
            "discovery": {
                "max_pages_per_tag": 1,
                "bluesky": {"enabled": True, "pds_url": server.url},
            },
        }
    )


BATCH = DiscoveryBatch(platform="bluesky", tags=["sourdough"], keywords=["sauerteig"])


def _task(credentials: dict[str, str] | None = None, task: str = "d-0") -> TaskContext:
    """The discovery task's run and try, for the day START."""
    return TaskContext(START, START + timedelta(days=1), "run", task, 1, credentials or {})


def test_search_then_profiles_are_archived_landed_and_queued_by_followers(tmp_path: Path):
    with ReplayServer() as server:
        _serve(server)
        summary = extract_live(
            _sources(server),
            BATCH,
            tmp_path,
            _task(
                {"identifier": "me.bsky.social", "app_password": APP_PASSWORD},
                task="discover_bluesky-0",
            ),
        )
        seen = server.seen
    paths = [s.path.split("?")[0] for s in seen]
    assert paths == [
        SEARCH_ACTORS,
        "/xrpc/com.atproto.server.createSession",
        SEARCH_POSTS,  # by tag
        SEARCH_POSTS,  # by keyword
        "/xrpc/app.bsky.actor.getProfiles",
    ]
    assert seen[2].headers["Authorization"] == f"Bearer {JWT}"
    assert "tag=sourdough" in seen[2].path and "q=%23sourdough" in seen[2].path
    assert "q=sauerteig" in seen[3].path
    # one profile read for every account found
    assert seen[4].path.count("actors=") == 3
    assert summary.rows["account_discoveries"] == 2 + 2 + 3

    # neither the app password nor the session token reaches the archive
    raw = sorted((tmp_path / "raw" / "bluesky").rglob("*.jsonl.gz"))
    assert sorted(p.parent.parent.name for p in raw) == [
        "discovery_profiles",
        "search_actors",
        "search_posts",
    ]
    for path in raw:
        text = gzip.open(path, "rt").read()
        assert APP_PASSWORD not in text and JWT not in text
    assert [len(list(read_pages(p))) for p in raw] == [1, 1, 2]

    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as conn:
        apply_schema(conn, ROOT / "sql")
        load_pending(conn, tmp_path, "run")
        sightings = conn.execute(
            "select account_id, term, followers from core.account_discoveries order by 1, 2"
        ).fetchall()
        niches = {"bread": {"hashtags": ["sourdough"], "keywords": ["sauerteig"]}}
        queued = queue_discovered(conn, niches, START + timedelta(days=1), 2, (10_000, 100_000))
        queue = conn.execute(
            "select handle, term, followers from meta.tracking_queue order by handle"
        ).fetchall()
    assert ("did:plc:ana", "#sourdough", None) in sightings
    assert ("did:plc:ana", "(profile)", 250_000) in sightings
    # search results carry no counts: the queue takes them from the profile reads, and
    # ranks the two micro-band accounts over the 250k one
    assert queued == 2
    assert queue == [
        ("ben.bsky.social", "sauerteig", 41_000),
        ("cleo.bsky.social", "#sourdough", 18_000),
    ]


def test_without_a_session_only_account_search_runs(tmp_path: Path):
    with ReplayServer() as server:
        _serve(server)
        extract_live(
            _sources(server),
            BATCH,
            tmp_path,
            _task(),
        )
        paths = [s.path.split("?")[0] for s in server.seen]
    assert paths == [SEARCH_ACTORS, "/xrpc/app.bsky.actor.getProfiles"]


def test_a_refused_login_names_the_account_not_the_password(tmp_path: Path):
    with ReplayServer() as server:
        _serve(server)
        server.routes["/xrpc/com.atproto.server.createSession"] = [
            Reply(401, '{"error": "AuthenticationRequired", "message": "Invalid password"}')
        ]
        with pytest.raises(BlueskyLoginError, match="me.bsky.social") as refused:
            extract_live(
                _sources(server),
                BATCH,
                tmp_path,
                _task({"identifier": "me.bsky.social", "app_password": APP_PASSWORD}),
            )
    assert APP_PASSWORD not in str(refused.value)


def test_a_given_session_token_searches_posts_without_a_login(tmp_path: Path):
    """The connection's password may be an access JWT made elsewhere (issue #21, 6)."""
    token = "eyJhbGciOiJFUzI1NksifQ.eyJzdWIiOiJkaWQ6cGxjOm1lIn0.c2lnbmF0dXJl"
    with ReplayServer() as server:
        _serve(server)
        extract_live(
            _sources(server),
            BATCH,
            tmp_path,
            _task({"app_password": token}),
        )
        logins = [s for s in server.seen if s.path.endswith("createSession")]
        searched = [s for s in server.seen if "searchPosts" in s.path]
    assert logins == []
    assert searched and all(s.headers["Authorization"] == f"Bearer {token}" for s in searched)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            assert token.encode() not in (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)


def test_a_login_the_server_does_not_implement_is_not_retried(tmp_path: Path):
    """501 says the host will never do this (issue #21, 6): one request, at once."""
    slept = []
    with ReplayServer() as server:
        _serve(server)
        server.routes["/xrpc/com.atproto.server.createSession"] = [
            Reply(501, '{"error": "MethodNotImplemented"}')
        ]
        with pytest.raises(BlueskyLoginError, match="HTTP 501"):
            extract_live(
                _sources(server),
                BATCH,
                tmp_path,
                _task({"identifier": "me.bsky.social", "app_password": APP_PASSWORD}),
                sleep=slept.append,
            )
        logins = [s for s in server.seen if s.path.endswith("createSession")]
    assert len(logins) == 1 and slept == []


def test_a_login_is_retried_through_5xx_and_429(tmp_path: Path):
    with ReplayServer() as server:
        _serve(server)
        server.routes["/xrpc/com.atproto.server.createSession"] = [
            Reply(502, "<html>Bad Gateway</html>"),
            Reply(429, '{"error": "RateLimitExceeded"}'),
            Reply(body=json.dumps({"accessJwt": JWT, "refreshJwt": "r", "did": "did:plc:me"})),
        ]
        extract_live(
            _sources(server),
            BATCH,
            tmp_path,
            _task({"identifier": "me.bsky.social", "app_password": APP_PASSWORD}),
            sleep=lambda s: None,
        )
        logins = [s for s in server.seen if s.path.endswith("createSession")]
        searched = [s for s in server.seen if "searchPosts" in s.path]
    assert len(logins) == 3
    assert searched and searched[0].headers["Authorization"] == f"Bearer {JWT}"
