"""The TikTok Research API client against a real server on 127.0.0.1: token handling,
windowed cursor + search_id walks, 429s and the daily quota, faults, resuming a walk,
and the live fetch functions."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from ingest.batch import MappedBatch
from ingest.connector import DiscoveryBatch, FetchContext, LiveBatch
from ingest.http import (
    DailyQuota,
    PlatformHTTPError,
    QuotaExhausted,
    RawArchive,
    RetriesExhausted,
)
from ingest.pages import read_pages
from ingest.tiktok.client import (
    TikTokAuthError,
    TikTokClient,
    date_windows,
)
from ingest.tiktok.mapping import MAPPERS, map_user_info, map_video_query, map_video_search
from ingest.tiktok.settings import TikTokSources
from ingest.tiktok.source import discover, fetch
from tests.helpers.replay_server import FakeTime, ReplayServer, Reply

NOW = datetime(2026, 11, 20, 6)
NOW_TS = NOW.replace(tzinfo=UTC).timestamp()
TOKEN = "/v2/oauth/token/"
USER_INFO = "/v2/research/user/info/"
QUERY = "/v2/research/video/query/"
CREDENTIALS = {"client_key": "awkey-123", "client_secret": "s3cret-client-secret"}
OK = {"code": "ok", "message": "", "log_id": "20240405132544A8A35938AA061A19F445"}
BIG = 7320768196569599275


def token_reply(n: int = 1, expires_in: int = 7200) -> Reply:
    body = {"access_token": f"clt.token-{n}", "expires_in": expires_in, "token_type": "Bearer"}
    return Reply(body=json.dumps(body))


def error_reply(status: int, code: str, message: str) -> Reply:
    return Reply(status, json.dumps({"error": {"code": code, "message": message, "log_id": "L"}}))


def user_reply(followers: int = 23_000) -> Reply:
    data = {"display_name": "Joe", "follower_count": followers, "video_count": 44}
    return Reply(body=json.dumps({"data": data, "error": OK}))


def videos_reply(first: int, n: int, cursor: int, has_more: bool, search_id="7354367454467855403"):
    videos = [
        {
            "id": BIG - first - i,
            "username": "joe123",
            "create_time": int(NOW_TS) - 3600 * (first + i),
            "hashtag_names": ["sauerteig"],
            "view_count": 100,
            "like_count": 10,
            "comment_count": 1,
            "share_count": 0,
            "music_id": 7159460238003800066,
        }
        for i in range(n)
    ]
    data = {"videos": videos, "cursor": cursor, "search_id": search_id, "has_more": has_more}
    return Reply(body=json.dumps({"data": data, "error": OK}))


@pytest.fixture
def server():
    with ReplayServer() as replay:
        replay.routes[TOKEN] = [token_reply()]
        yield replay


def _client(server, tmp_path: Path, fake: FakeTime, name="pages", **kwargs) -> TikTokClient:
    archive = RawArchive(tmp_path / "raw" / "tiktok" / f"{name}.jsonl.gz")
    kwargs.setdefault("credentials", CREDENTIALS)
    return TikTokClient(server.url, archive, clock=fake.clock, sleep=fake.sleep, **kwargs)


def api(server) -> list:
    return [s for s in server.seen if s.path.split("?")[0] != TOKEN]


def bodies(server) -> list[dict]:
    return [json.loads(s.body) for s in api(server)]


def test_the_token_is_fetched_once_sent_as_bearer_and_nothing_secret_is_archived(
    server, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    server.routes[USER_INFO] = [user_reply()]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client:
        first = client.user_info("joe123")
        client.user_info("joe123")
    client.archive.close()
    token_call, *calls = server.seen
    assert token_call.path == TOKEN and token_call.method == "POST"
    form = parse_qs(token_call.body.decode())
    assert form == {
        "client_key": ["awkey-123"],
        "client_secret": ["s3cret-client-secret"],
        "grant_type": ["client_credentials"],
    }
    assert token_call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert [c.headers["Authorization"] for c in calls] == ["Bearer clt.token-1"] * 2
    assert calls[0].path.startswith(f"{USER_INFO}?fields=display_name")
    assert json.loads(calls[0].body) == {"username": "joe123"}
    assert first.request_body == '{"username": "joe123"}'
    data = client.archive.path.read_bytes() + gzip.decompress(client.archive.path.read_bytes())
    for secret in ("s3cret-client-secret", "clt.token-1", "awkey-123", "oauth"):
        assert secret.encode() not in data
    assert "oauth/token" in caplog.text  # the token request was logged...
    assert "s3cret" not in caplog.text and "clt.token" not in caplog.text  # ...without secrets
    assert client.quota.used == 2  # the token request is not an API request


def test_a_window_is_walked_by_cursor_and_search_id_and_each_page_archived_once(server, tmp_path):
    server.routes[QUERY] = [
        videos_reply(0, 100, 100, True),
        videos_reply(100, 100, 200, True),
        videos_reply(200, 37, 237, False),
    ]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client:
        pages = list(client.user_videos("joe123", NOW - timedelta(days=10), NOW))
    client.archive.close()
    sent = bodies(server)
    query = {"and": [{"operation": "EQ", "field_name": "username", "field_values": ["joe123"]}]}
    window = {"query": query, "start_date": "20261110", "end_date": "20261120", "max_count": 100}
    assert sent == [
        window,  # the first page asks without cursor or search_id
        {**window, "cursor": 100, "search_id": "7354367454467855403"},
        {**window, "cursor": 200, "search_id": "7354367454467855403"},
    ]
    assert len(pages) == 3 and client.quota.used == 3
    archived = list(read_pages(client.archive.path))
    assert [p.request_body for p in archived] == [p.request_body for p in pages]
    batch = MappedBatch("tiktok")
    for page in archived:
        map_video_query(page, batch)
    ids = [p.post_id for p in batch.posts]
    assert len(ids) == 237 == len(set(ids)) and ids[0] == str(BIG) and not batch.rejects


def test_long_ranges_are_split_into_windows_of_at_most_30_dates_newest_first(server, tmp_path):
    assert date_windows(datetime(2026, 8, 22, 13), datetime(2026, 11, 21)) == [
        (date(2026, 10, 22), date(2026, 11, 20)),
        (date(2026, 9, 22), date(2026, 10, 21)),
        (date(2026, 8, 23), date(2026, 9, 21)),
        (date(2026, 8, 22), date(2026, 8, 22)),
    ]
    assert date_windows(NOW, NOW - timedelta(days=1)) == []
    server.routes[QUERY] = [videos_reply(0, 1, 1, False)]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client:
        list(client.user_videos("joe123", NOW - timedelta(days=75), NOW))
    spans = [(b["start_date"], b["end_date"]) for b in bodies(server)]
    assert spans == [("20261022", "20261120"), ("20260922", "20261021"), ("20260906", "20260921")]


def test_a_first_429_waits_and_retries(server, tmp_path):
    server.routes[USER_INFO] = [
        error_reply(429, "rate_limit_exceeded", "API rate limit exceeded"),
        user_reply(),
    ]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client:
        page = client.user_info("joe123")
    assert page.status == 200 and len(api(server)) == 2
    assert sum(fake.slept) == pytest.approx(60.0)  # the throttle wait, no headers to go by
    assert client.quota.used == 2  # the 429 spent a request too


def test_a_429_that_repeats_early_in_the_day_stops_the_task_but_not_the_ledger(server, tmp_path):
    server.routes[USER_INFO] = [error_reply(429, "rate_limit_exceeded", "API rate limit exceeded")]
    fake = FakeTime(NOW_TS)
    ledger = tmp_path / "state" / "quota-tiktok.json"
    with _client(server, tmp_path, fake, quota_path=ledger) as client:
        with pytest.raises(QuotaExhausted, match="429") as stop:
            client.user_info("joe123")
        assert len(api(server)) == 2 and fake.slept == [pytest.approx(60.0)]
        assert stop.value.resets_at < datetime(2026, 11, 21)  # a throttle, not the day
        # this task sends nothing more...
        with pytest.raises(QuotaExhausted):
            client.user_info("joe123")
        assert len(api(server)) == 2
    # ...but the shared ledger is not marked spent: other tasks go on
    other = DailyQuota("tiktok", 1000, "UTC", ledger, clock=fake.clock)
    other.spend(1)
    assert other.used == 3 and json.loads(ledger.read_text())["exhausted"] is False
    server.routes[USER_INFO] = [user_reply()]
    with _client(server, tmp_path, fake, name="next", quota_path=ledger) as client:
        assert client.user_info("joe123").status == 200


def test_a_429_that_repeats_late_in_the_day_is_the_spent_day(server, tmp_path):
    server.routes[USER_INFO] = [error_reply(429, "rate_limit_exceeded", "API rate limit exceeded")]
    fake = FakeTime(NOW_TS)
    ledger = tmp_path / "state" / "quota-tiktok.json"
    DailyQuota("tiktok", 1000, "UTC", ledger, clock=fake.clock).spend(899)
    with _client(server, tmp_path, fake, quota_path=ledger) as client:
        with pytest.raises(QuotaExhausted) as stop:
            client.user_info("joe123")
        assert stop.value.resets_at == datetime(2026, 11, 21)  # 00:00 UTC
        assert len(api(server)) == 2 and fake.slept == [pytest.approx(60.0)]
        # the ledger now says the day is spent: nothing more is sent, by any task
        with pytest.raises(QuotaExhausted):
            client.user_info("joe123")
        with pytest.raises(QuotaExhausted):
            DailyQuota("tiktok", 1000, "UTC", ledger, clock=fake.clock).spend(1)
    assert len(api(server)) == 2


def test_a_spent_ledger_sends_nothing_and_a_429_at_its_end_is_not_retried(server, tmp_path):
    server.routes[USER_INFO] = [user_reply()]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake, daily_requests=2) as client:
        client.user_info("a")
        client.user_info("b")
        with pytest.raises(QuotaExhausted, match="2 of 2 daily units used"):
            client.user_info("c")
    assert len(api(server)) == 2 and len(server.seen) == 3  # the third never left

    server.seen.clear()
    server.routes[USER_INFO] = [error_reply(429, "rate_limit_exceeded", "quota")]
    with _client(server, tmp_path, fake, name="other", daily_requests=1) as client:
        with pytest.raises(QuotaExhausted, match="429"):
            client.user_info("a")
    assert len(api(server)) == 1 and fake.slept == []  # our ledger knew: no retry


def test_5xx_html_broken_and_slow_bodies_are_retried_and_each_attempt_spends(server, tmp_path):
    server.routes[USER_INFO] = [
        Reply(500, json.dumps({"error": {"code": "internal_error", "message": ""}})),
        Reply(504, "<html><body>504 Gateway Time-out</body></html>", {"Content-Type": "text/html"}),
        Reply(200, user_reply().body, truncate_at=25),  # cut mid-document
        Reply(200, user_reply().body, delay=0.5),  # slower than the timeout
        user_reply(),
    ]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake, timeout=0.2, max_attempts=6) as client:
        page = client.user_info("joe123")
    client.archive.close()
    assert json.loads(page.body)["data"]["follower_count"] == 23_000
    assert len(api(server)) == 5 and client.quota.used == 5
    assert len(list(read_pages(client.archive.path))) == 1  # only the good page


def test_an_unknown_account_is_not_retried_and_maps_to_a_reject(server, tmp_path):
    server.routes[USER_INFO] = [
        error_reply(400, "invalid_params", "nobody_here is invalid: cannot find the user")
    ]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client, pytest.raises(PlatformHTTPError) as error:
        client.user_info("nobody_here")
    client.archive.close()
    assert error.value.page.status == 400 and len(api(server)) == 1
    batch = MappedBatch("tiktok")
    map_user_info(next(read_pages(client.archive.path)), batch)
    assert [r.reason for r in batch.rejects] == [
        "HTTP 400 invalid_params: nobody_here is invalid: cannot find the user"
    ]


def test_an_expired_search_id_walks_the_window_again_once(server, tmp_path):
    expired = "Search Id 7354367454467855403 is invalid or expired"
    server.routes[QUERY] = [
        videos_reply(0, 100, 100, True),
        error_reply(400, "invalid_params", expired),
        videos_reply(0, 100, 100, True, search_id="7354367454467855999"),
        videos_reply(100, 20, 120, False, search_id="7354367454467855999"),
    ]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client:
        pages = list(client.user_videos("joe123", NOW - timedelta(days=3), NOW))
    client.archive.close()
    paging = [(b.get("cursor"), b.get("search_id")) for b in bodies(server)]
    assert paging == [
        (None, None),
        (100, "7354367454467855403"),
        (None, None),  # from the window's start, without the dead search id
        (100, "7354367454467855999"),
    ]
    # the 400 that restarted the window is yielded too, so a live run rejects it
    assert [p.status for p in pages] == [200, 400, 200, 200]
    archived = list(read_pages(client.archive.path))
    assert [p.request_body for p in archived] == [p.request_body for p in pages]
    for source in (pages, archived):
        batch = MappedBatch("tiktok")
        for page in source:
            map_video_query(page, batch)
        assert len({p.post_id for p in batch.posts}) == 120
        assert [r.reason for r in batch.rejects] == [f"HTTP 400 invalid_params: {expired}"]


def test_an_error_in_one_window_is_yielded_and_the_older_windows_are_still_walked(server, tmp_path):
    cursor_lost = "Invalid count or cursor"
    server.routes[QUERY] = [
        # newest window: expires twice, so it is given up after its one restart
        videos_reply(0, 100, 100, True),
        error_reply(400, "invalid_params", cursor_lost),
        videos_reply(0, 100, 100, True),
        error_reply(400, "invalid_params", cursor_lost),
        # the middle window is refused on its first request
        error_reply(400, "invalid_params", "Invalid start_date or end_date"),
        # the oldest window is walked all the same
        videos_reply(300, 7, 7, False),
    ]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client:
        pages = list(client.user_videos("joe123", NOW - timedelta(days=75), NOW))
    client.archive.close()
    spans = [(b["start_date"], b.get("cursor")) for b in bodies(server)]
    assert spans == [
        ("20261022", None),
        ("20261022", 100),
        ("20261022", None),
        ("20261022", 100),
        ("20260922", None),
        ("20260906", None),
    ]
    assert [p.status for p in pages] == [200, 400, 200, 400, 400, 200]
    batch = MappedBatch("tiktok")
    for page in pages:
        map_video_query(page, batch)
    assert len({p.post_id for p in batch.posts}) == 107
    assert [r.reason for r in batch.rejects] == [
        f"HTTP 400 invalid_params: {cursor_lost}",
        f"HTTP 400 invalid_params: {cursor_lost}",
        "HTTP 400 invalid_params: Invalid start_date or end_date",
    ]
    assert len(list(read_pages(client.archive.path))) == 6


def test_a_user_the_api_cannot_find_ends_the_video_walk_after_its_error_page(server, tmp_path):
    missing = "nobody_here is invalid: cannot find the user"
    server.routes[QUERY] = [
        error_reply(400, "invalid_params", missing),
        videos_reply(0, 1, 1, False),
    ]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client:
        pages = list(client.user_videos("nobody_here", NOW - timedelta(days=75), NOW))
    assert [p.status for p in pages] == [400] and len(api(server)) == 1  # no more windows
    batch = MappedBatch("tiktok")
    map_video_query(pages[0], batch)
    assert [r.reason for r in batch.rejects] == [f"HTTP 400 invalid_params: {missing}"]


def test_a_page_without_a_search_id_keeps_the_one_before(server, tmp_path):
    server.routes[QUERY] = [
        videos_reply(0, 100, 100, True),
        videos_reply(100, 100, 200, True, search_id=None),
        videos_reply(200, 5, 205, False, search_id=None),
    ]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client:
        pages = list(client.user_videos("joe123", NOW - timedelta(days=3), NOW))
    assert len(pages) == 3
    assert [(b.get("cursor"), b.get("search_id")) for b in bodies(server)] == [
        (None, None),
        (100, "7354367454467855403"),
        (200, "7354367454467855403"),  # carried forward, not dropped
    ]


def test_a_refused_token_is_renewed_once_and_the_request_sent_again(server, tmp_path):
    server.routes[TOKEN] = [token_reply(1), token_reply(2)]
    server.routes[USER_INFO] = [
        error_reply(401, "access_token_invalid", "The access token is invalid or not found"),
        user_reply(),
    ]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client:
        page = client.user_info("joe123")
    client.archive.close()
    assert page.status == 200
    assert [(s.path.split("?")[0], s.headers.get("Authorization")) for s in server.seen] == [
        (TOKEN, None),
        (USER_INFO, "Bearer clt.token-1"),
        (TOKEN, None),
        (USER_INFO, "Bearer clt.token-2"),
    ]
    assert [p.status for p in read_pages(client.archive.path)] == [200]


def test_a_token_refused_twice_or_a_wrong_secret_fails_loudly_without_the_secret(server, tmp_path):
    server.routes[TOKEN] = [token_reply(1), token_reply(2)]
    server.routes[USER_INFO] = [error_reply(401, "access_token_invalid", "no scope")]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client, pytest.raises(TikTokAuthError):
        client.user_info("joe123")
    assert len(api(server)) == 2  # once, renewed once, never retried further

    server.routes[TOKEN] = [
        Reply(
            401,
            json.dumps(
                {
                    "error": "invalid_client",
                    "error_description": "Client secret s3cret-client-secret is incorrect.",
                    "log_id": "L",
                }
            ),
        )
    ]
    server.seen.clear()
    with (
        _client(server, tmp_path, fake, name="wrong") as client,
        pytest.raises(TikTokAuthError, match="invalid_client") as error,
    ):
        client.user_info("joe123")
    assert "s3cret" not in str(error.value) and api(server) == []


def test_token_endpoint_failures_are_retried_without_spending_the_research_ledger(server, tmp_path):
    server.routes[TOKEN] = [
        Reply(503, "<html>503 Service Unavailable</html>", {"Content-Type": "text/html"}),
        Reply(200, "access_token=clt.nope"),  # not JSON
        token_reply(1),
    ]
    server.routes[USER_INFO] = [user_reply()]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client:
        page = client.user_info("joe123")
    assert page.status == 200
    assert [s.path.split("?")[0] for s in server.seen] == [TOKEN, TOKEN, TOKEN, USER_INFO]
    assert client.quota.used == 1  # only the API request spent a unit


def test_a_token_that_fails_to_renew_is_fetched_again_before_the_retry(server, tmp_path):
    server.routes[TOKEN] = [token_reply(1), Reply(500, "{}"), token_reply(2)]
    server.routes[USER_INFO] = [
        error_reply(401, "access_token_invalid", "The access token is invalid or not found"),
        user_reply(),
    ]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client:
        assert client.user_info("joe123").status == 200
    assert [(s.path.split("?")[0], s.headers.get("Authorization")) for s in server.seen] == [
        (TOKEN, None),
        (USER_INFO, "Bearer clt.token-1"),
        (TOKEN, None),  # the renewal fails with a 500
        (TOKEN, None),  # the retry fetches a token first, not resending the refused one
        (USER_INFO, "Bearer clt.token-2"),
    ]
    assert client.quota.used == 2  # the two API requests


def test_a_non_json_4xx_from_the_token_endpoint_is_an_auth_error_not_retried(server, tmp_path):
    server.routes[TOKEN] = [
        Reply(
            403,
            "<html>Forbidden: client_secret=s3cret-client-secret</html>",
            {"Content-Type": "text/html"},
        )
    ]
    fake = FakeTime(NOW_TS)
    with (
        _client(server, tmp_path, fake) as client,
        pytest.raises(TikTokAuthError, match="HTTP 403") as error,
    ):
        client.user_info("joe123")
    assert len(server.seen) == 1 and api(server) == [] and fake.slept == []
    assert "s3cret" not in str(error.value) and client.quota.used == 0


def test_the_token_is_renewed_before_it_expires(server, tmp_path):
    server.routes[TOKEN] = [token_reply(1, expires_in=7200), token_reply(2)]
    server.routes[USER_INFO] = [user_reply()]
    fake = FakeTime(NOW_TS)
    with _client(server, tmp_path, fake) as client:
        client.user_info("a")
        fake.now += 7200 - 299  # inside the renewal margin
        client.user_info("b")
    assert [s.headers.get("Authorization") for s in api(server)] == [
        "Bearer clt.token-1",
        "Bearer clt.token-2",
    ]


def test_missing_credentials_are_refused_by_name():
    with pytest.raises(ValueError, match="client_secret") as error:
        TikTokClient("http://127.0.0.1:9", credentials={"client_key": "awkey-xyz"})
    assert "awkey-xyz" not in str(error.value)


def test_a_walk_cut_by_failures_resumes_from_the_archive_on_the_next_try(server, tmp_path):
    good_third = videos_reply(200, 10, 210, False)
    server.routes[QUERY] = [
        videos_reply(0, 100, 100, True),
        videos_reply(100, 100, 200, True),
        Reply(500, '{"error": {"code": "internal_error", "message": ""}}'),
        Reply(500, '{"error": {"code": "internal_error", "message": ""}}'),
        good_third,
    ]
    path = tmp_path / "raw" / "tiktok" / "video_query.jsonl.gz"
    fake = FakeTime(NOW_TS)
    since = NOW - timedelta(days=5)
    first = TikTokClient(
        server.url,
        RawArchive(path),
        credentials=CREDENTIALS,
        clock=fake.clock,
        sleep=fake.sleep,
        max_attempts=2,
    )
    with first, pytest.raises(RetriesExhausted):
        list(first.user_videos("joe123", since, NOW))
    assert len(api(server)) == 4  # pages 1-2, page 3 twice; the task dies without a close

    server.seen.clear()
    archive = RawArchive(path)
    assert archive.salvaged == 2
    with TikTokClient(
        server.url, archive, credentials=CREDENTIALS, clock=fake.clock, sleep=fake.sleep
    ) as second:
        pages = list(second.user_videos("joe123", since, NOW))
    archive.close()
    # only the third page goes out (after a token: the new client has none yet)
    assert [s.path.split("?")[0] for s in server.seen] == [TOKEN, QUERY]
    assert [(b["cursor"], b["search_id"]) for b in bodies(server)] == [(200, "7354367454467855403")]
    assert archive.replayed == 2 and len(pages) == 3 and second.quota.used == 1
    archived = list(read_pages(path))
    assert len(archived) == 3
    batch = MappedBatch("tiktok")
    for page in archived:
        map_video_query(page, batch)
    ids = [p.post_id for p in batch.posts]
    assert len(ids) == 210 == len(set(ids))


class _Archives:
    def __init__(self, root: Path) -> None:
        self.root, self.open = root, {}

    def __call__(self, endpoint: str) -> RawArchive:
        if endpoint not in self.open:
            self.open[endpoint] = RawArchive(self.root / endpoint / "dt=2026-11-20" / "t.jsonl.gz")
        return self.open[endpoint]

    def close(self) -> None:
        for archive in self.open.values():
            archive.close()


def test_fetch_walks_profiles_then_videos_and_skips_unknown_accounts(server, tmp_path):
    server.routes[USER_INFO] = [
        user_reply(),
        error_reply(400, "invalid_params", "API cannot return this user's information"),
    ]
    server.routes[QUERY] = [videos_reply(0, 100, 100, True), videos_reply(100, 5, 105, False)]
    sources = TikTokSources(base_url=server.url, accounts=["@Joe123", "private_one"])
    archives = _Archives(tmp_path / "raw" / "tiktok")
    fake = FakeTime(NOW_TS)
    ledger = tmp_path / "state" / "quota-tiktok.json"
    since = {"@Joe123": NOW - timedelta(days=7), "private_one": NOW - timedelta(days=7)}
    pages = list(
        fetch(
            sources,
            LiveBatch(platform="tiktok", accounts=sources.accounts, since=since),
            FetchContext(
                until=NOW,
                archives=archives,
                credentials=CREDENTIALS,
                quota_path=ledger,
                client_options={"clock": fake.clock, "sleep": fake.sleep},
            ),
        )
    )
    archives.close()
    assert [(e, p.status) for e, p in pages] == [
        ("user_info", 200),
        ("video_query", 200),
        ("video_query", 200),
        ("user_info", 400),  # no videos asked for the refused account
    ]
    assert [json.loads(s.body).get("username") for s in api(server)] == [
        "Joe123",
        None,
        None,
        "private_one",
    ]
    assert json.loads(ledger.read_text())["used"] == 4
    batch = MappedBatch("tiktok")
    for endpoint, page in pages:
        MAPPERS[endpoint](page, batch)
    assert [a.account_id for a in batch.accounts] == ["joe123"]
    assert len(batch.posts) == 105 and len(batch.rejects) == 1
    # every page is observed inside the run's interval
    assert all(p.fetched_at < NOW for _, p in pages)
    for path in (tmp_path / "raw").rglob("*.jsonl.gz"):
        data = gzip.decompress(path.read_bytes())
        assert b"s3cret" not in data and b"clt.token" not in data and b"awkey" not in data
    assert sorted(p.parent.parent.name for p in (tmp_path / "raw").rglob("*.jsonl.gz")) == [
        "user_info",
        "video_query",
    ]


def test_fetch_lets_a_spent_quota_propagate(server, tmp_path):
    server.routes[USER_INFO] = [user_reply()]
    server.routes[QUERY] = [videos_reply(0, 100, 100, True)]
    sources = TikTokSources(base_url=server.url, daily_requests=2)
    fake = FakeTime(NOW_TS)
    got = []
    with pytest.raises(QuotaExhausted):
        for item in fetch(
            sources,
            LiveBatch(
                platform="tiktok", accounts=["joe123"], since={"joe123": NOW - timedelta(days=7)}
            ),
            FetchContext(
                until=NOW,
                archives=_Archives(tmp_path / "raw"),
                credentials=CREDENTIALS,
                client_options={"clock": fake.clock, "sleep": fake.sleep},
            ),
        ):
            got.append(item)
    assert [e for e, _ in got] == ["user_info", "video_query"]  # what was fetched is kept
    assert len(api(server)) == 2


def test_discover_caps_pages_per_term_and_maps_sightings(server, tmp_path):
    server.routes[QUERY] = [
        videos_reply(0, 100, 100, True),
        videos_reply(100, 100, 200, True),  # the cap: a third page is never asked for
        videos_reply(300, 3, 3, False),
    ]
    sources = TikTokSources(
        base_url=server.url, discovery_days=7, max_pages_per_term=2, region_codes=["DE", "AT"]
    )
    archives = _Archives(tmp_path / "raw" / "tiktok")
    fake = FakeTime(NOW_TS)
    until = datetime(2026, 11, 20)
    pages = list(
        discover(
            sources,
            DiscoveryBatch(platform="tiktok", tags=["#Sauerteig"], keywords=["sourdough starter"]),
            FetchContext(
                until=until,
                archives=archives,
                credentials=CREDENTIALS,
                client_options={"clock": fake.clock, "sleep": fake.sleep},
            ),
        )
    )
    archives.close()
    sent = bodies(server)
    assert [b["query"]["and"][0] for b in sent] == [
        {"operation": "IN", "field_name": "hashtag_name", "field_values": ["sauerteig"]},
        {"operation": "IN", "field_name": "hashtag_name", "field_values": ["sauerteig"]},
        {"operation": "EQ", "field_name": "keyword", "field_values": ["sourdough starter"]},
    ]
    assert all(
        b["query"]["and"][1]
        == {"operation": "IN", "field_name": "region_code", "field_values": ["DE", "AT"]}
        for b in sent
    )
    assert {(b["start_date"], b["end_date"]) for b in sent} == {("20261113", "20261119")}
    assert [e for e, _ in pages] == ["video_search"] * 3
    batch = MappedBatch("tiktok")
    for page in read_pages(archives.open["video_search"].path):
        map_video_search(page, batch)
    assert {(d.account_id, d.term) for d in batch.account_discoveries} == {
        ("joe123", "#sauerteig"),
        ("joe123", "sourdough starter"),
    }
    assert not batch.posts and not batch.rejects
