"""The shared HTTP layer: resuming a retried walk, daily quotas, platform error hooks, POST.

All against a real server on 127.0.0.1 (tests/helpers/replay_server.py).
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from ingest.batch import MappedBatch
from ingest.connector import LiveBatch, TaskContext
from ingest.http import (
    DailyQuota,
    PlatformClient,
    QuotaExhausted,
    RateLimiter,
    RawArchive,
    RetriesExhausted,
    Retryable,
)
from ingest.live_source import Sources, extract_live
from ingest.mastodon.client import MastodonClient
from ingest.mastodon.mapping import map_account_statuses
from ingest.pages import PageRef, RecordedPage, read_pages
from tests.helpers.feed_builder import mastodon_account, mastodon_status
from tests.helpers.replay_server import FakeTime, ReplayServer, Reply

NOW = datetime(2026, 11, 20, 6)
ROOT = Path(__file__).resolve().parents[2]
STATUSES = "/api/v1/accounts/7/statuses"
ALICE = mastodon_account("alice", "greens.social", 20_000, local_id="7")


def _page(first_id: int, newest: datetime, n: int = 40) -> str:
    return json.dumps(
        [
            mastodon_status(
                ALICE, "greens.social", str(first_id - i), newest - timedelta(hours=i), "tofu"
            )
            for i in range(n)
        ]
    )


def _three_pages(server: ReplayServer, third: list[Reply]) -> list[str]:
    """A walk of three pages of 40 statuses, an hour apart, the third answered by ``third``."""
    paths = [f"{STATUSES}?limit=40", f"{STATUSES}?max_id=160", f"{STATUSES}?max_id=120"]
    for i, path in enumerate(paths[:2]):
        nxt = f'<{server.url}{paths[i + 1]}>; rel="next"'
        server.routes[path] = [
            Reply(body=_page(200 - 40 * i, NOW - timedelta(hours=40 * i)), headers={"Link": nxt})
        ]
    server.routes[paths[2]] = third
    return paths


@pytest.fixture
def server():
    with ReplayServer() as replay:
        yield replay


def test_a_retried_walk_resumes_after_the_pages_the_failed_try_archived(server, tmp_path):
    good_third = Reply(body=_page(120, NOW - timedelta(hours=80)))
    paths = _three_pages(server, [Reply(502, "<html>Bad Gateway</html>")] * 2 + [good_third])
    path = tmp_path / "raw" / "statuses.jsonl.gz"
    fake = FakeTime(NOW.timestamp())
    since = NOW - timedelta(days=10)

    # first try: pages 1 and 2 arrive, page 3 keeps failing, the task dies (no close)
    first = MastodonClient(server.url, RawArchive(path), sleep=fake.sleep, max_attempts=2)
    with first, pytest.raises(RetriesExhausted):
        list(first.statuses("7", since))
    assert [s.path for s in server.seen] == [paths[0], paths[1], paths[2], paths[2]]

    # second try: pages 1 and 2 come from the archive, only page 3 goes out again
    server.seen.clear()
    archive = RawArchive(path)
    assert archive.salvaged == 2
    with MastodonClient(server.url, archive, sleep=fake.sleep) as second:
        pages = list(second.statuses("7", since))
    archive.close()
    assert [s.path for s in server.seen] == [paths[2]]
    assert archive.replayed == 2 and len(pages) == 3
    assert not path.with_name(f".{path.name}.tmp").exists()

    batch = MappedBatch("mastodon")
    for page in read_pages(path):
        map_account_statuses(page, batch)
    ids = [p.post_id for p in batch.posts]
    assert len(ids) == 120 and len(set(ids)) == 120  # no gap, no duplicate


def test_an_archive_cut_mid_write_keeps_every_complete_page(tmp_path):
    path = tmp_path / "raw" / "x.jsonl.gz"
    first = RawArchive(path)
    for i in range(3):
        first.append(_fake_page(i))
    tmp = path.with_name(f".{path.name}.tmp")
    data = tmp.read_bytes()
    assert RawArchive(path).salvaged == 3  # flushed page by page, readable without a close
    tmp.write_bytes(data[: len(data) - 7])  # the process died while writing page 3
    second = RawArchive(path)
    assert second.salvaged == 2
    second.close()


def _fake_page(i: int) -> RecordedPage:
    return RecordedPage(PageRef("", 0), NOW, "GET", f"http://x/p?i={i}", 200, {}, b"[]")


def test_a_rerun_of_a_finished_task_replays_its_archive_without_the_network(server, tmp_path):
    paths = _three_pages(server, [Reply(body=_page(120, NOW - timedelta(hours=80)))])
    path = tmp_path / "raw" / "statuses.jsonl.gz"
    since = NOW - timedelta(days=10)
    with MastodonClient(server.url, RawArchive(path)) as client:
        list(client.statuses("7", since))
    client.archive.close()
    assert len(server.seen) == len(paths)
    server.seen.clear()
    with MastodonClient(server.url, RawArchive(path)) as client:
        assert len(list(client.statuses("7", since))) == 3
    client.archive.close()
    assert server.seen == [] and len(list(read_pages(path))) == 3


def test_live_extract_retried_after_a_crash_lands_every_post_once(server, tmp_path):
    """The task-level view: extract_live fails mid-walk, the retry lands all."""
    server.routes["/api/v1/accounts/lookup?acct=alice"] = [Reply(body=json.dumps(ALICE))]
    good_third = Reply(body=_page(120, NOW - timedelta(hours=80)))
    paths = _three_pages(server, [Reply(503, "<html>down</html>")] * 5 + [good_third])
    sources = Sources.model_validate(
        {"mastodon": {"accounts": ["alice@greens.social"], "instance_urls": {}}}
    )
    sources.mastodon.instance_urls["greens.social"] = server.url
    batch = LiveBatch(
        platform="mastodon",
        accounts=["alice@greens.social"],
        since={"alice@greens.social": NOW - timedelta(days=10)},
    )
    task = dict(
        interval_start=NOW - timedelta(days=1),
        interval_end=NOW,
        run_id="scheduled__2026-11-19",
        task="extract_mastodon-0",
    )
    with pytest.raises(RetriesExhausted):
        extract_live(
            sources, batch, tmp_path, TaskContext(**task), max_attempts=5, sleep=lambda s: None
        )
    server.seen.clear()
    # Airflow's retry is the task's second try
    summary = extract_live(
        sources, batch, tmp_path, TaskContext(**task, attempt=2), sleep=lambda s: None
    )
    assert [s.path for s in server.seen] == [paths[2]]  # lookup, pages 1-2 replayed
    assert summary.rows["posts"] == 120
    raw = sorted((tmp_path / "raw" / "mastodon").rglob("*.jsonl.gz"))
    assert [(p.parent.parent.name, p.name, len(list(read_pages(p)))) for p in raw] == [
        ("account_statuses", "scheduled__2026-11-19-extract_mastodon-0-try2.jsonl.gz", 3),
        ("accounts_lookup", "scheduled__2026-11-19-extract_mastodon-0-try2.jsonl.gz", 1),
    ]
    assert all("-try2-" in f for f in summary.landed)


def test_a_cleared_task_lands_new_files_and_leaves_the_loaded_ones_alone(server, tmp_path):
    """Clearing a finished live extract after its files were loaded, with a plan that has
    changed since (a queued account added): the new try replays what it can, lands files
    of its own, and the loader takes them beside the first try's."""
    from ingest.loader import load_pending
    from radar.warehouse import apply_schema, connect

    bob = mastodon_account("bob", "greens.social", 15_000, local_id="8")
    server.routes["/api/v1/accounts/lookup?acct=alice"] = [Reply(body=json.dumps(ALICE))]
    server.routes["/api/v1/accounts/lookup?acct=bob"] = [Reply(body=json.dumps(bob))]
    _three_pages(server, [Reply(body=_page(120, NOW - timedelta(hours=80)))])
    server.routes["/api/v1/accounts/8/statuses?limit=40"] = [Reply(body="[]")]
    sources = Sources.model_validate({"mastodon": {"instance_urls": {"greens.social": server.url}}})
    since = NOW - timedelta(days=10)
    task = dict(
        interval_start=NOW - timedelta(days=1),
        interval_end=NOW,
        run_id="scheduled__2026-11-19",
        task="extract_mastodon-0",
    )
    first = extract_live(
        sources,
        LiveBatch(
            platform="mastodon",
            accounts=["alice@greens.social"],
            since={"alice@greens.social": since},
        ),
        tmp_path,
        TaskContext(**task),
    )
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as conn:
        apply_schema(conn, ROOT / "sql")
        load_pending(conn, tmp_path, "scheduled__2026-11-19")
    archived = {p: p.read_bytes() for p in (tmp_path / "raw").rglob("*.jsonl.gz")}
    server.seen.clear()
    accounts = ["alice@greens.social", "bob@greens.social"]
    second = extract_live(
        sources,
        LiveBatch(platform="mastodon", accounts=accounts, since=dict.fromkeys(accounts, since)),
        tmp_path,
        TaskContext(**task, attempt=2),
    )
    # alice's pages come from the first try's archive; only bob's are fetched
    assert [s.path.split("?")[0] for s in server.seen] == [
        "/api/v1/accounts/lookup",
        "/api/v1/accounts/8/statuses",
    ]
    assert not set(first.landed) & set(second.landed)
    # the first try's archive files are untouched: its loaded rows still point at them
    assert all(p.read_bytes() == data for p, data in archived.items())
    with connect(warehouse) as conn:
        summary = load_pending(conn, tmp_path, "scheduled__2026-11-19")
        posts = conn.execute("select count(*) from core.posts").fetchone()[0]
        accounts_loaded = conn.execute("select count(*) from core.accounts").fetchone()[0]
    assert summary.files_loaded > 0 and posts == 120 and accounts_loaded == 2


class _Quirky(PlatformClient):
    """A platform that says "slow down" in the body of a 400 and "quota" in a 403."""

    def check_response(self, status: int, headers: httpx.Headers, body: bytes) -> None:
        if status == 400 and b"throttled" in body:
            raise Retryable("throttled", wait=120.0)
        if status == 403 and b"quotaExceeded" in body:
            self.quota.exhaust()
            raise QuotaExhausted(self.platform, self.quota.resets_at(), "quotaExceeded")


def _quirky(server: ReplayServer, fake: FakeTime, quota: DailyQuota, archive=None) -> _Quirky:
    limiter = RateLimiter(lambda h: (None, None), clock=fake.clock, sleep=fake.sleep)
    return _Quirky("quirky", server.url, limiter, archive, sleep=fake.sleep, quota=quota)


def test_check_response_retries_after_the_wait_the_platform_asked_for(server):
    server.routes["/v"] = [Reply(400, '{"error": "throttled"}'), Reply(body="{}")]
    fake = FakeTime(NOW.timestamp())
    with _quirky(server, fake, DailyQuota("quirky", 10, clock=fake.clock)) as client:
        client.get("/v")
    assert len(server.seen) == 2 and fake.slept == [120.0]


def test_a_spent_quota_stops_without_retrying_and_sends_nothing_more(server, tmp_path):
    server.routes["/v"] = [
        Reply(body="{}"),
        Reply(403, '{"reason": "quotaExceeded"}'),
        Reply(body="{}"),
    ]
    fake = FakeTime(datetime(2026, 11, 20, 7, 30, tzinfo=UTC).timestamp())  # 23:30 PST
    ledger = tmp_path / "state" / "quota-quirky.json"
    quota = DailyQuota("quirky", 100, "America/Los_Angeles", ledger, clock=fake.clock)
    with _quirky(server, fake, quota) as client:
        client.get("/v", cost=10)
        with pytest.raises(QuotaExhausted) as stop:
            client.get("/v", cost=10)
        assert len(server.seen) == 2  # the 403 was not retried
        # midnight Pacific, in UTC
        assert stop.value.resets_at == datetime(2026, 11, 20, 8, 0)
        # another task on the machine reads the same ledger: it sends nothing today
        other = DailyQuota("quirky", 100, "America/Los_Angeles", ledger, clock=fake.clock)
        with pytest.raises(QuotaExhausted):
            other.spend(1)
        assert len(server.seen) == 2
        fake.now += 31 * 60  # past midnight Pacific: a new day, a new budget
        client.get("/v", cost=10)
    assert quota.used == 10 and len(server.seen) == 3


def test_the_budget_refuses_a_request_it_cannot_pay_for(server):
    server.routes["/v"] = [Reply(body="{}")]
    fake = FakeTime(NOW.timestamp())
    quota = DailyQuota("quirky", 150, clock=fake.clock)
    with _quirky(server, fake, quota) as client:
        client.get("/v", cost=100)
        with pytest.raises(QuotaExhausted, match="100 of 150 daily units used, 100 more"):
            client.get("/v", cost=100)
        client.get("/v", cost=50)
    assert len(server.seen) == 2 and quota.used == 150


def test_post_bodies_are_archived_and_a_retry_replays_by_body(server, tmp_path):
    server.routes["/q"] = [Reply(body='{"data": 1}'), Reply(body='{"data": 2}')]
    path = tmp_path / "raw" / "q.jsonl.gz"
    fake = FakeTime(NOW.timestamp())
    with _quirky(server, fake, DailyQuota("quirky", 10), RawArchive(path)) as client:
        client.post("/q", params={"fields": "id"}, json_body={"username": "zoë", "cursor": 0})
        client.post("/q", params={"fields": "id"}, json_body={"username": "zoë", "cursor": 100})
    client.archive.close()
    assert json.loads(server.seen[1].body) == {"username": "zoë", "cursor": 100}
    assert [p.request_body for p in read_pages(path)] == [
        '{"cursor": 0, "username": "zoë"}',
        '{"cursor": 100, "username": "zoë"}',
    ]
    server.seen.clear()
    with _quirky(server, fake, DailyQuota("quirky", 10), RawArchive(path)) as client:
        # same bodies, keys in another order: answered from the archive, in order
        second = client.post(
            "/q", params={"fields": "id"}, json_body={"cursor": 100, "username": "zoë"}
        )
        first = client.post(
            "/q", params={"fields": "id"}, json_body={"cursor": 0, "username": "zoë"}
        )
    client.archive.close()
    assert server.seen == [] and (first.json(), second.json()) == ({"data": 1}, {"data": 2})
    assert "zoë" in gzip.open(path, "rt", encoding="utf-8").read()


def test_no_secret_parameter_reaches_the_archive(server, tmp_path):
    server.routes["/v"] = [Reply(body="{}")]
    path = tmp_path / "raw" / "v.jsonl.gz"
    fake = FakeTime(NOW.timestamp())
    with _quirky(server, fake, DailyQuota("quirky", 10), RawArchive(path)) as client:
        client.get("/v", params={"key": "AIza-secret", "access_token": "EAAB-secret", "q": "x"})
    client.archive.close()
    assert "key=AIza-secret" in server.seen[0].path
    text = gzip.open(path, "rt").read()
    assert "secret" not in text and "q=x" in text
    # a retry finds the page by its redacted URL
    server.seen.clear()
    with _quirky(server, fake, DailyQuota("quirky", 10), RawArchive(path)) as client:
        client.get("/v", params={"key": "AIza-secret", "access_token": "EAAB-secret", "q": "x"})
    client.archive.close()
    assert server.seen == []


def test_archive_files_are_complete_after_close(tmp_path: Path):
    archive = RawArchive(tmp_path / "a.jsonl.gz")
    archive.append(_fake_page(1))
    archive.close()
    assert len(list(read_pages(tmp_path / "a.jsonl.gz"))) == 1


def test_a_refusal_that_arrives_after_the_reset_leaves_the_new_day_alone(tmp_path):
    fake = FakeTime(datetime(2026, 11, 20, 7, 59, 58, tzinfo=UTC).timestamp())  # 23:59:58 PST
    ledger = tmp_path / "quota.json"
    quota = DailyQuota("quirky", 100, "America/Los_Angeles", ledger, clock=fake.clock)
    quota.spend(1)  # paid from 11-19's budget
    fake.now += 5  # the platform answers quotaExceeded after midnight Pacific
    quota.exhaust()
    quota.spend(1)  # 11-20's budget is untouched
    assert json.loads(ledger.read_text()) == {"day": "2026-11-20", "used": 1, "exhausted": False}
    quota.exhaust()  # refused on the same day: now it is spent
    with pytest.raises(QuotaExhausted):
        quota.spend(1)
