"""The Mastodon client against a real server on 127.0.0.1 replaying API shapes and faults."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ingest.batch import MappedBatch
from ingest.http import PlatformHTTPError, RawArchive, RetriesExhausted
from ingest.mastodon.client import MastodonClient
from ingest.mastodon.mapping import map_account_statuses, map_accounts_lookup, map_tag_timeline
from ingest.pages import read_pages
from tests.helpers.feed_builder import iso, mastodon_account, mastodon_status
from tests.helpers.replay_server import FakeTime, ReplayServer, Reply

NOW = datetime(2026, 11, 20, 6)
STATUSES = "/api/v1/accounts/1/statuses"


def statuses_page(first_id: int, count: int, newest: datetime) -> str:
    alice = mastodon_account("alice", "greens.social", 20_000)
    return json.dumps(
        [
            mastodon_status(
                alice,
                "greens.social",
                str(first_id - i),
                newest - timedelta(hours=i),
                "tofu",
                likes=10,
            )
            for i in range(count)
        ]
    )


@pytest.fixture
def server():
    with ReplayServer() as replay:
        yield replay


def _client(server: ReplayServer, tmp_path: Path, fake: FakeTime, **kwargs) -> MastodonClient:
    archive = RawArchive(tmp_path / "raw" / "mastodon" / "statuses.jsonl.gz")
    return MastodonClient(server.url, archive, clock=fake.clock, sleep=fake.sleep, **kwargs)


def test_walks_link_pages_until_the_lookback_and_archives_each_page_once(server, tmp_path):
    page2 = f"{STATUSES}?max_id=161"
    server.routes[f"{STATUSES}?limit=40"] = [
        Reply(
            body=statuses_page(200, 40, NOW),
            headers={"Link": f'<{server.url}{page2}>; rel="next"'},
        )
    ]
    server.routes[page2] = [
        Reply(
            body=statuses_page(160, 40, NOW - timedelta(hours=40)),
            headers={"Link": f'<{server.url}{STATUSES}?max_id=121>; rel="next"'},
        )
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client:
        pages = list(client.statuses("1", since=NOW - timedelta(days=2)))
    client.archive.close()
    # page 2 reaches back past the lookback: the walk stops there, never asking for page 3
    assert [p.status for p in pages] == [200, 200]
    assert [s.path for s in server.seen] == [f"{STATUSES}?limit=40", page2]
    replayed = list(read_pages(client.archive.path))
    assert len(replayed) == 2
    batch = MappedBatch("mastodon")
    for page in replayed:
        map_account_statuses(page, batch)
    assert len(batch.posts) == 80 and not batch.rejects


def test_waits_for_the_window_instead_of_hitting_429(server, tmp_path):
    reset = iso(NOW + timedelta(seconds=90)).replace("Z", "000Z")  # microseconds, as sent
    spent = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    alice = json.dumps(mastodon_account("alice", "greens.social", 20_000))
    server.routes["/api/v1/accounts/lookup"] = [Reply(body=alice, headers=spent), Reply(body=alice)]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client:
        client.lookup("alice")
        client.lookup("alice")
    assert fake.slept == [pytest.approx(90.0)]  # slept until the reset, then asked again
    assert len(server.seen) == 2 and client.requests == 2


def test_429_5xx_broken_and_slow_bodies_are_retried(server, tmp_path):
    alice = json.dumps(mastodon_account("alice", "greens.social", 20_000))
    reset = iso(NOW + timedelta(seconds=30))
    server.routes["/api/v1/accounts/lookup"] = [
        Reply(
            429,
            '{"error":"Too many requests"}',
            {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
        ),
        Reply(503, "<html><body>Service Unavailable</body></html>"),
        Reply(200, alice, truncate_at=40),  # cut mid-document
        Reply(200, alice, delay=0.5),  # slower than the timeout
        Reply(200, alice),
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake, timeout=0.2, max_attempts=6) as client:
        page = client.lookup("alice")
    client.archive.close()
    assert json.loads(page.body)["acct"] == "alice"
    assert len(server.seen) == 5
    # the 429's reset was honoured: backoff plus the limiter's wait reach exactly the reset
    assert fake.slept[0] + fake.slept[1] == pytest.approx(30.0)
    assert len(list(read_pages(client.archive.path))) == 1  # only the good page is archived


def test_unknown_account_is_an_error_with_its_page_archived(server, tmp_path):
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client, pytest.raises(PlatformHTTPError) as error:
        client.lookup("nobody")
    client.archive.close()
    assert error.value.page.status == 404 and len(server.seen) == 1  # never retried
    batch = MappedBatch("mastodon")
    map_accounts_lookup(next(read_pages(client.archive.path)), batch)
    assert [r.reason for r in batch.rejects] == ["HTTP 404"]


def test_a_platform_that_keeps_failing_exhausts_the_retries(server, tmp_path):
    server.routes["/api/v1/accounts/lookup"] = [Reply(502, "<html>Bad Gateway</html>")]
    fake = FakeTime(NOW.timestamp())
    with (
        _client(server, tmp_path, fake, max_attempts=3) as client,
        pytest.raises(RetriesExhausted, match="HTTP 502"),
    ):
        client.lookup("alice")
    assert len(server.seen) == 3


def test_the_token_is_sent_but_never_archived(server, tmp_path):
    server.routes["/api/v1/accounts/lookup"] = [
        Reply(body=json.dumps(mastodon_account("alice", "greens.social", 20_000)))
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake, token="s3cret-token") as client:
        client.lookup("alice")
    client.archive.close()
    assert server.seen[0].headers["Authorization"] == "Bearer s3cret-token"
    archived = gzip.open(client.archive.path, "rt").read()
    assert "s3cret-token" not in archived and "lookup?acct=alice" in archived


def test_a_tag_timeline_stops_at_its_page_cap_and_maps_to_sightings(server, tmp_path):
    tag = "/api/v1/timelines/tag/veganeküche".replace("ü", "%C3%BC")
    server.routes[f"{tag}?limit=40"] = [
        Reply(
            body=statuses_page(200, 40, NOW),
            headers={"Link": f'<{server.url}{tag}?max_id=161>; rel="next"'},
        )
    ]
    server.routes[f"{tag}?max_id=161"] = [
        Reply(
            body=statuses_page(160, 40, NOW),
            headers={"Link": f'<{server.url}{tag}?max_id=121>; rel="next"'},
        )
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client:
        pages = list(client.tag_timeline("veganeküche", max_pages=2))
    client.archive.close()
    # a third page exists, but the cap is two requests
    assert [s.path for s in server.seen] == [f"{tag}?limit=40", f"{tag}?max_id=161"]
    batch = MappedBatch("mastodon")
    for page in pages:
        map_tag_timeline(page, batch)
    # one sighting per account and page, under the tag as posts' hashtags spell it, with
    # a '#' (keyword sightings have none)
    assert {(d.account_id, d.term, d.followers) for d in batch.account_discoveries} == {
        ("alice@greens.social", "#veganeküche", 20_000)
    }
    assert not batch.posts
