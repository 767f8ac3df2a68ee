"""Deletions in live mode (issue #21, finding 4): each run re-reads the tracked accounts'
own posts of the last ``recheck_days`` and records those the platform says are gone.

Two daily runs, task body by task body (``runs.plan_extract``, ``extract_live``,
``runs.load`` into a DuckDB file), against small platform worlds served on 127.0.0.1
whose posts can be deleted between the runs. A deletion must come from the platform
saying so about that post (a 404, or its absence from a read by id), never from a walk
or a failed read.
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from ingest import runs
from ingest.connector import LiveBatch, TaskContext, as_batch
from ingest.http import RetriesExhausted
from ingest.live_source import extract_live, load_sources, plan_live_batches
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from tests.helpers.feed_builder import iso, mastodon_account, mastodon_status
from tests.helpers.paths import ROOT
from tests.helpers.replay_server import ReplayServer, Reply, Seen
from tests.helpers.warehouse_helpers import query

LOOKBACK, INITIAL = 7, 30
RUN_1, RUN_2 = datetime(2026, 11, 18), datetime(2026, 11, 19)
# the second run's pages are dated just inside its interval (the clock is past it)
OBSERVED_2 = RUN_2 + timedelta(days=1) - timedelta(microseconds=1)
NO_WAIT = {"sleep": lambda seconds: None, "max_attempts": 3}


@pytest.fixture
def live(radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A function that writes config/sources.yaml and points the live source at it."""
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    monkeypatch.setenv("RADAR_SOURCE", "live")
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))

    def configure(platform: str, block: dict, **settings) -> None:
        monkeypatch.setenv("RADAR_PLATFORMS", json.dumps([platform]))
        sources = {
            "lookback_days": LOOKBACK,
            "initial_days": INITIAL,
            # the served worlds answer for these fixed days whenever the test runs
            "backfill_horizon_days": 36500,
            **settings,
            platform: block,
        }
        (config / "sources.yaml").write_text(yaml.safe_dump(sources))

    return configure


def _run(day: datetime, run_id: str, credentials: dict | None = None, **client_options) -> list:
    """One daily run: plan, each batch extracted as its task would, then the load. Returns
    the planned batches (after a JSON round trip, as XCom carries them)."""
    planned = [as_batch(b.model_dump(mode="json")) for b in runs.plan_extract(day, _end(day))]
    for i, batch in enumerate(planned):
        _extract(batch, day, run_id, i, credentials, **client_options)
    runs.load(run_id, "social_ingest", day, _end(day))
    return planned


def _extract(batch, day, run_id, i, credentials=None, attempt=1, **client_options):
    settings = RadarSettings()
    task = TaskContext(day, _end(day), run_id, f"extract-{i}", attempt, credentials or {})
    return extract_live(
        load_sources(settings.config_dir), batch, settings.data_dir, task, **client_options
    )


def _end(day: datetime) -> datetime:
    return day + timedelta(days=1)


def _deletions() -> list[tuple]:
    return query(
        RadarSettings().warehouse,
        "select post_id, first_seen_at from core.post_deletions order by post_id",
    )


def _paths(server: ReplayServer, prefix: str) -> list[str]:
    return [s.path for s in server.seen if s.path.startswith(prefix)]


# ---------------------------------------------------------------------------------------
# Mastodon: the timeline is read back to the oldest post to recheck; the posts it did not
# show are read by id, and a 404 is a deletion

INSTANCE = "greens.social"
ALICE = "alice@greens.social"
STATUSES = "/api/v1/accounts/7/statuses"  # alice's


class MastodonWorld:
    """A user's statuses, three a day for 25 days before RUN_1 (75: two timeline pages of
    40), served newest first with Link paging; ``GET /api/v1/statuses/:id`` answers 404
    once a status is deleted. A suspended account's timeline is empty and its statuses
    404, as Mastodon answers."""

    def __init__(
        self, server: ReplayServer, user: str = "alice", local_id: str = "7", first: int = 1000
    ) -> None:
        self.server, self.user, self.deleted = server, user, set()
        self.account = mastodon_account(user, INSTANCE, 20_000, local_id=local_id)
        self.path = f"/api/v1/accounts/{local_id}/statuses"
        self.statuses = {
            str(first + n): mastodon_status(
                self.account,
                INSTANCE,
                str(first + n),
                RUN_1 - timedelta(hours=8 * (74 - n)),
                "lentil soup",
                likes=40,
            )
            for n in range(75)
        }
        # by-id answers scripted per status (faults), else the world's truth
        self.faults: dict[str, list[Reply]] = {}
        self.suspended = False
        server.routes[f"/api/v1/accounts/lookup?acct={user}"] = [
            Reply(body=json.dumps(self.account))
        ]
        server.handlers[self.path] = self.timeline
        for status_id in self.statuses:
            server.handlers[f"/api/v1/statuses/{status_id}"] = self.status

    def uri(self, status_id: str) -> str:
        return self.statuses[status_id]["uri"]

    def suspend(self) -> None:
        self.suspended = True
        account = {**self.account, "suspended": True, "display_name": "", "note": ""}
        self.server.routes[f"/api/v1/accounts/lookup?acct={self.user}"] = [
            Reply(body=json.dumps(account))
        ]

    def timeline(self, seen: Seen) -> Reply:
        max_id = parse_qs(urlsplit(seen.path).query).get("max_id", [None])[0]
        alive = sorted((s for s in self.statuses if s not in self.deleted), reverse=True)
        older = [s for s in alive if max_id is None or s < max_id] if not self.suspended else []
        page = older[:40]
        headers = {}
        if len(older) > 40:
            headers["Link"] = f'<{self.server.url}{self.path}?max_id={page[-1]}>; rel="next"'
        return Reply(body=json.dumps([self.statuses[s] for s in page]), headers=headers)

    def status(self, seen: Seen) -> Reply:
        status_id = urlsplit(seen.path).path.rsplit("/", 1)[-1]
        if self.faults.get(status_id):
            return self.faults[status_id].pop(0)
        if status_id in self.deleted or self.suspended:
            return Reply(404, '{"error":"Record not found"}')
        return Reply(body=json.dumps(self.statuses[status_id]))


def _mastodon(live, server: ReplayServer, **settings) -> MastodonWorld:
    world = MastodonWorld(server)
    live("mastodon", {"accounts": [ALICE], "instance_urls": {INSTANCE: server.url}}, **settings)
    return world


def test_mastodon_posts_deleted_between_two_runs_are_recorded_by_their_404(live):
    with ReplayServer() as server:
        world = _mastodon(live, server)
        _run(RUN_1, "scheduled__run1")
        # one post inside the second run's walk (two days old), one older than it (20 days)
        world.deleted = {"1068", "1014"}
        server.seen.clear()
        (batch,) = _run(RUN_2, "scheduled__run2")
        by_id = _paths(server, "/api/v1/statuses/")
        timeline = _paths(server, STATUSES)
        # a third run rechecks what is left, and the deletions keep their first sighting
        (third,) = _run(RUN_2 + timedelta(days=1), "scheduled__run3")

    # the plan carried alice's own posts of the 30 days before the run's end, none deleted
    assert len(batch.recheck[ALICE]) == 75 and "posts to recheck" in batch.describe()
    # the walk read back to the oldest of them (both pages), and only the two posts it
    # did not show were read by id
    assert len(timeline) == 2
    assert sorted(by_id) == ["/api/v1/statuses/1014", "/api/v1/statuses/1068"]
    assert _deletions() == sorted((world.uri(s), OBSERVED_2) for s in world.deleted)
    assert not {world.uri(s) for s in world.deleted} & set(third.recheck[ALICE])
    assert _deletions() == sorted((world.uri(s), OBSERVED_2) for s in world.deleted)


def test_a_suspended_mastodon_account_has_none_of_its_posts_read_or_deleted(live):
    """cyd is suspended before the second run: her timeline is empty and her statuses
    404, which says nothing about her posts being deleted; alice's deletion is recorded."""
    with ReplayServer() as server:
        alice = _mastodon(live, server)
        cyd = MastodonWorld(server, "cyd", "8", 3000)
        block = {"accounts": [ALICE, f"cyd@{INSTANCE}"], "instance_urls": {INSTANCE: server.url}}
        live("mastodon", block)
        _run(RUN_1, "scheduled__run1")
        alice.deleted = {"1068"}
        cyd.suspend()
        server.seen.clear()
        (batch,) = _run(RUN_2, "scheduled__run2")
        by_id = _paths(server, "/api/v1/statuses/")

    assert len(batch.recheck[f"cyd@{INSTANCE}"]) == 75
    assert by_id == ["/api/v1/statuses/1068"]
    assert _deletions() == [(alice.uri("1068"), OBSERVED_2)]


def test_mastodon_deleted_posts_stop_counting_in_the_signals(live):
    """The mart counts a deleted post until its deletion was seen, not after."""
    from transforms.runs import build_signals

    with ReplayServer() as server:
        world = _mastodon(live, server)
        _run(RUN_1, "scheduled__run1")
        world.deleted = {"1068", "1071"}
        _run(RUN_2, "scheduled__run2")
    build_signals(_end(RUN_2), "signals__run2")
    counted = query(
        RadarSettings().warehouse,
        "select own_posts_30d from marts.account_engagement where account_id = ?",
        [ALICE],
    )
    # 75 posts, of which 73 in the 30 days before the run's end are still there
    assert counted == [(len([s for s in world.statuses if s not in world.deleted]),)]


def test_a_failing_or_foreign_mastodon_answer_records_no_deletion(live):
    """By-id reads of posts the walk did not show (the timeline leaves them out): 429s
    and 5xx are retried, and when they never stop the task fails with nothing landed; a
    404 that is no Mastodon answer (a proxy's HTML page) is a reject. Only a later try
    that gets Mastodon's 404 records the deletion."""
    with ReplayServer() as server:
        world = _mastodon(live, server)
        _run(RUN_1, "scheduled__run1")
        hidden = {"1070", "1060", "1050"}
        world.deleted = set(hidden)  # out of the timeline; the by-id answers are scripted
        world.faults = {
            # throttled, then the post after all: fresh counts, no deletion
            "1070": [Reply(429, '{"error":"Too many requests"}'), Reply(503, "<html>down")],
            "1060": [Reply(404, "<html><h1>404 Not Found</h1>nginx</html>")],
            "1050": [Reply(502, "<html>bad gateway</html>")] * 3,
        }
        world.statuses["1070"]["favourites_count"] = 99
        plan = runs.plan_extract(RUN_2, _end(RUN_2))
        world.faults["1070"].append(Reply(body=json.dumps(world.statuses["1070"])))
        with pytest.raises(RetriesExhausted):
            _extract(plan[0], RUN_2, "scheduled__run2", 0, **NO_WAIT)
        runs.load("scheduled__run2", "social_ingest", RUN_2, _end(RUN_2))
        assert _deletions() == []
        asked = _paths(server, "/api/v1/statuses/1050")
        assert len(asked) == 3  # every try of the read was made

        # the task's next try: former pages replay, 1050 now answers Mastodon's 404
        _extract(plan[0], RUN_2, "scheduled__run2", 0, attempt=2, **NO_WAIT)
        runs.load("scheduled__run2", "social_ingest", RUN_2, _end(RUN_2))

    warehouse = RadarSettings().warehouse
    assert _deletions() == [(world.uri("1050"), OBSERVED_2)]
    rejects = query(warehouse, "select reason from meta.rejects where source_path like '%status%'")
    assert rejects == [("HTTP 404",)]
    likes = query(
        warehouse,
        "select likes from core.post_metric_snapshots where post_id = ? order by observed_at",
        [world.uri("1070")],
    )
    assert likes[-1] == (99,)


def test_mastodon_recheck_days_0_reads_no_further_back_and_nothing_by_id(live):
    with ReplayServer() as server:
        world = _mastodon(live, server, recheck_days=0)
        _run(RUN_1, "scheduled__run1")
        world.deleted = {"1068", "1014"}
        server.seen.clear()
        (batch,) = _run(RUN_2, "scheduled__run2")
        asked = [s.path for s in server.seen]

    assert batch.recheck == {}
    # the lookup and one timeline page (the cursor minus the lookback is on it)
    assert asked == ["/api/v1/accounts/lookup?acct=alice", f"{STATUSES}?limit=40"]
    assert _deletions() == []


# ---------------------------------------------------------------------------------------
# Bluesky: the feed is read back to the oldest post to recheck; getPosts (25 a request)
# for what it did not show, and each requested post missing from the answer is deleted

DID, HANDLE = "did:plc:bo", "bo.bsky.social"
FEED = "/xrpc/app.bsky.feed.getAuthorFeed"
GET_POSTS = "/xrpc/app.bsky.feed.getPosts"


class BlueskyWorld:
    """Each actor's posts, three a day for 25 days before RUN_1 (75), on feed pages of 20
    (an AppView may send short pages); getPosts leaves deleted posts out. A deactivated
    actor's feed answers 400 and its posts are left out of getPosts, as the AppView
    does."""

    def __init__(self, server: ReplayServer, actors: tuple = ((DID, HANDLE),)) -> None:
        self.deleted: set[str] = set()
        self.deactivated: set[str] = set()  # DIDs
        self.handles = dict(actors)
        self.posts = {
            f"at://{did}/app.bsky.feed.post/p{n:03d}": RUN_1 - timedelta(hours=8 * (74 - n))
            for did in self.handles
            for n in range(75)
        }
        self.faults: list[Reply] = []
        server.handlers["/xrpc/app.bsky.actor.getProfiles"] = self.profiles
        server.handlers[FEED] = self.feed
        server.handlers[GET_POSTS] = self.get_posts

    def did(self, actor: str) -> str:
        return next(d for d, h in self.handles.items() if actor in (d, h))

    def author(self, uri: str) -> str:
        return uri.split("/")[2]

    def view(self, uri: str) -> dict:
        at, did = iso(self.posts[uri]), self.author(uri)
        return {
            "uri": uri,
            "cid": "c",
            "author": {"did": did, "handle": self.handles[did]},
            "record": {"text": "sourdough crumb", "createdAt": at},
            "likeCount": 50,
            "repostCount": 2,
            "replyCount": 3,
            "quoteCount": 0,
            "indexedAt": at,
        }

    def profiles(self, seen: Seen) -> Reply:
        dids = [self.did(a) for a in parse_qs(urlsplit(seen.path).query)["actors"]]
        profiles = [
            {"did": did, "handle": self.handles[did], "followersCount": 15_000}
            for did in dids
            if did not in self.deactivated
        ]
        return Reply(body=json.dumps({"profiles": profiles}))

    def feed(self, seen: Seen) -> Reply:
        query = parse_qs(urlsplit(seen.path).query)
        did, start = self.did(query["actor"][0]), int(query.get("cursor", ["0"])[0])
        if did in self.deactivated:
            return Reply(400, '{"error":"AccountDeactivated","message":"Account is deactivated"}')
        alive = sorted(
            (u for u in self.posts if self.author(u) == did and u not in self.deleted),
            reverse=True,
        )
        body: dict = {"feed": [{"post": self.view(u)} for u in alive[start : start + 20]]}
        if start + 20 < len(alive):
            body["cursor"] = str(start + 20)
        return Reply(body=json.dumps(body))

    def get_posts(self, seen: Seen) -> Reply:
        if self.faults:
            return self.faults.pop(0)
        uris = parse_qs(urlsplit(seen.path).query)["uris"]
        shown = [u for u in uris if u in self.posts and self.author(u) not in self.deactivated]
        found = [self.view(u) for u in shown if u not in self.deleted]
        return Reply(body=json.dumps({"posts": found}))


def _asked_uris(server: ReplayServer) -> list[list[str]]:
    return [parse_qs(urlsplit(p).query)["uris"] for p in _paths(server, GET_POSTS)]


def _bluesky(live, server: ReplayServer, **settings) -> BlueskyWorld:
    world = BlueskyWorld(server)
    live("bluesky", {"base_url": server.url, "actors": [HANDLE]}, **settings)
    return world


def test_bluesky_posts_deleted_between_two_runs_are_recorded_from_get_posts(live):
    """30 of bo's 75 posts are deleted, some inside the second run's lookback and most
    older: the feed is read back to the oldest post to recheck, and only the 30 it did
    not show are asked for, 25 a request."""
    with ReplayServer() as server:
        world = _bluesky(live, server)
        _run(RUN_1, "scheduled__run1")
        uris = sorted(world.posts)
        world.deleted = set(uris[::2][:30])
        server.seen.clear()
        (batch,) = _run(RUN_2, "scheduled__run2")
        asked = _asked_uris(server)
        feed_pages = len(_paths(server, FEED))

    assert len(batch.recheck[HANDLE]) == 75
    assert feed_pages == math.ceil(45 / 20)  # back to the oldest post still there
    assert [len(chunk) for chunk in asked] == [25, 5]
    assert {u for chunk in asked for u in chunk} == world.deleted
    assert _deletions() == sorted((u, OBSERVED_2) for u in world.deleted)


def test_a_deactivated_bluesky_account_has_none_of_its_posts_asked_for(live):
    """cy deactivates before the second run: her feed answers 400 and getPosts would
    leave all her posts out, which says nothing about their being deleted; bo's
    deletion is recorded."""
    cy = ("did:plc:cy", "cy.bsky.social")
    with ReplayServer() as server:
        world = BlueskyWorld(server, ((DID, HANDLE), cy))
        live("bluesky", {"base_url": server.url, "actors": [HANDLE, cy[1]]})
        _run(RUN_1, "scheduled__run1")
        gone = f"at://{DID}/app.bsky.feed.post/p040"
        world.deleted, world.deactivated = {gone}, {cy[0]}
        server.seen.clear()
        (batch,) = _run(RUN_2, "scheduled__run2")
        asked = _asked_uris(server)

    assert len(batch.recheck[cy[1]]) == 75
    assert asked == [[gone]]
    assert _deletions() == [(gone, OBSERVED_2)]


def test_a_failing_get_posts_records_no_deletion(live):
    """getPosts answers 503 until the tries run out: the task fails and nothing is
    recorded; a 429 followed by the real answer records exactly the deleted post."""
    with ReplayServer() as server:
        world = _bluesky(live, server)
        _run(RUN_1, "scheduled__run1")
        gone = sorted(world.posts)[3]
        world.deleted = {gone}
        world.faults = [Reply(503, "<html>unavailable</html>")] * 3
        plan = runs.plan_extract(RUN_2, _end(RUN_2))
        with pytest.raises(RetriesExhausted):
            _extract(plan[0], RUN_2, "scheduled__run2", 0, **NO_WAIT)
        runs.load("scheduled__run2", "social_ingest", RUN_2, _end(RUN_2))
        assert _deletions() == [] and len(_paths(server, GET_POSTS)) == 3

        world.faults = [Reply(429, '{"error":"RateLimitExceeded"}')]
        _extract(plan[0], RUN_2, "scheduled__run2", 0, attempt=2, **NO_WAIT)
        runs.load("scheduled__run2", "social_ingest", RUN_2, _end(RUN_2))
    assert _deletions() == [(gone, OBSERVED_2)]


def test_bluesky_recheck_days_0_asks_for_nothing_more(live):
    with ReplayServer() as server:
        world = _bluesky(live, server, recheck_days=0)
        _run(RUN_1, "scheduled__run1")
        world.deleted = set(sorted(world.posts)[:10])
        server.seen.clear()
        (batch,) = _run(RUN_2, "scheduled__run2")
        feed_pages = len(_paths(server, FEED))
        asked = _asked_uris(server)

    assert batch.recheck == {} and asked == [] and _deletions() == []
    # back to the cursor (RUN_1) minus the lookback only: 7 days of 3 posts on pages of 20
    assert feed_pages == 2


# ---------------------------------------------------------------------------------------
# YouTube: videos.list (50 ids a request, 1 unit) for the videos the walk did not find

KEY = "AIzaSy-deletions-s3cret"
CHANNEL = "UCdeletions" + "D" * 13
V3 = "/youtube/v3"


class YouTubeWorld:
    """A channel with three videos a day for 25 days before RUN_1 (75); the uploads
    playlist and videos.list leave deleted videos out."""

    def __init__(self, server: ReplayServer) -> None:
        self.deleted: set[str] = set()
        self.videos = {f"v{n:03d}": RUN_1 - timedelta(hours=8 * (74 - n)) for n in range(75)}
        self.faults: list[Reply] = []
        channel = {
            "kind": "youtube#channel",
            "id": CHANNEL,
            "snippet": {"title": "Dee", "customUrl": "@dee", "publishedAt": "2020-01-01T00:00:00Z"},
            "contentDetails": {"relatedPlaylists": {"uploads": "UU" + CHANNEL[2:]}},
            "statistics": {"subscriberCount": "20000", "videoCount": "75"},
        }
        server.routes[f"{V3}/channels"] = [Reply(body=json.dumps({"items": [channel]}))]
        server.handlers[f"{V3}/playlistItems"] = self.playlist
        server.handlers[f"{V3}/videos"] = self.videos_list

    def stamp(self, video_id: str) -> str:
        return self.videos[video_id].strftime("%Y-%m-%dT%H:%M:%SZ")

    def playlist(self, seen: Seen) -> Reply:
        start = int(parse_qs(urlsplit(seen.path).query).get("pageToken", ["0"])[0])
        alive = sorted((v for v in self.videos if v not in self.deleted), reverse=True)
        items = [
            {"contentDetails": {"videoId": v, "videoPublishedAt": self.stamp(v)}}
            for v in alive[start : start + 50]
        ]
        body: dict = {"items": items}
        if start + 50 < len(alive):
            body["nextPageToken"] = str(start + 50)
        return Reply(body=json.dumps(body))

    def videos_list(self, seen: Seen) -> Reply:
        if self.faults:
            return self.faults.pop(0)
        ids = parse_qs(urlsplit(seen.path).query)["id"][0].split(",")
        items = [
            {
                "kind": "youtube#video",
                "id": v,
                "snippet": {"publishedAt": self.stamp(v), "channelId": CHANNEL, "title": v},
                "statistics": {"viewCount": "900", "likeCount": "40", "commentCount": "4"},
            }
            for v in ids
            if v in self.videos and v not in self.deleted
        ]
        return Reply(body=json.dumps({"kind": "youtube#videoListResponse", "items": items}))


def _youtube(live, server: ReplayServer, units: int = 10_000, **settings) -> YouTubeWorld:
    world = YouTubeWorld(server)
    block = {"base_url": server.url + V3, "channels": [CHANNEL], "units_per_day": units}
    live("youtube", block, **settings)
    return world


def _asked_ids(server: ReplayServer) -> list[list[str]]:
    return [parse_qs(urlsplit(p).query)["id"][0].split(",") for p in _paths(server, f"{V3}/videos")]


def test_youtube_videos_deleted_between_two_runs_are_recorded_from_videos_list(live):
    with ReplayServer() as server:
        world = _youtube(live, server)
        _run(RUN_1, "scheduled__run1", {"api_key": KEY})
        world.deleted = {"v073", "v010"}  # one inside the second run's walk, one older
        server.seen.clear()
        (batch,) = _run(RUN_2, "scheduled__run2", {"api_key": KEY})
        asked = _asked_ids(server)

    assert len(batch.recheck[CHANNEL]) == 75
    # the walk's videos (back to the cursor, RUN_1, minus 7 days: 22, one of them
    # deleted), then the other 54 to recheck, 50 a request
    walked, *recheck = asked
    since = RUN_1 - timedelta(days=LOOKBACK)
    assert set(walked) == {v for v, at in world.videos.items() if at >= since} - {"v073"}
    assert len(walked) == 21 and [len(chunk) for chunk in recheck] == [50, 4]
    assert set(walked) | {v for chunk in recheck for v in chunk} == set(world.videos)
    assert _deletions() == sorted((v, OBSERVED_2) for v in world.deleted)


def test_a_youtube_recheck_cut_by_the_daily_quota_records_nothing_until_it_is_read(live):
    """The quota runs out after the walk's videos.list: the recheck is not sent, the cut
    batch lands no deletion (nor posts); the next run's recheck records them."""
    # the first run's 5 units (channels, two playlist pages, two videos.list), then the
    # second's channels, one playlist page and the walk's videos.list: the recheck's two
    # requests find the day spent (the machine's ledger: data/state/quota-youtube.json)
    with ReplayServer() as server:
        world = _youtube(live, server, units=5 + 3)
        _run(RUN_1, "scheduled__run1", {"api_key": KEY})
        world.deleted = {"v073", "v010"}
        plan = runs.plan_extract(RUN_2, _end(RUN_2))
        server.seen.clear()
        summary = _extract(plan[0], RUN_2, "scheduled__run2", 0, {"api_key": KEY})
        runs.load("scheduled__run2", "social_ingest", RUN_2, _end(RUN_2))
        assert summary.stopped and "daily units used" in summary.stopped
        assert len(_asked_ids(server)) == 1 and _deletions() == []

        # the next day's budget
        live("youtube", {"base_url": server.url + V3, "channels": [CHANNEL]})
        _run(RUN_2 + timedelta(days=1), "scheduled__run3", {"api_key": KEY})
    observed_3 = OBSERVED_2 + timedelta(days=1)
    assert _deletions() == sorted((v, observed_3) for v in world.deleted)


def test_a_malformed_or_failing_videos_list_records_no_deletion(live):
    """An item without its id might be any requested video, an answer without items says
    nothing, a 500 that never stops fails the task: no deletion from any of them."""
    with ReplayServer() as server:
        world = _youtube(live, server)
        _run(RUN_1, "scheduled__run1", {"api_key": KEY})
        world.deleted = {"v010"}
        plan = runs.plan_extract(RUN_2, _end(RUN_2))
        faults = [
            Reply(body=json.dumps({"items": [{"kind": "youtube#video"}]})),
            Reply(body=json.dumps({"kind": "youtube#videoListResponse"})),
        ]
        for n, fault in enumerate(faults):
            server.seen.clear()
            # the walk's videos.list answers truly, the recheck's (54 videos) with the fault
            server.handlers[f"{V3}/videos"] = _then(world.videos_list, fault)
            run_id = f"manual__{n}"
            _extract(plan[0], RUN_2, run_id, 0, {"api_key": KEY})
            runs.load(run_id, "social_ingest", RUN_2, _end(RUN_2))
            assert len(_asked_ids(server)) == 3 and _deletions() == []
        server.handlers[f"{V3}/videos"] = _then(world.videos_list, Reply(500, "{}"))
        server.seen.clear()
        with pytest.raises(RetriesExhausted):
            _extract(plan[0], RUN_2, "manual__500", 0, {"api_key": KEY}, **NO_WAIT)
        runs.load("manual__500", "social_ingest", RUN_2, _end(RUN_2))
        assert len(_asked_ids(server)) == 1 + 3
    assert _deletions() == []


def _then(first, later: Reply):
    """The world's answer to the first request, ``later`` to every one after it."""
    calls = []

    def answer(seen: Seen) -> Reply:
        calls.append(seen)
        return first(seen) if len(calls) == 1 else later

    return answer


def test_youtube_recheck_days_0_spends_no_unit_on_rechecks(live):
    with ReplayServer() as server:
        world = _youtube(live, server, recheck_days=0)
        _run(RUN_1, "scheduled__run1", {"api_key": KEY})
        world.deleted = {"v010"}
        server.seen.clear()
        (batch,) = _run(RUN_2, "scheduled__run2", {"api_key": KEY})
        assert batch.recheck == {} and len(_asked_ids(server)) == 1
        assert len(server.seen) == 3  # channels, one playlist page, the walk's videos
    assert _deletions() == []


# ---------------------------------------------------------------------------------------
# the plan


def test_the_plan_carries_only_own_posts_in_the_window_not_yet_known_deleted(live):
    """What ``plan_live_batches`` reads: alice's own posts of the ``recheck_days`` before
    the interval's end, keyed as listed, not those already deleted, nor her boosts; the
    batch goes through XCom's JSON whole. Platforms that cannot tell plan none."""
    with ReplayServer() as server:
        world = _mastodon(live, server, recheck_days=10)
        boost = mastodon_status(
            world.account,
            INSTANCE,
            "2000",
            RUN_1 - timedelta(hours=1),
            "",
            reblog=mastodon_status(
                mastodon_account("dora", INSTANCE, 100, local_id="9"),
                INSTANCE,
                "1999",
                RUN_1 - timedelta(hours=2),
                "tofu",
            ),
        )
        world.statuses["2000"] = boost
        _run(RUN_1, "scheduled__run1")
        world.deleted = {"1073"}
        _run(RUN_2, "scheduled__run2")
        (batch,) = runs.plan_extract(RUN_2 + timedelta(days=1), RUN_2 + timedelta(days=2))

    window_start = RUN_2 + timedelta(days=2) - timedelta(days=10)
    expected = {
        s["uri"]: datetime.fromisoformat(s["created_at"][:-1])
        for status_id, s in world.statuses.items()
        if status_id not in world.deleted
        and status_id != "2000"
        and datetime.fromisoformat(s["created_at"][:-1]) >= window_start
    }
    assert list(batch.recheck) == [ALICE] and len(expected) == 3 * 7
    # newest first, and how far back the walk must read for them
    assert batch.recheck[ALICE] == sorted(expected, key=expected.get, reverse=True)
    assert batch.recheck_since == {ALICE: min(expected.values())}
    assert as_batch(json.loads(json.dumps(batch.model_dump(mode="json")))) == batch
    assert batch.describe() == f"mastodon: {ALICE}, 21 posts to recheck"
    assert isinstance(batch, LiveBatch)


def test_instagram_and_tiktok_plan_no_recheck(live):
    """Neither can tell a deleted post from one its listing left out (docs/connectors.md):
    their batches carry nothing to recheck, whatever the warehouse holds."""
    live("instagram", {"accounts": ["bakery"]}, tiktok={"accounts": ["bakery"]})
    warehouse = RadarSettings().warehouse
    warehouse.parent.mkdir(parents=True)
    with connect(warehouse) as conn:
        apply_schema(conn, ROOT / "sql")
        for platform in ("instagram", "tiktok"):
            conn.execute(
                "insert into core.accounts (platform, account_id, handle, status, "
                "discovered_via, first_seen_at, observed_at) "
                "values (?, 'bakery', 'bakery', 'active', 'tracked', ?, ?)",
                [platform, RUN_1, RUN_1],
            )
            conn.execute(
                "insert into core.posts (platform, post_id, account_id, created_at, kind, "
                "first_seen_at, observed_at) values (?, 'p1', 'bakery', ?, 'original', ?, ?)",
                [platform, RUN_1, RUN_1, RUN_1],
            )
    sources = load_sources(RadarSettings().config_dir)
    batches = plan_live_batches(
        sources, ["instagram", "tiktok"], {}, RUN_2, _end(RUN_2), warehouse=warehouse
    )
    assert [(b.platform, b.accounts, b.recheck) for b in batches] == [
        ("instagram", ["bakery"], {}),
        ("tiktok", ["bakery"], {}),
    ]
