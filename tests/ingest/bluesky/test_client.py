"""The Bluesky client against a real server on 127.0.0.1 replaying XRPC shapes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ingest.batch import MappedBatch
from ingest.bluesky.client import BlueskyClient
from ingest.bluesky.mapping import map_get_author_feed, map_get_profiles
from ingest.http import PlatformHTTPError, RawArchive, RetriesExhausted
from ingest.pages import read_pages
from tests.helpers.replay_server import FakeTime, ReplayServer, Reply

NOW = datetime(2026, 11, 20, 6)
FEED = "/xrpc/app.bsky.feed.getAuthorFeed"


def feed_item(n: int, indexed: datetime) -> dict:
    stamp = indexed.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "post": {
            "uri": f"at://did:plc:alice/app.bsky.feed.post/{n}",
            "cid": "bafy",
            "author": {"did": "did:plc:alice", "handle": "alice.bsky.social"},
            "record": {"text": "Frisches #Sauerteigbrot", "createdAt": stamp},
            "likeCount": 5,
            "repostCount": 1,
            "replyCount": 0,
            "quoteCount": 0,
            "indexedAt": stamp,
        }
    }


@pytest.fixture
def server():
    with ReplayServer() as replay:
        yield replay


def _client(server, tmp_path: Path, fake: FakeTime) -> BlueskyClient:
    archive = RawArchive(tmp_path / "raw" / "bluesky" / "pages.jsonl.gz")
    return BlueskyClient(server.url, archive, clock=fake.clock, sleep=fake.sleep)


def test_profiles_are_fetched_25_at_a_time(server, tmp_path):
    actors = [f"user{i}.bsky.social" for i in range(60)]
    server.routes["/xrpc/app.bsky.actor.getProfiles"] = [
        Reply(
            body=json.dumps(
                {
                    "profiles": [
                        {
                            "did": f"did:plc:{i}",
                            "handle": f"user{i}.bsky.social",
                            "followersCount": 12_000,
                        }
                        for i in range(25)
                    ]
                }
            )
        )
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client:
        pages = list(client.profiles(actors))
    client.archive.close()
    asked = [parse_qs(urlsplit(s.path).query)["actors"] for s in server.seen]
    assert [len(a) for a in asked] == [25, 25, 10]
    assert asked[2][-1] == "user59.bsky.social"
    batch = MappedBatch("bluesky")
    map_get_profiles(next(read_pages(client.archive.path)), batch)
    assert len(pages) == 3 and len(batch.account_snapshots) == 25


def test_author_feed_follows_the_cursor_and_waits_for_the_rate_window(server, tmp_path):
    reset_epoch = str(int(NOW.timestamp()) + 45)
    spent = {
        "RateLimit-Limit": "3000",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": reset_epoch,
        "RateLimit-Policy": "3000;w=300",
    }
    server.routes[FEED] = [
        Reply(
            body=json.dumps(
                {
                    "feed": [feed_item(i, NOW - timedelta(hours=i)) for i in range(100)],
                    "cursor": "c1",
                }
            ),
            headers=spent,
        ),
        Reply(body=json.dumps({"feed": [], "cursor": "c2"})),  # moderated away, still a cursor
        Reply(body=json.dumps({"feed": [feed_item(200, NOW - timedelta(days=9))]})),
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client:
        pages = list(client.author_feed("did:plc:alice", since=NOW - timedelta(days=7)))
    client.archive.close()
    cursors = [parse_qs(urlsplit(s.path).query).get("cursor") for s in server.seen]
    assert cursors == [None, ["c1"], ["c2"]]
    assert fake.slept == [pytest.approx(45.0)]  # waited out the spent window once
    batch = MappedBatch("bluesky")
    for page in read_pages(client.archive.path):
        map_get_author_feed(page, batch)
    assert len(pages) == 3 and len(batch.posts) == 101 and not batch.rejects


def test_429_5xx_cut_and_slow_answers_are_retried_and_the_429_reset_honoured(server, tmp_path):
    page = json.dumps({"feed": [feed_item(1, NOW)]})
    reset = str(int(NOW.timestamp()) + 30)
    server.routes[FEED] = [
        Reply(
            429,
            '{"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}',
            {
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": reset,
                "RateLimit-Policy": "3000;w=300",
            },
        ),
        Reply(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        Reply(200, page, truncate_at=25),  # cut mid-document
        Reply(200, page, delay=0.5),  # slower than the timeout
        Reply(200, page),
    ]
    fake = FakeTime(NOW.timestamp())
    archive = RawArchive(tmp_path / "raw" / "feed.jsonl.gz")
    with BlueskyClient(
        server.url, archive, clock=fake.clock, sleep=fake.sleep, timeout=0.2, max_attempts=6
    ) as client:
        pages = list(client.author_feed("did:plc:alice", since=NOW - timedelta(days=7)))
    archive.close()
    assert len(server.seen) == 5 and len(pages) == 1
    # backoff plus the limiter's wait reach the 429's reset exactly
    assert fake.slept[0] + fake.slept[1] == pytest.approx(30.0)
    assert len(list(read_pages(archive.path))) == 1  # only the good page is archived


def test_an_unknown_actor_is_a_reject_naming_the_platform_error(server, tmp_path):
    server.routes[FEED] = [
        Reply(400, '{"error": "InvalidRequest", "message": "Profile not found"}')
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client, pytest.raises(PlatformHTTPError) as error:
        list(client.author_feed("nobody.bsky.social", since=NOW - timedelta(days=7)))
    client.archive.close()
    assert len(server.seen) == 1  # a definitive 4xx is not retried
    batch = MappedBatch("bluesky")
    map_get_author_feed(error.value.page, batch)
    assert [(r.entity, r.reason) for r in batch.rejects] == [("page", "HTTP 400")]
    assert "Profile not found" in batch.rejects[0].record


def test_a_walk_cut_by_failures_resumes_from_its_cursor_on_the_next_try(server, tmp_path):
    pages = [
        Reply(
            body=json.dumps({"feed": [feed_item(i, NOW - timedelta(hours=i))], "cursor": f"c{i}"})
        )
        for i in range(2)
    ]
    last = Reply(body=json.dumps({"feed": [feed_item(2, NOW - timedelta(hours=2))]}))
    server.routes[FEED] = [*pages, Reply(503, "<html>down</html>"), Reply(503, "<html>down</html>")]
    path = tmp_path / "raw" / "feed.jsonl.gz"
    fake = FakeTime(NOW.timestamp())
    since = NOW - timedelta(days=7)
    first = BlueskyClient(server.url, RawArchive(path), sleep=fake.sleep, max_attempts=2)
    with first, pytest.raises(RetriesExhausted):
        list(first.author_feed("did:plc:alice", since))  # the task dies after two pages
    server.seen.clear()
    server.routes[FEED] = [last]
    second = BlueskyClient(server.url, RawArchive(path), sleep=fake.sleep)
    with second:
        walked = list(second.author_feed("did:plc:alice", since))
    second.archive.close()
    # only the third page is asked again, with the cursor the second page gave
    assert [parse_qs(urlsplit(s.path).query).get("cursor") for s in server.seen] == [["c1"]]
    batch = MappedBatch("bluesky")
    for page in read_pages(path):
        map_get_author_feed(page, batch)
    assert len(walked) == 3 and sorted(p.post_id[-1] for p in batch.posts) == ["0", "1", "2"]
