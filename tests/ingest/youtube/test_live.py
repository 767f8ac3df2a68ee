"""fetch / discover against a real server on 127.0.0.1: channels,
uploads walks and video statistics are fetched in order, archived per endpoint, and map
to the expected rows; the daily quota stops a run mid-walk."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ingest.batch import MappedBatch
from ingest.connector import DiscoveryBatch, FetchContext, LiveBatch
from ingest.http import QuotaExhausted, RawArchive
from ingest.pages import read_pages
from ingest.youtube.client import YouTubeAccessError
from ingest.youtube.mapping import DISCOVERY_MAPPERS, MAPPERS
from ingest.youtube.settings import YouTubeSources
from ingest.youtube.source import discover, fetch
from radar.canonical import PROFILE_TERM
from tests.helpers.replay_server import ReplayServer, Reply

UNTIL = datetime(2026, 11, 21)
NOW = UNTIL - timedelta(hours=1)
KEY = "AIzaSy-live-s3cret"
V3 = "/youtube/v3"
ALICE = "UCalice" + "A" * 17
BOB = "UCbob" + "B" * 19
UNKNOWN = "UCnobody" + "Z" * 16


def stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def channel(channel_id: str, custom: str, subscribers: str) -> dict:
    return {
        "kind": "youtube#channel",
        "id": channel_id,
        "snippet": {
            "title": custom.title(),
            "customUrl": custom,
            "publishedAt": "2020-01-01T00:00:00Z",
        },
        "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + channel_id[2:]}},
        "statistics": {
            "subscriberCount": subscribers,
            "hiddenSubscriberCount": False,
            "videoCount": "9",
        },
    }


def playlist(items: list[tuple[str, datetime]], token: str | None = None) -> str:
    body: dict = {
        "kind": "youtube#playlistItemListResponse",
        "items": [
            {"contentDetails": {"videoId": vid, "videoPublishedAt": stamp(at)}} for vid, at in items
        ],
    }
    if token:
        body["nextPageToken"] = token
    return json.dumps(body)


def video(video_id: str, channel_id: str, at: datetime) -> dict:
    return {
        "kind": "youtube#video",
        "id": video_id,
        "snippet": {
            "publishedAt": stamp(at),
            "channelId": channel_id,
            "title": f"{video_id} #vegan",
        },
        "statistics": {"viewCount": "1000", "likeCount": "50", "commentCount": "5"},
    }


class Archives:
    """One archive per endpoint, in the raw layout ``<root>/<endpoint>/<name>``."""

    def __init__(self, root: Path) -> None:
        self.root, self.open = root, {}

    def __call__(self, endpoint: str) -> RawArchive:
        if endpoint not in self.open:
            self.open[endpoint] = RawArchive(self.root / endpoint / "run-task.jsonl.gz")
        return self.open[endpoint]

    def close(self) -> None:
        for archive in self.open.values():
            archive.close()


def query(seen) -> dict[str, list[str]]:
    return parse_qs(urlsplit(seen.path).query)


def test_channels_uploads_and_videos_are_fetched_archived_and_mapped(tmp_path):
    with ReplayServer() as server:
        server.routes[f"{V3}/channels"] = [
            Reply(body=json.dumps({"items": [channel(ALICE, "@alicebakes", "23800")]})),
            Reply(body=json.dumps({"items": [channel(BOB, "@bobcooks", "15100")]})),
        ]
        server.routes[f"{V3}/playlistItems"] = [
            # alice, back to 3 days: page 2 reaches past it, so the walk stops there
            Reply(body=playlist([("a1", NOW), ("a2", NOW - timedelta(hours=2))], "tokA")),
            Reply(
                body=playlist([("a3", NOW - timedelta(days=2)), ("a4", NOW - timedelta(days=4))])
            ),
            # bob, back to 1 day: b2 is older and not read again
            Reply(
                body=playlist([("b1", NOW - timedelta(hours=5)), ("b2", NOW - timedelta(days=2))])
            ),
        ]
        server.routes[f"{V3}/videos"] = [
            Reply(
                body=json.dumps(
                    {
                        "items": [
                            video("a1", ALICE, NOW),
                            video("a2", ALICE, NOW - timedelta(hours=2)),
                            video("b1", BOB, NOW - timedelta(hours=5)),
                        ]
                    }
                )
            )
        ]
        archives = Archives(tmp_path / "raw")
        since = {
            ALICE: NOW - timedelta(days=3),
            UNKNOWN: NOW - timedelta(days=3),
            "@bobcooks": NOW - timedelta(days=1),
        }
        ledger = tmp_path / "quota.json"
        sources = YouTubeSources(base_url=server.url + V3, channels=list(since))
        pages = list(
            fetch(
                sources,
                LiveBatch(platform="youtube", accounts=list(since), since=since),
                FetchContext(
                    until=UNTIL, archives=archives, credentials={"api_key": KEY}, quota_path=ledger
                ),
            )
        )
        archives.close()
        asked = [(urlsplit(s.path).path.rsplit("/", 1)[-1], query(s)) for s in server.seen]

    assert [endpoint for endpoint, _ in pages] == [
        "channels",
        "channels",
        "playlist_items",
        "playlist_items",
        "playlist_items",
        "videos",
    ]
    assert asked[0][1]["id"] == [f"{ALICE},{UNKNOWN}"]
    assert asked[1][1]["forHandle"] == ["@bobcooks"]
    assert [q["playlistId"][0] for _, q in asked[2:5]] == ["UU" + ALICE[2:]] * 2 + ["UU" + BOB[2:]]
    assert asked[5][1]["id"] == ["a1,a2,a3,b1"]
    assert json.loads(ledger.read_text())["used"] == 6  # one unit a request

    batch = MappedBatch("youtube")
    for endpoint, page in pages:
        MAPPERS[endpoint](page, batch)
    assert {(s.account_id, s.followers) for s in batch.account_snapshots} == {
        (ALICE, 23_800),
        (BOB, 15_100),
    }
    assert [a.handle for a in batch.accounts] == ["alicebakes", "bobcooks"]
    assert [p.post_id for p in batch.posts] == ["a1", "a2", "b1"]
    assert [r.record for r in batch.rejects] == [UNKNOWN, "a3"]  # unknown, then gone

    files = sorted((tmp_path / "raw").rglob("*.jsonl.gz"))
    assert [f.parent.name for f in files] == ["channels", "playlist_items", "videos"]
    assert [len(list(read_pages(f))) for f in files] == [2, 3, 1]
    for path in files:
        assert KEY.encode() not in gzip.open(path, "rb").read()


def test_channel_ids_go_50_a_request(tmp_path):
    ids = [f"UC{i:022d}" for i in range(60)]
    with ReplayServer() as server:
        server.routes[f"{V3}/channels"] = [Reply(body='{"kind": "youtube#channelListResponse"}')]
        archives = Archives(tmp_path / "raw")
        since = dict.fromkeys(ids, NOW - timedelta(days=1))
        sources = YouTubeSources(base_url=server.url + V3)
        pages = list(
            fetch(
                sources,
                LiveBatch(platform="youtube", accounts=ids, since=since),
                FetchContext(until=UNTIL, archives=archives, credentials={"api_key": KEY}),
            )
        )
        archives.close()
        asked = [query(s)["id"][0].split(",") for s in server.seen]
    assert [len(a) for a in asked] == [50, 10]
    batch = MappedBatch("youtube")
    for endpoint, page in pages:
        MAPPERS[endpoint](page, batch)
    assert len(batch.rejects) == 60 and not batch.accounts  # none of them exists
    # one row each in the warehouse, which keys rejects on (page, entity, index)
    keys = {(r.source_path, r.source_line, r.entity, r.record_index) for r in batch.rejects}
    assert len(keys) == 60


def test_a_spent_quota_stops_the_run_after_what_it_could_pay_for(tmp_path):
    with ReplayServer() as server:
        server.routes[f"{V3}/channels"] = [
            Reply(body=json.dumps({"items": [channel(ALICE, "@alicebakes", "23800")]}))
        ]
        server.routes[f"{V3}/playlistItems"] = [
            Reply(body=playlist([("a1", NOW)], "tokA")),
            Reply(body=playlist([("a2", NOW - timedelta(hours=1))])),
        ]
        archives = Archives(tmp_path / "raw")
        since = {ALICE: NOW - timedelta(days=3)}
        sources = YouTubeSources(base_url=server.url + V3, units_per_day=2)
        got = []
        with pytest.raises(QuotaExhausted, match="2 of 2 daily units used"):
            for item in fetch(
                sources,
                LiveBatch(platform="youtube", accounts=[ALICE], since=since),
                FetchContext(
                    until=UNTIL,
                    archives=archives,
                    credentials={"api_key": KEY},
                    quota_path=tmp_path / "q.json",
                ),
            ):
                got.append(item)
        archives.close()
        assert len(server.seen) == 2  # the third request was never sent
    assert [endpoint for endpoint, _ in got] == ["channels", "playlist_items"]


def test_a_refused_api_key_stops_the_run_at_its_first_request(tmp_path):
    refused = {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "errors": [{"domain": "global", "reason": "badRequest"}],
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                }
            ],
        }
    }
    handles = ["@alicebakes", "@bob", "@carol"]
    with ReplayServer() as server:
        server.routes[f"{V3}/channels"] = [Reply(400, json.dumps(refused))]
        archives = Archives(tmp_path / "raw")
        since = dict.fromkeys(handles, NOW - timedelta(days=1))
        sources = YouTubeSources(base_url=server.url + V3)
        got = []
        with pytest.raises(YouTubeAccessError, match="API_KEY_INVALID") as stop:
            for item in fetch(
                sources,
                LiveBatch(platform="youtube", accounts=handles, since=since),
                FetchContext(
                    until=UNTIL,
                    archives=archives,
                    credentials={"api_key": KEY},
                    quota_path=tmp_path / "q.json",
                ),
            ):
                got.append(item)
        archives.close()
        assert len(server.seen) == 1  # not one unit per channel
    assert got == [] and KEY not in str(stop.value)
    assert json.loads((tmp_path / "q.json").read_text())["used"] == 1


def test_credentials_need_an_api_key(tmp_path):
    with pytest.raises(ValueError, match="api_key"):
        list(
            fetch(
                YouTubeSources(),
                LiveBatch(platform="youtube", accounts=[ALICE], since={}),
                FetchContext(until=UNTIL, archives=Archives(tmp_path), credentials={}),
            )
        )


def test_discovery_searches_tags_and_keywords_under_the_page_cap(tmp_path):
    def results(*channels: tuple[str, str]) -> list[dict]:
        return [
            {
                "kind": "youtube#searchResult",
                "id": {"kind": "youtube#video", "videoId": f"v{n}"},
                "snippet": {"channelId": cid, "channelTitle": title, "title": "t&amp;t"},
            }
            for n, (cid, title) in enumerate(channels)
        ]

    with ReplayServer() as server:
        server.routes[f"{V3}/search"] = [
            Reply(body=json.dumps({"nextPageToken": "p2", "items": results((ALICE, "Alice"))})),
            Reply(
                body=json.dumps({"nextPageToken": "p3", "items": results((BOB, "Bob &amp; Co"))})
            ),
            Reply(body=json.dumps({"items": results((ALICE, "Alice"))})),
        ]
        server.routes[f"{V3}/channels"] = [
            Reply(
                body=json.dumps(
                    {
                        "items": [
                            channel(ALICE, "@alicebakes", "23800"),
                            {
                                **channel(BOB, "@bobcooks", "0"),
                                "statistics": {"hiddenSubscriberCount": True},
                            },
                        ]
                    }
                )
            )
        ]
        archives = Archives(tmp_path / "raw")
        sources = YouTubeSources(base_url=server.url + V3, max_search_pages_per_term=2)
        ledger = tmp_path / "quota.json"
        pages = list(
            discover(
                sources,
                DiscoveryBatch(platform="youtube", tags=["sauerteig"], keywords=["rye bread"]),
                FetchContext(
                    until=UNTIL, archives=archives, credentials={"api_key": KEY}, quota_path=ledger
                ),
            )
        )
        archives.close()
        asked = [query(s) for s in server.seen]

    # the tag's second page carries a token, but the cap is two pages per term
    assert [(q.get("q", ["-"])[0], q.get("pageToken")) for q in asked[:3]] == [
        ("#sauerteig", None),
        ("#sauerteig", ["p2"]),
        ("rye bread", None),
    ]
    assert {q["type"][0] for q in asked[:3]} == {"video"}
    assert {q["publishedAfter"][0] for q in asked[:3]} == {"2026-11-14T00:00:00Z"}
    # then one channels.list for every channel found, for the subscriber counts
    assert asked[3]["id"] == [f"{ALICE},{BOB}"]
    assert json.loads(ledger.read_text())["used"] == 301  # 100 units a search page
    batch = MappedBatch("youtube")
    for endpoint, page in pages:
        DISCOVERY_MAPPERS[endpoint](page, batch)
    assert [(d.account_id, d.term, d.handle, d.followers) for d in batch.account_discoveries] == [
        (ALICE, "#sauerteig", ALICE, None),
        (BOB, "#sauerteig", BOB, None),
        (ALICE, "rye bread", ALICE, None),
        (ALICE, PROFILE_TERM, "alicebakes", 23_800),
        (BOB, PROFILE_TERM, "bobcooks", None),  # hidden
    ]
    assert not batch.accounts and not batch.rejects
    archived = sorted(p.parent.name for p in (tmp_path / "raw").rglob("*.jsonl.gz"))
    assert archived == ["discovery_channels", "search"]


def test_a_missing_playlist_is_a_reject_and_the_run_goes_on(tmp_path):
    not_found = {
        "error": {
            "code": 404,
            "message": "The playlist identified with the request's playlistId cannot be found.",
            "errors": [{"domain": "youtube.playlistItem", "reason": "playlistNotFound"}],
        }
    }
    burst = {"error": {"code": 403, "errors": [{"reason": "userRateLimitExceeded"}]}}
    slept: list[float] = []
    with ReplayServer() as server:
        server.routes[f"{V3}/channels"] = [
            Reply(
                body=json.dumps(
                    {"items": [channel(ALICE, "@alicebakes", "1"), channel(BOB, "@bob", "2")]}
                )
            )
        ]
        server.routes[f"{V3}/playlistItems"] = [
            Reply(404, json.dumps(not_found)),
            Reply(body=playlist([("b1", NOW)])),
        ]
        server.routes[f"{V3}/videos"] = [
            Reply(403, json.dumps(burst)),
            Reply(body=json.dumps({"items": [video("b1", BOB, NOW)]})),
        ]
        archives = Archives(tmp_path / "raw")
        since = dict.fromkeys([ALICE, BOB], NOW - timedelta(days=1))
        sources = YouTubeSources(base_url=server.url + V3)
        pages = list(
            fetch(
                sources,
                LiveBatch(platform="youtube", accounts=[ALICE, BOB], since=since),
                FetchContext(
                    until=UNTIL,
                    archives=archives,
                    credentials={"api_key": KEY},
                    client_options={
                        "sleep": slept.append,
                        "max_attempts": 2,
                        "rate_limit_wait": 7.0,
                    },
                ),
            )
        )
        archives.close()
    batch = MappedBatch("youtube")
    for endpoint, page in pages:
        MAPPERS[endpoint](page, batch)
    assert [r.reason for r in batch.rejects] == ["HTTP 404 playlistNotFound"]
    assert [p.post_id for p in batch.posts] == ["b1"]
    assert slept == [pytest.approx(7.0)]  # the burst limit was waited out once
