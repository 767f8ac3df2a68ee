"""The DAG with RADAR_SOURCE=live against platform APIs replayed on 127.0.0.1."""

from __future__ import annotations

import gzip
import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from radar.settings import RadarSettings
from tests.helpers.feed_builder import mastodon_account, mastodon_status
from tests.helpers.replay_server import ReplayServer, Reply
from tests.helpers.warehouse_helpers import load_dag, query, run_radar

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime(2026, 11, 20)
SECRET = "tok-3f9a-never-stored"


def _bluesky_feed() -> dict:
    items = []
    for i in range(6):
        stamp = (DAY - timedelta(days=i, hours=-10)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        items.append(
            {
                "post": {
                    "uri": f"at://did:plc:bo/app.bsky.feed.post/{i}",
                    "cid": "c",
                    "author": {"did": "did:plc:bo", "handle": "bo.bsky.social"},
                    "record": {"text": "sourdough loaf", "createdAt": stamp},
                    "likeCount": 300,
                    "repostCount": 20,
                    "replyCount": 30,
                    "quoteCount": 0,
                    "indexedAt": stamp,
                }
            }
        )
    return {"feed": items}


def test_live_run_fetches_archives_and_ranks(
    airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with ReplayServer() as server:
        alice = mastodon_account("alice", "greens.social", 20_000, local_id="7")
        server.routes["/api/v1/accounts/lookup?acct=alice"] = [Reply(body=json.dumps(alice))]
        server.routes["/api/v1/accounts/7/statuses?limit=40"] = [
            Reply(
                body=json.dumps(
                    [
                        mastodon_status(
                            alice,
                            "greens.social",
                            str(100 + i),
                            DAY - timedelta(days=i),
                            "tofu bowl",
                            likes=400,
                            replies=40,
                            reblogs=20,
                        )
                        for i in range(9)  # the oldest is past the 7-day lookback: no second page
                    ]
                )
            )
        ]
        server.routes["/xrpc/app.bsky.actor.getProfiles"] = [
            Reply(
                body=json.dumps(
                    {
                        "profiles": [
                            {
                                "did": "did:plc:bo",
                                "handle": "bo.bsky.social",
                                "followersCount": 15_000,
                            }
                        ]
                    }
                )
            )
        ]
        server.routes["/xrpc/app.bsky.feed.getAuthorFeed"] = [
            Reply(body=json.dumps(_bluesky_feed()))
        ]

        config = tmp_path / "config"
        shutil.copytree(ROOT / "config", config)
        (config / "sources.yaml").write_text(
            yaml.safe_dump(
                {
                    "lookback_days": 7,
                    # the replayed server answers for DAY whenever the test runs
                    "backfill_horizon_days": 36500,
                    "mastodon": {
                        "accounts": ["alice@greens.social", "ghost@greens.social"],
                        "instance_urls": {"greens.social": server.url},
                    },
                    "bluesky": {"base_url": server.url, "actors": ["bo.bsky.social"]},
                }
            )
        )
        monkeypatch.setenv("RADAR_SOURCE", "live")
        monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))
        monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "data"))
        # the instance's token comes from an Airflow connection, as in production
        monkeypatch.setenv(
            "AIRFLOW_CONN_RADAR_MASTODON__GREENS_SOCIAL",
            json.dumps({"conn_type": "generic", "password": SECRET}),
        )
        runs = run_radar(DAY.replace(tzinfo=UTC))
        mastodon_auth = {
            s.headers.get("Authorization") for s in server.seen if s.path.startswith("/api/v1")
        }
        bluesky_auth = {
            s.headers.get("Authorization") for s in server.seen if s.path.startswith("/xrpc")
        }

    assert [str(r.state) for r in runs] == ["success", "success"]
    assert mastodon_auth == {f"Bearer {SECRET}"} and bluesky_auth == {None}
    # the token reached the server and nothing else: no archive, landing file or warehouse
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            data = gzip.decompress(raw) if path.suffix == ".gz" else raw
            assert SECRET.encode() not in data, path
    warehouse = RadarSettings().warehouse
    assert query(warehouse, "select platform, count(*) from core.posts group by 1 order by 1") == [
        ("bluesky", 6),
        ("mastodon", 9),
    ]
    # fetched after the interval ended, observed as of its last instant
    assert query(warehouse, "select distinct observed_at from core.account_snapshots") == [
        (datetime(2026, 11, 20, 23, 59, 59, 999999),)
    ]
    assert query(warehouse, "select reason from meta.rejects") == [("HTTP 404",)]
    rates = dict(
        query(
            warehouse, "select account_id, engagement_rate_30d_mean from marts.account_engagement"
        )
    )
    assert rates["alice@greens.social"] == pytest.approx(460 / 20_000)
    assert rates["did:plc:bo"] == pytest.approx(350 / 15_000)
    archives = sorted((tmp_path / "data" / "raw").rglob("*.jsonl.gz"))
    endpoints = sorted(p.parent.parent.name for p in archives)
    assert endpoints == ["account_statuses", "accounts_lookup", "get_author_feed", "get_profiles"]
    lookups = gzip.open(next(p for p in archives if "accounts_lookup" in str(p)), "rt")
    assert len(lookups.read().splitlines()) == 2  # alice and the 404 for ghost


def test_cursors_advance_after_the_load_and_shorten_the_next_walk(
    airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    statuses = "/api/v1/accounts/7/statuses"
    with ReplayServer() as server:
        alice = mastodon_account("alice", "greens.social", 20_000, local_id="7")
        server.routes["/api/v1/accounts/lookup?acct=alice"] = [Reply(body=json.dumps(alice))]

        def page(days: range) -> str:
            return json.dumps(
                [
                    mastodon_status(
                        alice,
                        "greens.social",
                        str(500 - d),
                        DAY - timedelta(days=d),
                        "tofu bowl",
                        likes=400,
                    )
                    for d in days
                ]
            )

        server.routes[f"{statuses}?limit=40"] = [
            Reply(
                body=page(range(0, 10)),  # 11-20 back to 11-11
                headers={"Link": f'<{server.url}{statuses}?max_id=491>; rel="next"'},
            )
        ]
        server.routes[f"{statuses}?max_id=491"] = [Reply(body=page(range(10, 25)))]
        config = tmp_path / "config"
        shutil.copytree(ROOT / "config", config)
        (config / "sources.yaml").write_text(
            yaml.safe_dump(
                {
                    "lookback_days": 7,
                    "initial_days": 30,
                    "backfill_horizon_days": 36500,
                    # the deletion recheck would read back 30 days again (its own tests:
                    # tests/ingest/test_live_deletions.py)
                    "recheck_days": 0,
                    "mastodon": {
                        "accounts": ["alice@greens.social"],
                        "instance_urls": {"greens.social": server.url},
                    },
                }
            )
        )
        monkeypatch.setenv("RADAR_SOURCE", "live")
        monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon"]')
        monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))
        monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "data"))
        dag = load_dag("social_ingest")

        first = dag.test(logical_date=DAY.replace(tzinfo=UTC))
        first_walk = [s.path for s in server.seen if s.path.startswith(statuses)]
        server.seen.clear()
        second = dag.test(logical_date=(DAY + timedelta(days=1)).replace(tzinfo=UTC))
        second_walk = [s.path for s in server.seen if s.path.startswith(statuses)]

    assert str(first.state) == str(second.state) == "success"
    # no cursor: 30 days back, so both pages; then the cursor (11-20) minus the 7-day
    # lookback ends the walk inside page one
    assert first_walk == [f"{statuses}?limit=40", f"{statuses}?max_id=491"]
    assert second_walk == [f"{statuses}?limit=40"]
    warehouse = RadarSettings().warehouse
    assert query(warehouse, "select key, newest_seen_at from meta.cursors") == [
        ("alice@greens.social", DAY)
    ]
    assert query(warehouse, "select count(*) from core.posts") == [(25,)]


def test_a_live_run_past_the_backfill_horizon_fails_at_once_saying_what_to_do(
    airflow_db,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
):
    """The APIs answer with today's counts only. A replay of a past day against them
    must not end green having fetched nothing: its plan fails on the first try (the
    default 30 s retry delay would show a retry), naming the cause and the way out, and no
    request reaches the platform. Yesterday's interval, the scheduled run's, still runs."""
    yesterday = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday -= timedelta(days=1)
    with ReplayServer() as server:
        alice = mastodon_account("alice", "greens.social", 20_000, local_id="7")
        server.routes["/api/v1/accounts/lookup?acct=alice"] = [Reply(body=json.dumps(alice))]
        server.routes["/api/v1/accounts/7/statuses?limit=40"] = [
            Reply(
                body=json.dumps(
                    [
                        mastodon_status(
                            alice,
                            "greens.social",
                            str(100 + i),
                            yesterday.replace(tzinfo=None) + timedelta(hours=12 - i),
                            "tofu bowl",
                        )
                        for i in range(3)
                    ]
                )
            )
        ]
        config = tmp_path / "config"
        shutil.copytree(ROOT / "config", config)
        (config / "sources.yaml").write_text(
            yaml.safe_dump(
                {
                    "backfill_horizon_days": 2,
                    "mastodon": {
                        "accounts": ["alice@greens.social"],
                        "instance_urls": {"greens.social": server.url},
                    },
                }
            )
        )
        monkeypatch.setenv("RADAR_SOURCE", "live")
        # bluesky lists no accounts: nothing to fetch, inside the horizon or not
        monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon", "bluesky"]')
        monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))
        monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.delenv("RADAR_RETRY_DELAY_SECONDS", raising=False)
        capfd.readouterr()
        caplog.clear()
        began = time.monotonic()
        past = load_dag("social_ingest").test(logical_date=DAY.replace(tzinfo=UTC))
        seconds = time.monotonic() - began
        # a task's stdout goes to stdout or, once Airflow set up its logging, to the log
        out = capfd.readouterr().out + caplog.text
        asked_past = list(server.seen)
        within = load_dag("social_ingest").test(logical_date=yesterday)

    states = {ti.task_id: (str(ti.state), ti.try_number) for ti in past.get_task_instances()}
    assert str(past.state) == "failed"
    assert states["plan_mastodon"] == ("failed", 1)
    assert states["plan_bluesky"][0] == "success"
    assert states["check_run"][0] == "failed"
    assert seconds < 60
    assert asked_past == []
    assert (
        "RADAR FAILED plan_mastodon (not retried): live source: the interval "
        "2026-11-20 00:00 → 2026-11-21 00:00 UTC ended more than backfill_horizon_days=2 "
        "day(s) ago" in out
    )
    assert "RADAR_SOURCE=fixture, RADAR_FEED_DIR=<RADAR_DATA_DIR>/raw" in out
    assert "raise backfill_horizon_days in config/sources.yaml" in out
    assert "RADAR FAILED plan_mastodon failed" in out
    assert "nothing planned: bluesky: config/sources.yaml lists no accounts" in out

    assert str(within.state) == "success"
    assert query(RadarSettings().warehouse, "select count(*) from core.posts") == [(3,)]
