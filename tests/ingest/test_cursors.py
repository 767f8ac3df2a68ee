"""Cursors belong to tracked accounts, and a newly tracked account's first walk reaches
``initial_days`` back, whatever posts of it a tracked account boosted or reposted before.

The live source runs for real, task body by task body: ``ingest.runs.plan_extract``,
``ingest.live_source.extract_live`` (what ``runs.extract`` runs for a live batch; here it
can be given a daily quota) against platform APIs replayed on 127.0.0.1, ``runs.load``
into a DuckDB file, and for discovery ``runs.queue_discovered``.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from ingest import runs
from ingest.bluesky.client import FEED_PAGE_SIZE
from ingest.connector import DiscoveryBatch, LiveBatch, TaskContext
from ingest.http import DailyQuota
from ingest.live_source import extract_live, load_sources, read_cursors
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect, schema_files
from tests.helpers.feed_builder import iso, mastodon_account, mastodon_status
from tests.helpers.paths import ROOT
from tests.helpers.replay_server import ReplayServer, Reply
from tests.helpers.warehouse_helpers import query

INSTANCE = "greens.social"
LOOKBACK, INITIAL = 7, 30
# alice (tracked) boosts one of dora's posts on RUN_1's day; discovery then queues dora
RUN_1, RUN_2 = datetime(2026, 11, 10), datetime(2026, 11, 20)
DORA = "dora@greens.social"
DORA_STATUSES = "/api/v1/accounts/9/statuses"


@pytest.fixture
def live(radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A function that writes config/sources.yaml (the repository's config otherwise) and
    points the live source at it."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    monkeypatch.setenv("RADAR_SOURCE", "live")
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))

    def configure(platforms: list[str], **blocks: dict) -> Path:
        monkeypatch.setenv("RADAR_PLATFORMS", json.dumps(platforms))
        sources = {
            "lookback_days": LOOKBACK,
            "initial_days": INITIAL,
            # the replayed servers answer for these fixed days whenever the test runs
            "backfill_horizon_days": 36500,
            **blocks,
        }
        (config / "sources.yaml").write_text(yaml.safe_dump(sources))
        return config

    return configure


def _extract_and_load(
    batches: list, start: datetime, run_id: str, dag_id: str = "social_ingest", **client_options
) -> list:
    """Each batch extracted as its task would (with ``client_options`` for the platform
    client: a daily quota), then the load; returns the extract summaries."""
    end = start + timedelta(days=1)
    settings = RadarSettings()
    summaries = [
        extract_live(
            load_sources(settings.config_dir),
            batch,
            settings.data_dir,
            TaskContext(start, end, run_id, f"extract-{i}"),
            **client_options,
        )
        for i, batch in enumerate(batches)
    ]
    runs.load(run_id, dag_id, start, end)
    return summaries


def _since(batches: list[LiveBatch], account: str) -> datetime:
    (found,) = [b.since[account] for b in batches if account in b.accounts]
    return found


def _cursors() -> list[tuple]:
    return query(
        RadarSettings().warehouse,
        "select platform, key, newest_seen_at from meta.cursors order by all",
    )


# ---------------------------------------------------------------------------------------
# Mastodon: a tracked account boosts an untracked one, which discovery queues later


def _dora_post(n: int) -> datetime:
    """dora posts every other day, newest on RUN_2's day."""
    return RUN_2 - timedelta(days=2 * n)


def _serve_mastodon(server: ReplayServer) -> dict:
    alice = mastodon_account("alice", INSTANCE, 20_000, local_id="7")
    dora = mastodon_account("dora", INSTANCE, 20_000, local_id="9")
    statuses = {
        n: mastodon_status(dora, INSTANCE, str(900 - n), _dora_post(n), "tofu stew", likes=500)
        for n in range(17)
    }
    boosted = statuses[5]  # RUN_1's day, 00:00
    assert _dora_post(5) == RUN_1
    alice_page = [
        mastodon_status(alice, INSTANCE, "301", RUN_1 + timedelta(hours=6), "", reblog=boosted),
        *[
            mastodon_status(alice, INSTANCE, str(200 + d), RUN_1 - timedelta(days=d), "tofu bowl")
            for d in range(3)
        ],
    ]
    server.routes["/api/v1/accounts/lookup?acct=alice"] = [Reply(body=json.dumps(alice))]
    # one page, no next link: the walk ends there
    server.routes["/api/v1/accounts/7/statuses?limit=40"] = [Reply(body=json.dumps(alice_page))]
    server.routes["/api/v1/accounts/lookup?acct=dora"] = [Reply(body=json.dumps(dora))]
    # page one reaches back to 11-02, page two to 10-19: the first walk (RUN_2 minus the 30
    # initial days: 10-21) needs both; a start at the boost's cursor minus the lookback
    # (11-10 - 7 days = 11-03) stops after page one
    server.routes[f"{DORA_STATUSES}?limit=40"] = [
        Reply(
            body=json.dumps([statuses[n] for n in range(10)]),
            headers={"Link": f'<{server.url}{DORA_STATUSES}?max_id=891>; rel="next"'},
        )
    ]
    server.routes[f"{DORA_STATUSES}?max_id=891"] = [
        Reply(body=json.dumps([statuses[n] for n in range(10, 17)]))
    ]
    # discovery's account search for a niche keyword finds dora
    server.routes["/api/v2/search"] = [Reply(body=json.dumps({"accounts": [dora]}))]
    return statuses


def _boosted_then_queued(server: ReplayServer, live) -> dict:
    """RUN_1: alice (tracked) boosts dora's post, the load runs; then a discovery batch
    (Mastodon's account search for the niche keyword 'tofu' of config/niches.yaml) finds
    dora, the load runs, and niche_discovery's last step queues her."""
    statuses = _serve_mastodon(server)
    live(
        ["mastodon"],
        mastodon={"accounts": ["alice@greens.social"], "instance_urls": {INSTANCE: server.url}},
    )
    first = runs.plan_extract(RUN_1, RUN_1 + timedelta(days=1))
    assert [b.accounts for b in first] == [["alice@greens.social"]]
    _extract_and_load(first, RUN_1, "scheduled__run1")
    warehouse = RadarSettings().warehouse
    # dora's boosted post is in core.posts, she is not tracked, and she has no cursor
    assert DORA in {r[0] for r in query(warehouse, "select account_id from core.posts")}
    assert [r[0] for r in query(warehouse, "select account_id from core.accounts")] == [
        "alice@greens.social"
    ]
    assert [key for _, key, _ in _cursors()] == ["alice@greens.social"]

    search = DiscoveryBatch(platform="mastodon", instance=INSTANCE, keywords=["tofu"])
    _extract_and_load([search], RUN_1, "scheduled__discovery1", "niche_discovery")
    assert runs.queue_discovered("scheduled__discovery1", RUN_1 + timedelta(days=1)) == 1
    assert query(warehouse, "select account_id from meta.tracking_queue") == [(DORA,)]
    return statuses


def _own_posts_landed(statuses: dict, since: datetime) -> tuple[set, set]:
    """dora's own posts in the window [since, …) the server has, and those core.posts has."""
    expected = {
        s["uri"] for s in statuses.values() if datetime.fromisoformat(s["created_at"][:-1]) >= since
    }
    landed = query(
        RadarSettings().warehouse,
        "select post_id from core.posts where account_id = ? and kind <> 'repost' "
        "and created_at >= ?",
        [DORA, since],
    )
    return expected, {r[0] for r in landed}


def test_a_discovered_account_that_was_boosted_before_gets_its_whole_first_window(live):
    with ReplayServer() as server:
        statuses = _boosted_then_queued(server, live)
        server.seen.clear()
        second = runs.plan_extract(RUN_2, RUN_2 + timedelta(days=1))
        since = _since(second, DORA)
        _extract_and_load(second, RUN_2, "scheduled__run2")
        dora_walk = [s.path for s in server.seen if s.path.startswith(DORA_STATUSES)]

    # the boost gave dora no cursor: her first walk starts initial_days back, not at the
    # boosted post minus the lookback (11-03), and reads both pages
    assert since == RUN_2 - timedelta(days=INITIAL)
    assert dora_walk == [f"{DORA_STATUSES}?limit=40", f"{DORA_STATUSES}?max_id=891"]
    expected, landed = _own_posts_landed(statuses, since)
    assert len(expected) == 16 and landed == expected
    # now tracked, she has a cursor: her newest own post (the boosted one is left out)
    assert _cursors() == [
        ("mastodon", "alice@greens.social", RUN_1),
        ("mastodon", DORA, RUN_2),
    ]


def test_a_first_walk_cut_by_a_spent_quota_is_walked_whole_on_the_next_run(live):
    """The cut walk lands dora's profile (so she is tracked from then on) but none of her
    posts. The post alice boosted is still in core.posts: it must not become her cursor,
    or the next run would start at it minus the lookback and skip what the cut walk never
    read."""
    with ReplayServer() as server:
        statuses = _boosted_then_queued(server, live)
        second = runs.plan_extract(RUN_2, RUN_2 + timedelta(days=1))
        assert [b.accounts for b in second] == [["alice@greens.social", DORA]]
        server.seen.clear()
        # alice's lookup and page, dora's lookup and first page: the fifth request is refused
        (cut,) = _extract_and_load(
            second, RUN_2, "scheduled__run2", quota=DailyQuota("mastodon", 4)
        )
        cut_walk = [s.path for s in server.seen if s.path.startswith(DORA_STATUSES)]
        assert cut.stopped and "daily units used" in cut.stopped
        assert cut_walk == [f"{DORA_STATUSES}?limit=40"]
        warehouse = RadarSettings().warehouse
        assert DORA in {r[0] for r in query(warehouse, "select account_id from core.accounts")}
        assert DORA not in {key for _, key, _ in _cursors()}

        third_day = RUN_2 + timedelta(days=1)
        server.seen.clear()
        third = runs.plan_extract(third_day, third_day + timedelta(days=1))
        since = _since(third, DORA)
        _extract_and_load(third, third_day, "scheduled__run3")
        dora_walk = [s.path for s in server.seen if s.path.startswith(DORA_STATUSES)]

    assert since == third_day - timedelta(days=INITIAL)
    assert dora_walk == [f"{DORA_STATUSES}?limit=40", f"{DORA_STATUSES}?max_id=891"]
    expected, landed = _own_posts_landed(statuses, since)
    assert len(expected) == 15 and landed == expected  # 11-21 back to 10-22


# ---------------------------------------------------------------------------------------
# Bluesky: cursors key on DIDs, sources.yaml may list handles or DIDs


def _feed_path(actor: str, cursor: str | None = None) -> str:
    """The request the client sends for one page of ``actor``'s feed."""
    params = {"actor": actor, "limit": FEED_PAGE_SIZE, "filter": "posts_with_replies"}
    if cursor:
        params["cursor"] = cursor
    return httpx.URL("/xrpc/app.bsky.feed.getAuthorFeed", params=params).raw_path.decode()


def _profiles_path(actors: list[str]) -> str:
    params = [("actors", a) for a in actors]
    return httpx.URL("/xrpc/app.bsky.actor.getProfiles", params=params).raw_path.decode()


def _bsky_post(did: str, handle: str, n: int, at: datetime) -> dict:
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{n}",
        "cid": "c",
        "author": {"did": did, "handle": handle},
        "record": {"text": "sourdough crumb", "createdAt": iso(at)},
        "likeCount": 50,
        "repostCount": 2,
        "replyCount": 3,
        "quoteCount": 0,
        "indexedAt": iso(at),
    }


def _profile(did: str, handle: str) -> dict:
    return {"did": did, "handle": handle, "followersCount": 15_000}


def test_a_newly_listed_bluesky_did_reposted_before_gets_its_whole_first_window(live):
    bo, carol = ("did:plc:bo", "bo.bsky.social"), ("did:plc:carol", "carol.bsky.social")
    carol_posts = [_bsky_post(*carol, n, RUN_2 - timedelta(days=2 * n)) for n in range(17)]
    reposted = carol_posts[5]  # RUN_1's day
    with ReplayServer() as server:
        bo_feed = [
            {
                "post": reposted,
                "reason": {
                    "$type": "app.bsky.feed.defs#reasonRepost",
                    "by": {"did": bo[0], "handle": bo[1]},
                    "indexedAt": iso(RUN_1 + timedelta(hours=6)),
                },
            },
            {"post": _bsky_post(*bo, 1, RUN_1 - timedelta(days=1))},
        ]
        server.routes[_profiles_path([bo[1]])] = [
            Reply(body=json.dumps({"profiles": [_profile(*bo)]}))
        ]
        server.routes[_feed_path(bo[1])] = [Reply(body=json.dumps({"feed": bo_feed}))]
        server.routes[_profiles_path([bo[1], carol[0]])] = [
            Reply(body=json.dumps({"profiles": [_profile(*bo), _profile(*carol)]}))
        ]
        server.routes[_feed_path(carol[0])] = [
            Reply(
                body=json.dumps({"feed": [{"post": p} for p in carol_posts[:10]], "cursor": "c2"})
            )
        ]
        server.routes[_feed_path(carol[0], "c2")] = [
            Reply(body=json.dumps({"feed": [{"post": p} for p in carol_posts[10:]]}))
        ]

        live(["bluesky"], bluesky={"base_url": server.url, "actors": [bo[1]]})
        first = runs.plan_extract(RUN_1, RUN_1 + timedelta(days=1))
        _extract_and_load(first, RUN_1, "scheduled__run1")
        assert [key for _, key, _ in _cursors()] == [bo[0]]

        # carol is listed by her DID, the key the repost gave her posts
        live(["bluesky"], bluesky={"base_url": server.url, "actors": [bo[1], carol[0]]})
        server.seen.clear()
        second = runs.plan_extract(RUN_2, RUN_2 + timedelta(days=1))
        since = _since(second, carol[0])
        _extract_and_load(second, RUN_2, "scheduled__run2")
        carol_walk = [s.path for s in server.seen if s.path.startswith(_feed_path(carol[0]))]

    assert since == RUN_2 - timedelta(days=INITIAL)
    assert carol_walk == [_feed_path(carol[0]), _feed_path(carol[0], "c2")]
    window = {p["uri"] for p in carol_posts if datetime.fromisoformat(p["indexedAt"][:-1]) >= since}
    landed = query(
        RadarSettings().warehouse,
        "select post_id from core.posts where account_id = ? and created_at >= ?",
        [carol[0], since],
    )
    assert len(window) == 16 and {r[0] for r in landed} == window
    # tracked now, found by her DID and by her handle; the reposted post is left out
    cursors = read_cursors(RadarSettings().warehouse)
    assert cursors[("bluesky", carol[0])] == cursors[("bluesky", carol[1])] == RUN_2


# ---------------------------------------------------------------------------------------
# warehouses written before: cursors for untracked authors stop mattering


def test_cursors_an_older_loader_gave_untracked_authors_are_not_read_and_are_deleted(
    radar_env: Path, tmp_path: Path
):
    """A warehouse at schema v6, as the loader before v7 left it: a cursor for alice
    (tracked) and one for dora, whose post alice boosted. The planner reads alice's alone;
    the next load's migration deletes dora's."""
    v6 = tmp_path / "v6" / "schema"
    v6.mkdir(parents=True)
    for version, file in schema_files(ROOT / "sql"):
        if version <= 6:
            (v6 / file.name).write_text(file.read_text())
    warehouse = RadarSettings().warehouse
    warehouse.parent.mkdir(parents=True)
    with connect(warehouse) as conn:
        assert apply_schema(conn, v6.parent) == 6
        conn.execute(
            "insert into core.accounts (platform, account_id, handle, status, discovered_via, "
            "first_seen_at, observed_at) values ('mastodon', 'alice@greens.social', "
            "'alice@greens.social', 'active', 'tracked', ?, ?)",
            [RUN_1, RUN_1],
        )
        conn.execute(
            "insert into meta.cursors values "
            "('mastodon', 'account_posts', 'alice@greens.social', null, ?, ?), "
            "('mastodon', 'account_posts', ?, null, ?, ?)",
            [RUN_1, RUN_1, DORA, RUN_1, RUN_1],
        )

    assert read_cursors(warehouse) == {("mastodon", "alice@greens.social"): RUN_1}
    with connect(warehouse) as conn:
        assert apply_schema(conn, ROOT / "sql") == schema_files(ROOT / "sql")[-1][0]
    assert _cursors() == [("mastodon", "alice@greens.social", RUN_1)]
