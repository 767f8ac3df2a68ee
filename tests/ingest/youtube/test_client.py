"""The YouTube client against a real server on 127.0.0.1 replaying Data API v3 shapes,
its 403 quota and burst-limit bodies, and transport faults."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ingest.batch import MappedBatch
from ingest.http import (
    DailyQuota,
    PlatformHTTPError,
    QuotaExhausted,
    RawArchive,
    RetriesExhausted,
)
from ingest.pages import read_pages
from ingest.youtube.client import QUOTA_TZ, YouTubeAccessError, YouTubeClient, uploaded_videos
from ingest.youtube.mapping import map_channels, map_videos
from tests.helpers.replay_server import FakeTime, ReplayServer, Reply

NOW = datetime(2026, 11, 20, 6)
KEY = "AIzaSy-s3cret-test-key"
V3 = "/youtube/v3"
PLAYLIST = f"{V3}/playlistItems"
CHANNELS = f"{V3}/channels"
ALICE = "UCalice" + "A" * 17


def _error(code: int, reason: str, domain: str = "youtube.quota") -> str:
    message = f"The request cannot be completed: {reason}."
    return json.dumps(
        {
            "error": {
                "code": code,
                "message": message,
                "errors": [{"message": message, "domain": domain, "reason": reason}],
            }
        }
    )


QUOTA_EXCEEDED = _error(403, "quotaExceeded")
RATE_LIMITED = _error(403, "rateLimitExceeded", "usageLimits")


def _google_error(code: int, status: str, message: str, reason: str, detail: str | None) -> str:
    """A Google API error with a google.rpc.ErrorInfo detail, as keys and projects get."""
    error: dict = {
        "code": code,
        "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}],
        "status": status,
    }
    if detail:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": detail,
                "domain": "googleapis.com",
                "metadata": {"service": "youtube.googleapis.com"},
            }
        ]
    return json.dumps({"error": error})


def playlist_page(first: int, count: int, newest: datetime, token: str | None) -> str:
    items = []
    for i in range(count):
        published = (newest - timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        video_id = f"vid{first + i:08d}"
        items.append(
            {
                "kind": "youtube#playlistItem",
                "id": f"VVV{video_id}",
                # when it was added to the playlist: not what the walk goes by
                "snippet": {"publishedAt": NOW.strftime("%Y-%m-%dT%H:%M:%SZ")},
                "contentDetails": {"videoId": video_id, "videoPublishedAt": published},
            }
        )
    body: dict = {
        "kind": "youtube#playlistItemListResponse",
        "pageInfo": {"totalResults": 183, "resultsPerPage": 50},
        "items": items,
    }
    if token:
        body["nextPageToken"] = token
    return json.dumps(body)


def channels_body(*ids: str) -> str:
    return json.dumps(
        {
            "kind": "youtube#channelListResponse",
            "pageInfo": {"totalResults": len(ids), "resultsPerPage": 5},
            "items": [
                {
                    "kind": "youtube#channel",
                    "id": channel_id,
                    "snippet": {"title": "Alice Bakes", "customUrl": "@alicebakes"},
                    "contentDetails": {"relatedPlaylists": {"uploads": "UU" + channel_id[2:]}},
                    "statistics": {"subscriberCount": "23800", "videoCount": "183"},
                }
                for channel_id in ids
            ],
        }
    )


def query(seen) -> dict[str, list[str]]:
    return parse_qs(urlsplit(seen.path).query)


@pytest.fixture
def server():
    with ReplayServer() as replay:
        yield replay


def _archive(tmp_path: Path) -> RawArchive:
    return RawArchive(tmp_path / "raw" / "youtube" / "pages.jsonl.gz")


def _client(server, tmp_path: Path, fake: FakeTime, **kwargs) -> YouTubeClient:
    kwargs.setdefault("archive", _archive(tmp_path))
    return YouTubeClient(server.url + V3, api_key=KEY, clock=fake.clock, sleep=fake.sleep, **kwargs)


def test_uploads_walk_follows_page_tokens_until_since_and_archives_each_page_once(server, tmp_path):
    server.routes[PLAYLIST] = [
        Reply(body=playlist_page(0, 50, NOW, "tok1")),
        Reply(body=playlist_page(50, 50, NOW - timedelta(hours=50), "tok2")),
        Reply(body=playlist_page(100, 50, NOW - timedelta(hours=100), "tok3")),
    ]
    fake = FakeTime(NOW.timestamp())
    since = NOW - timedelta(hours=60)
    with _client(server, tmp_path, fake) as client:
        pages = list(client.uploads("UUalice", since))
    client.archive.close()
    # page 2 reaches back past since by videoPublishedAt: page 3 is never asked for
    asked = [query(s) for s in server.seen]
    assert [q.get("pageToken") for q in asked] == [None, ["tok1"]]
    assert asked[0]["playlistId"] == ["UUalice"] and asked[0]["maxResults"] == ["50"]
    assert asked[0]["key"] == [KEY]  # the key goes to the API...
    archived = list(read_pages(client.archive.path))
    assert len(archived) == 2 and [p.ref.line for p in archived] == [1, 2]
    assert all("key=REDACTED" in p.url for p in archived)  # ...and never into the archive
    ids = [i for p in pages for i in uploaded_videos(p, since)]
    assert len(ids) == 61 and ids[-1] == "vid00000060"  # 60 hours back, inclusive
    assert client.quota.used == 2


def test_a_burst_limit_403_backs_off_and_is_retried(server, tmp_path):
    server.routes[CHANNELS] = [Reply(403, RATE_LIMITED), Reply(body=channels_body(ALICE))]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake, rate_limit_wait=20.0) as client:
        page = client.channels_by_id([ALICE])
    client.archive.close()
    assert page.status == 200 and len(server.seen) == 2
    assert fake.slept == [pytest.approx(20.0)]  # at least the configured wait
    assert len(list(read_pages(client.archive.path))) == 1  # the 403 is not a page of data


def test_quota_exceeded_is_never_retried_and_stops_every_later_request(server, tmp_path):
    ledger = tmp_path / "quota" / "youtube.json"
    fake = FakeTime(NOW.timestamp())
    server.routes[CHANNELS] = [Reply(403, QUOTA_EXCEEDED), Reply(body=channels_body(ALICE))]
    quota = DailyQuota("youtube", 10_000, QUOTA_TZ, path=ledger, clock=fake.clock)
    with _client(server, tmp_path, fake, quota=quota) as client:
        with pytest.raises(QuotaExhausted) as error:
            client.channels_by_id([ALICE])
        # midnight Pacific after 2026-11-20 06:00 UTC (22:00 PST on the 19th)
        assert error.value.resets_at == datetime(2026, 11, 20, 8)
        assert len(server.seen) == 1 and fake.slept == []
        # another task sharing the ledger is refused before anything is sent
        other = DailyQuota("youtube", 10_000, QUOTA_TZ, path=ledger, clock=fake.clock)
        with (
            _client(server, tmp_path / "b", fake, quota=other) as second,
            pytest.raises(QuotaExhausted),
        ):
            second.channels_by_id([ALICE])
    assert len(server.seen) == 1
    client.archive.close()
    assert list(read_pages(client.archive.path)) == []
    # after the reset the ledger starts a new day
    fake.now += 2 * 3600
    with _client(server, tmp_path / "c", fake, quota=other) as third:
        assert third.channels_by_id([ALICE]).status == 200


def test_the_ledger_refuses_a_search_it_cannot_pay_for(server, tmp_path):
    server.routes[f"{V3}/search"] = [Reply(body=json.dumps({"items": []}))]
    server.routes[CHANNELS] = [Reply(body=channels_body(ALICE))]
    fake = FakeTime(NOW.timestamp())
    quota = DailyQuota("youtube", 150, QUOTA_TZ, clock=fake.clock)
    with _client(server, tmp_path, fake, quota=quota) as client:
        list(client.search("sourdough"))  # 100 units
        with pytest.raises(QuotaExhausted, match="100 of 150 daily units used, 100 more"):
            list(client.search("rye"))
        client.channels_by_id([ALICE])  # 1 unit still fits
    assert len(server.seen) == 2 and quota.used == 101


def test_5xx_html_cut_and_slow_bodies_are_retried(server, tmp_path):
    body = channels_body(ALICE)
    server.routes[CHANNELS] = [
        Reply(503, "<html><body>Service Unavailable</body></html>", {"Content-Type": "text/html"}),
        Reply(200, body, truncate_at=60),  # cut mid-document
        Reply(200, body, delay=0.5),  # slower than the timeout
        Reply(200, body),
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake, timeout=0.2, max_attempts=5) as client:
        page = client.channels_by_id([ALICE])
    client.archive.close()
    assert json.loads(page.body)["items"][0]["id"] == ALICE
    assert len(server.seen) == 4 and len(fake.slept) == 3
    assert len(list(read_pages(client.archive.path))) == 1
    assert client.quota.used == 4  # every attempt costs units, failed or not


def test_an_unknown_channel_is_a_200_without_items_and_a_reject(server, tmp_path):
    server.routes[CHANNELS] = [Reply(body=json.dumps({"kind": "youtube#channelListResponse"}))]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client:
        client.channel_by_handle("nobody")
    client.archive.close()
    assert query(server.seen[0])["forHandle"] == ["@nobody"]
    batch = MappedBatch("youtube")
    map_channels(next(read_pages(client.archive.path)), batch)
    assert [r.record for r in batch.rejects] == ["@nobody"] and not batch.accounts


def test_a_definitive_403_is_archived_not_retried(server, tmp_path):
    server.routes[f"{V3}/videos"] = [Reply(403, _error(403, "forbidden", "youtube.video"))]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client, pytest.raises(PlatformHTTPError) as error:
        client.videos(["AbCdEfGhIjK"])
    client.archive.close()
    assert error.value.page.status == 403 and len(server.seen) == 1
    assert KEY not in str(error.value)
    batch = MappedBatch("youtube")
    map_videos(next(read_pages(client.archive.path)), batch)
    assert [r.reason for r in batch.rejects] == ["HTTP 403 forbidden"]


def test_an_interrupted_walk_resumes_from_the_archive(server, tmp_path):
    pages = [
        playlist_page(0, 50, NOW, "tok1"),
        playlist_page(50, 50, NOW - timedelta(hours=50), "tok2"),
        playlist_page(100, 50, NOW - timedelta(hours=100), None),
    ]
    server.routes[PLAYLIST] = [Reply(body=pages[0]), Reply(body=pages[1]), Reply(502, "<html>")]
    since = NOW - timedelta(days=30)
    fake = FakeTime(NOW.timestamp())
    first_try = []
    with (
        _client(server, tmp_path, fake, max_attempts=2) as client,
        pytest.raises(RetriesExhausted, match="HTTP 502"),
    ):
        for page in client.uploads("UUalice", since):
            first_try.append(page)
    assert len(first_try) == 2 and len(server.seen) == 4  # pages 1-2, then page 3 twice
    # the task is retried: a new client and a new archive at the same path
    server.routes[PLAYLIST] = [Reply(body=pages[2])]
    server.seen.clear()
    archive = _archive(tmp_path)
    assert archive.salvaged == 2
    with _client(server, tmp_path, fake, archive=archive) as retry:
        second_try = list(retry.uploads("UUalice", since))
    archive.close()
    assert [query(s).get("pageToken") for s in server.seen] == [["tok2"]]
    assert len(second_try) == 3 and archive.replayed == 2
    archived = list(read_pages(archive.path))
    assert [json.loads(p.body).get("nextPageToken") for p in archived] == ["tok1", "tok2", None]


def test_the_api_key_is_sent_but_never_archived_or_logged(server, tmp_path, caplog):
    server.routes[CHANNELS] = [Reply(body=channels_body(ALICE))]
    fake = FakeTime(NOW.timestamp())
    with caplog.at_level(logging.DEBUG), _client(server, tmp_path, fake) as client:
        client.channels_by_id([ALICE])
    client.archive.close()
    assert query(server.seen[0])["key"] == [KEY]
    archived = gzip.open(client.archive.path, "rb").read()
    assert KEY.encode() not in archived and b"key=REDACTED" in archived
    assert "HTTP Request" in caplog.text and KEY not in caplog.text


@pytest.mark.parametrize(
    ("status", "reason", "detail", "says"),
    [
        (400, "badRequest", "API_KEY_INVALID", "not valid"),
        (400, "keyInvalid", None, "not valid"),
        (403, "forbidden", "API_KEY_SERVICE_BLOCKED", "restrictions"),
        (403, "ipRefererBlocked", "API_KEY_IP_ADDRESS_BLOCKED", "restrictions"),
        (403, "accessNotConfigured", "SERVICE_DISABLED", "enable the API"),
    ],
    ids=["key-invalid-details", "key-invalid", "service-blocked", "ip-blocked", "not-enabled"],
)
def test_a_refused_key_or_project_stops_at_once_without_the_key(
    server, tmp_path, status, reason, detail, says
):
    # Google quotes the key back in some messages: it must not reach the exception
    body = _google_error(status, "INVALID_ARGUMENT", f"API key {KEY} not valid.", reason, detail)
    server.routes[CHANNELS] = [Reply(status, body), Reply(body=channels_body(ALICE))]
    fake = FakeTime(NOW.timestamp())
    with (
        _client(server, tmp_path, fake) as client,
        pytest.raises(YouTubeAccessError, match=says) as stop,
    ):
        client.channels_by_id([ALICE])
    client.archive.close()
    assert len(server.seen) == 1 and not fake.slept  # never retried
    assert KEY not in str(stop.value) and (detail or reason) in str(stop.value)
    assert list(read_pages(client.archive.path)) == []  # not a page of data either


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_error(404, "playlistNotFound", "youtube.playlistItem"), "playlistNotFound"),
        (_error(404, "channelNotFound", "youtube.channel"), "channelNotFound"),
        (_error(403, "forbidden", "youtube.playlistItem"), "forbidden"),
    ],
)
def test_an_error_about_one_resource_stays_a_rejected_page(server, tmp_path, body, reason):
    server.routes[PLAYLIST] = [Reply(json.loads(body)["error"]["code"], body)]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client, pytest.raises(PlatformHTTPError) as error:
        list(client.uploads("UUalice", NOW - timedelta(days=1)))
    assert reason in error.value.page.body.decode() and len(server.seen) == 1


def test_the_uploads_walk_stops_when_the_page_token_does_not_move(server, tmp_path):
    server.routes[PLAYLIST] = [
        Reply(body=playlist_page(0, 50, NOW, "tok1")),
        Reply(body=playlist_page(50, 50, NOW - timedelta(hours=50), "tok1")),  # stuck
        Reply(500, "<html>should not be asked</html>"),
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client:
        pages = list(client.uploads("UUalice", NOW - timedelta(days=365)))
    assert [query(s).get("pageToken") for s in server.seen] == [None, ["tok1"]]
    assert len(pages) == 2 and client.quota.used == 2


def test_the_uploads_walk_stops_when_page_tokens_go_round_in_a_circle(server, tmp_path):
    server.routes[PLAYLIST] = [
        Reply(body=playlist_page(0, 50, NOW, "tok1")),
        Reply(body=playlist_page(50, 50, NOW - timedelta(hours=50), "tok2")),
        Reply(body=playlist_page(100, 50, NOW - timedelta(hours=100), "tok1")),  # back again
        Reply(500, "<html>should not be asked</html>"),
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client:
        pages = list(client.uploads("UUalice", NOW - timedelta(days=365)))
    assert [query(s).get("pageToken") for s in server.seen] == [None, ["tok1"], ["tok2"]]
    assert len(pages) == 3


def test_a_search_stops_when_the_page_token_does_not_move(server, tmp_path):
    stuck = json.dumps({"nextPageToken": "CDIQAA", "items": []})
    server.routes[f"{V3}/search"] = [Reply(body=stuck)]
    fake = FakeTime(NOW.timestamp())
    with _client(server, tmp_path, fake) as client:
        pages = list(client.search("sourdough", max_pages=5))
    assert [query(s).get("pageToken") for s in server.seen] == [None, ["CDIQAA"]]
    assert len(pages) == 2 and client.quota.used == 200


def test_videos_ask_for_the_paid_promotion_flag_and_its_answer_maps_to_a_disclosure(
    server, tmp_path
):
    """videos.list asks for paidProductPlacementDetails (no extra quota); the recorded
    answer's flag becomes a core.post_disclosures row, a video without it none."""
    flagged = {
        "kind": "youtube#video",
        "id": "paidVideo01",
        "snippet": {"publishedAt": "2026-11-19T17:00:00Z", "channelId": ALICE, "title": "Oven"},
        "statistics": {"viewCount": "10", "likeCount": "1", "commentCount": "0"},
        "paidProductPlacementDetails": {"hasPaidProductPlacement": True},
    }
    unflagged = {**flagged, "id": "freeVideo01"}
    del unflagged["paidProductPlacementDetails"]
    body = {"kind": "youtube#videoListResponse", "items": [flagged, unflagged]}
    server.routes[f"{V3}/videos"] = [Reply(body=json.dumps(body))]
    fake = FakeTime(NOW.timestamp())
    quota = DailyQuota("youtube", 150, QUOTA_TZ, clock=fake.clock)
    with _client(server, tmp_path, fake, quota=quota) as client:
        client.videos(["paidVideo01", "freeVideo01"])
    client.archive.close()
    parts = query(server.seen[0])["part"][0].split(",")
    assert parts == ["snippet", "statistics", "paidProductPlacementDetails"]
    assert quota.used == 1
    batch = MappedBatch("youtube")
    map_videos(next(read_pages(client.archive.path)), batch)
    assert [(d.post_id, d.kind, d.disclosed) for d in batch.post_disclosures] == [
        ("paidVideo01", "paid_product_placement", True)
    ]
    assert len(batch.posts) == 2 and not batch.rejects
