"""The Instagram client against a real server on 127.0.0.1 replaying Graph API shapes,
usage headers and error envelopes."""

from __future__ import annotations

import gzip
import json
import logging
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ingest.batch import MappedBatch
from ingest.http import (
    PlatformHTTPError,
    QuotaExhausted,
    RawArchive,
    RetriesExhausted,
    _RedactLoggedUrls,
)
from ingest.instagram.client import InstagramAccessError, InstagramClient, UsageReader
from ingest.instagram.mapping import map_business_discovery
from ingest.pages import read_pages
from tests.helpers.replay_server import FakeTime, ReplayServer, Reply

NOW = datetime(2026, 11, 20, 6)
ME = "17841405309211844"
ROUTE = f"/v25.0/{ME}"
TOKEN = "EAAGs3cretT0ken"


def media(n: int, at: datetime) -> dict:
    return {
        "id": f"178{n:014d}",
        "caption": f"Loaf {n} #sourdough",
        "comments_count": 2,
        "like_count": 40,
        "media_type": "IMAGE",
        "media_product_type": "FEED",
        "permalink": f"https://www.instagram.com/p/P{n}/",
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S+0000"),
    }


def body(items: list[dict], after: str | None = None, username: str = "crumbqueen") -> str:
    edge: dict = {"data": items}
    if after:
        edge["paging"] = {"cursors": {"before": "QVFIUb", "after": after}}
    profile = {
        "id": "17841400000000001",
        "username": username,
        "followers_count": 18_500,
        "follows_count": 300,
        "media_count": 1_000,
        "media": edge,
    }
    return json.dumps({"business_discovery": profile, "id": ME})


def hours(first: int, count: int, step: int = 1) -> list[dict]:
    return [media(first + i, NOW - timedelta(hours=(first + i) * step)) for i in range(count)]


def graph_error(code: int, message: str, subcode: int | None = None, transient=False) -> str:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Axyz"}
    if subcode:
        error["error_subcode"] = subcode
    error["is_transient"] = transient
    return json.dumps({"error": error})


def buc(minutes: int, percent: int = 100) -> dict[str, str]:
    usage = {
        ME: [
            {
                "type": "instagram",
                "call_count": percent,
                "total_cputime": 20,
                "total_time": 25,
                "estimated_time_to_regain_access": minutes,
            }
        ]
    }
    return {"X-Business-Use-Case-Usage": json.dumps(usage)}


def fields(seen) -> str:
    return parse_qs(urlsplit(seen.path).query)["fields"][0]


@pytest.fixture(scope="module")
def _running_server():
    # one server for the module: each shutdown waits out serve_forever's 0.5 s poll
    with ReplayServer() as replay:
        yield replay


@pytest.fixture
def server(_running_server):
    _running_server.routes.clear()
    _running_server.seen.clear()
    return _running_server


def _client(server, path: Path, fake: FakeTime, **kwargs) -> InstagramClient:
    return InstagramClient(
        f"{server.url}/v25.0",
        RawArchive(path),
        access_token=TOKEN,
        ig_user_id=ME,
        clock=fake.clock,
        sleep=fake.sleep,
        **kwargs,
    )


def _archive(tmp_path: Path) -> Path:
    return tmp_path / "raw" / "instagram" / "business_discovery" / "pages.jsonl.gz"


def test_the_walk_follows_after_cursors_until_since_and_archives_each_page_once(server, tmp_path):
    server.routes[ROUTE] = [
        Reply(body=body(hours(0, 25), after="QVFIUmx1")),
        Reply(body=body(hours(25, 25), after="QVFIUmx2")),
        Reply(body=body(hours(50, 25, step=4), after="QVFIUmx3")),  # reaches back 8 days
        Reply(body=body(hours(75, 25), after="QVFIUmx4")),  # never asked for
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, _archive(tmp_path), fake) as client:
        pages = list(client.business_discovery("@CrumbQueen", since=NOW - timedelta(days=7)))
    client.archive.close()
    edge = (
        "{id,caption,comments_count,like_count,media_type,media_product_type,permalink,timestamp}"
    )
    profile = "id,username,name,biography,followers_count,follows_count,media_count,website"
    assert [fields(s) for s in server.seen] == [
        f"business_discovery.username(crumbqueen){{{profile},media.limit(25){edge}}}",
        f"business_discovery.username(crumbqueen){{{profile},media.after(QVFIUmx1).limit(25){edge}}}",
        f"business_discovery.username(crumbqueen){{{profile},media.after(QVFIUmx2).limit(25){edge}}}",
    ]
    assert all(parse_qs(urlsplit(s.path).query)["access_token"] == [TOKEN] for s in server.seen)
    archived = list(read_pages(client.archive.path))
    assert len(pages) == len(archived) == 3 and not fake.slept
    batch = MappedBatch("instagram")
    for page in archived:
        map_business_discovery(page, batch)
    ids = [p.post_id for p in batch.posts]
    assert len(ids) == len(set(ids)) == 75 and not batch.rejects
    assert len(batch.account_snapshots) == 3  # every page carries the profile


@pytest.mark.parametrize(
    ("replies", "asked"),
    [
        ([Reply(body=body(hours(0, 3)))], 1),  # no paging at all: the last page
        ([Reply(body=body(hours(0, 25), after="c1")), Reply(body=body([]))], 2),
        (
            [
                Reply(body=body(hours(0, 25), after="c1")),
                Reply(body=body(hours(25, 2), after="c1")),
            ],
            2,
        ),
        ([Reply(body=body(hours(0, 25), after="c1")), Reply(body=body([], after="c1"))], 2),
    ],
    ids=["no-cursor", "empty-page-without-cursor", "repeated-cursor", "empty-repeated-cursor"],
)
def test_the_walk_stops_on_the_platforms_own_signals(server, tmp_path, replies, asked):
    server.routes[ROUTE] = [*replies, Reply(500, "<html>should not be asked</html>")]
    fake = FakeTime(NOW.timestamp())
    with _client(server, _archive(tmp_path), fake) as client:
        pages = list(client.business_discovery("crumbqueen", since=NOW - timedelta(days=30)))
    assert len(server.seen) == len(pages) == asked


def test_an_empty_page_with_a_new_cursor_is_followed(server, tmp_path):
    # Graph edges can hand back an empty, filtered slice that still has more behind it
    server.routes[ROUTE] = [
        Reply(body=body(hours(0, 25), after="c1")),
        Reply(body=body([], after="c2")),
        Reply(body=body([], after="c3")),
        Reply(body=body(hours(25, 25, step=12))),  # reaches back past since, no cursor
        Reply(500, "<html>should not be asked</html>"),
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, _archive(tmp_path), fake) as client:
        pages = list(client.business_discovery("crumbqueen", since=NOW - timedelta(days=30)))
    followed = [re.search(r"media\.after\((\w+)\)", fields(s)) for s in server.seen]
    assert [m and m.group(1) for m in followed] == [None, "c1", "c2", "c3"]
    assert len(pages) == 4


def test_empty_pages_stop_at_the_page_cap(server, tmp_path):
    server.routes[ROUTE] = [Reply(body=body([], after=f"c{i}")) for i in range(10)]
    fake = FakeTime(NOW.timestamp())
    with _client(server, _archive(tmp_path), fake) as client:
        list(client.business_discovery("crumbqueen", NOW - timedelta(days=30), max_pages=3))
    assert len(server.seen) == 3


def test_the_walk_stops_at_its_page_cap(server, tmp_path):
    server.routes[ROUTE] = [
        Reply(body=body(hours(0, 25), after="c1")),
        Reply(body=body(hours(25, 25), after="c2")),
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, _archive(tmp_path), fake) as client:
        list(client.business_discovery("crumbqueen", NOW - timedelta(days=30), max_pages=2))
    assert len(server.seen) == 2


def _sleep_recorder(server: ReplayServer, fake: FakeTime) -> list[int]:
    """Wraps ``fake.sleep`` to note how many requests had reached the server at each wait."""
    sent_before_sleep: list[int] = []
    inner = fake.sleep

    def sleep(seconds: float) -> None:
        sent_before_sleep.append(len(server.seen))
        inner(seconds)

    fake.sleep = sleep  # type: ignore[method-assign]
    return sent_before_sleep


def test_a_spent_buc_window_is_waited_out_before_the_next_request(server, tmp_path):
    server.routes[ROUTE] = [Reply(body=body(hours(0, 1)), headers=buc(minutes=2))]
    server.routes[ROUTE].append(Reply(body=body(hours(0, 1))))
    fake = FakeTime(NOW.timestamp())
    sent = _sleep_recorder(server, fake)
    with _client(server, _archive(tmp_path), fake) as client:
        client.candidate("crumbqueen")
        client.candidate("crumbqueen")
    assert fake.slept == [pytest.approx(120.0)]  # estimated_time_to_regain_access: 2 min
    assert sent == [1]  # the wait came before the second request went out
    assert len(server.seen) == 2


def test_app_usage_over_the_threshold_waits_the_rolling_hour(server, tmp_path):
    app = {"X-App-Usage": json.dumps({"call_count": 96, "total_cputime": 12, "total_time": 30})}
    server.routes[ROUTE] = [Reply(body=body([]), headers=app), Reply(body=body([]))]
    fake = FakeTime(NOW.timestamp())
    sent = _sleep_recorder(server, fake)
    with _client(server, _archive(tmp_path), fake, max_wait=7200) as client:
        client.candidate("a")
        client.candidate("b")
    assert fake.slept == [pytest.approx(3600.0)] and sent == [1]


def test_a_window_shut_for_longer_than_max_wait_stops_the_task_unsent(server, tmp_path):
    app = {"X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 12, "total_time": 30})}
    server.routes[ROUTE] = [Reply(body=body([]), headers=app), Reply(body=body([]))]
    fake = FakeTime(NOW.timestamp())
    with _client(server, _archive(tmp_path), fake) as client:
        client.candidate("a")
        with pytest.raises(QuotaExhausted, match="X-App-Usage at 100%") as stop:
            client.candidate("b")
    assert stop.value.resets_at == NOW + timedelta(hours=1)
    assert len(server.seen) == 1 and not fake.slept


def test_usage_below_the_threshold_does_not_slow_anything(server, tmp_path):
    app = {"X-App-Usage": json.dumps({"call_count": 80, "total_cputime": 5, "total_time": 9})}
    server.routes[ROUTE] = [Reply(body=body([]), headers={**app, **buc(0, percent=60)})]
    fake = FakeTime(NOW.timestamp())
    with _client(server, _archive(tmp_path), fake) as client:
        for name in "abc":
            client.candidate(name)
    assert len(server.seen) == 3 and not fake.slept
    assert client.limiter.remaining == 20  # percent left of the most used window


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80002])
def test_throttling_codes_are_retried_after_the_estimated_time(server, tmp_path, code):
    throttled = Reply(
        400, graph_error(code, "(#4) Application request limit reached", transient=True), buc(1)
    )
    server.routes[ROUTE] = [throttled, Reply(body=body(hours(0, 1)))]
    fake = FakeTime(NOW.timestamp())
    with _client(server, _archive(tmp_path), fake) as client:
        page = client.candidate("crumbqueen")
    client.archive.close()
    assert page.status == 200 and len(server.seen) == 2
    # the asked-for minute, once: the limiter, fed the same header, adds nothing on top
    assert sum(fake.slept) == pytest.approx(60.0)
    assert len(list(read_pages(client.archive.path))) == 1  # the throttle is not archived


def test_a_throttle_without_a_time_is_retried_with_backoff(server, tmp_path):
    throttled = Reply(403, graph_error(17, "(#17) User request limit reached"))
    server.routes[ROUTE] = [throttled, Reply(body=body([]))]
    fake = FakeTime(NOW.timestamp())
    with _client(server, _archive(tmp_path), fake) as client:
        client.candidate("crumbqueen")
    assert len(server.seen) == 2 and len(fake.slept) == 1 and fake.slept[0] < 5


def test_a_throttle_for_longer_than_max_wait_stops_the_task(server, tmp_path):
    throttled = Reply(
        400, graph_error(80002, "Too many calls to this Instagram account"), buc(1440)
    )
    server.routes[ROUTE] = [throttled]
    fake = FakeTime(NOW.timestamp())
    with (
        _client(server, _archive(tmp_path), fake) as client,
        pytest.raises(QuotaExhausted, match="80002") as stop,
    ):
        client.candidate("crumbqueen")
    assert stop.value.resets_at == NOW + timedelta(days=1)
    assert len(server.seen) == 1 and not fake.slept


@pytest.mark.parametrize(
    ("code", "subcode", "says"),
    [
        (190, 463, "access token rejected"),
        (10, None, "permission missing"),
        (200, None, "permission missing"),
        (100, 33, f"ig_user_id {ME} is not"),
    ],
)
def test_token_permission_and_account_errors_stop_with_a_clear_message(
    server, tmp_path, code, subcode, says
):
    # a message that quotes the token must not carry it into the exception
    message = f"Error validating access token {TOKEN}: Session has expired"
    server.routes[ROUTE] = [Reply(400, graph_error(code, message, subcode))]
    fake = FakeTime(NOW.timestamp())
    with (
        _client(server, _archive(tmp_path), fake) as client,
        pytest.raises(InstagramAccessError, match=says) as stop,
    ):
        client.candidate("crumbqueen")
    assert TOKEN not in str(stop.value) and "REDACTED" in str(stop.value)
    assert len(server.seen) == 1  # never retried


def test_5xx_html_cut_and_slow_bodies_are_retried(server, tmp_path):
    good = body(hours(0, 2))
    server.routes[ROUTE] = [
        Reply(
            500,
            "<html><body>Sorry, something went wrong.</body></html>",
            {"Content-Type": "text/html"},
        ),
        Reply(200, good, truncate_at=60),  # cut mid-document
        Reply(200, good, delay=0.5),  # slower than the timeout
        Reply(400, graph_error(2, "Service temporarily unavailable", transient=True)),
        Reply(200, good),
    ]
    fake = FakeTime(NOW.timestamp())
    with _client(server, _archive(tmp_path), fake, timeout=0.2, max_attempts=6) as client:
        page = client.candidate("crumbqueen")
    client.archive.close()
    assert json.loads(page.body)["business_discovery"]["username"] == "crumbqueen"
    assert len(server.seen) == 5 and len(fake.slept) == 4
    assert len(list(read_pages(client.archive.path))) == 1  # only the good page is archived


def test_an_unknown_username_is_archived_once_and_rejected(server, tmp_path):
    server.routes[ROUTE] = [Reply(400, graph_error(110, "Invalid user id", 2207013))]
    fake = FakeTime(NOW.timestamp())
    with (
        _client(server, _archive(tmp_path), fake) as client,
        pytest.raises(PlatformHTTPError) as error,
    ):
        next(client.business_discovery("ghost.baker", NOW - timedelta(days=7)))
    client.archive.close()
    assert error.value.page.status == 400 and len(server.seen) == 1  # never retried
    assert TOKEN not in str(error.value)
    batch = MappedBatch("instagram")
    map_business_discovery(next(read_pages(client.archive.path)), batch)
    (reject,) = batch.rejects
    assert reject.reason.startswith("HTTP 400 for @ghost.baker: Graph API error 110/2207013")


def test_a_retried_walk_resumes_after_the_pages_the_failed_try_archived(server, tmp_path):
    third = Reply(body=body(hours(50, 25)))  # no cursor: the last page
    server.routes[ROUTE] = [
        Reply(body=body(hours(0, 25), after="c1")),
        Reply(body=body(hours(25, 25), after="c2")),
        Reply(502, "<html>Bad Gateway</html>"),
        Reply(502, "<html>Bad Gateway</html>"),
        third,
    ]
    path = _archive(tmp_path)
    fake = FakeTime(NOW.timestamp())
    since = NOW - timedelta(days=30)

    # first try: pages 1 and 2 arrive, page 3 keeps failing, the task dies (no close)
    first = _client(server, path, fake, max_attempts=2)
    with first, pytest.raises(RetriesExhausted, match="HTTP 502") as failed:
        list(first.business_discovery("crumbqueen", since))
    assert TOKEN not in str(failed.value)
    assert len(server.seen) == 4

    # second try, a new client and archive at the same path: only page 3 goes out
    server.seen.clear()
    with _client(server, path, fake) as second:
        pages = list(second.business_discovery("crumbqueen", since))
    second.archive.close()
    assert second.archive.salvaged == 2 and second.archive.replayed == 2
    assert [fields(s).split("{")[1] for s in server.seen] == [
        "id,username,name,biography,followers_count,follows_count,media_count,website,"
        "media.after(c2).limit(25)"
    ]
    assert len(pages) == 3
    batch = MappedBatch("instagram")
    for page in read_pages(path):
        map_business_discovery(page, batch)
    ids = [p.post_id for p in batch.posts]
    assert len(ids) == len(set(ids)) == 75  # no gap, no duplicate


def test_the_token_reaches_neither_the_archive_nor_the_log(server, tmp_path, caplog, monkeypatch):
    # start from a bare httpx logger: the redaction must be the shared filter of
    # ingest.http, which the client installs, not one an earlier test left behind
    httpx_log = logging.getLogger("httpx")
    monkeypatch.setattr(httpx_log, "filters", [])
    server.routes[ROUTE] = [Reply(body=body(hours(0, 1)))]
    fake = FakeTime(NOW.timestamp())
    with caplog.at_level(logging.DEBUG), _client(server, _archive(tmp_path), fake) as client:
        assert [type(f) for f in httpx_log.filters] == [_RedactLoggedUrls]
        client.candidate("crumbqueen")
    client.archive.close()
    raw = client.archive.path.read_bytes()
    text = gzip.decompress(raw).decode()
    assert TOKEN.encode() not in raw and TOKEN not in text
    assert "access_token=REDACTED" in text
    assert "HTTP Request: GET" in caplog.text  # httpx logged the request...
    assert TOKEN not in caplog.text and "access_token=REDACTED" in caplog.text  # ...redacted


def test_the_usage_reader_ignores_what_it_cannot_read():
    read = UsageReader(clock=lambda: 1000.0)
    assert read(httpx.Headers({})) == (None, None)
    assert read(httpx.Headers({"X-App-Usage": "not json"})) == (None, None)
    spent = {
        "X-Business-Use-Case-Usage": json.dumps(
            {ME: [{"call_count": "5", "estimated_time_to_regain_access": 3}]}
        )
    }
    assert read(httpx.Headers(spent)) == (0, 1000.0 + 180)  # blocked, whatever the percentage
