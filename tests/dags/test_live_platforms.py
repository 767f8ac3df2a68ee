"""social_ingest and signals, run for real with RADAR_SOURCE=live against YouTube, Instagram
Graph and TikTok Research APIs replayed on 127.0.0.1, credentials from Airflow connections.

The whole path: plan → extract per platform (archive, map, land) → load → marts; no secret
reaches a file; a spent YouTube quota stops that platform's batch without failing the run.
"""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from radar.settings import RadarSettings
from tests.helpers.replay_server import ReplayServer, Reply
from tests.helpers.warehouse_helpers import query, run_radar

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime(2026, 11, 20)
YT_KEY = "AIzaSy-e2e-k3y"
IG_TOKEN = "EAAG-e2e-t0ken"
TT_SECRET = "tt-e2e-s3cret"
SECRETS = [YT_KEY, IG_TOKEN, TT_SECRET, "clt.e2e-session"]
ME = "17841405309211844"
CHANNEL = "UCkitchen" + "K" * 15
OK = {"code": "ok", "message": "", "log_id": "L1"}


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _youtube(server: ReplayServer) -> None:
    uploads = [(f"vid{i:08d}abc", DAY - timedelta(days=i, hours=-9)) for i in range(6)]
    channel = {
        "id": CHANNEL,
        "snippet": {"title": "Tofu Kitchen", "customUrl": "@tofukitchen"},
        "contentDetails": {"relatedPlaylists": {"uploads": "UU" + CHANNEL[2:]}},
        # rounded to 3 significant figures by YouTube
        "statistics": {"subscriberCount": "48200", "hiddenSubscriberCount": False},
    }
    videos = [
        {
            "id": vid,
            "snippet": {
                "publishedAt": _stamp(at),
                "channelId": CHANNEL,
                "title": "Crispy tofu #vegan",
                "description": "Plant-based dinner",
            },
            # counts as strings; no share count on YouTube
            "statistics": {"viewCount": "30000", "likeCount": "1500", "commentCount": "90"},
        }
        for vid, at in uploads
    ]
    server.routes["/youtube/v3/channels"] = [Reply(body=json.dumps({"items": [channel]}))]
    server.routes["/youtube/v3/playlistItems"] = [
        Reply(
            body=json.dumps(
                {
                    "items": [
                        {"contentDetails": {"videoId": vid, "videoPublishedAt": _stamp(at)}}
                        for vid, at in uploads
                    ]
                }
            )
        )
    ]
    server.routes["/youtube/v3/videos"] = [Reply(body=json.dumps({"items": videos}))]


def _instagram(server: ReplayServer) -> None:
    media = [
        {
            "id": f"1790{i}",
            "caption": "Sauerteig am Sonntag 🍞 #sourdough",
            "comments_count": 40,
            "like_count": 900,
            "media_type": "IMAGE",
            "media_product_type": "FEED",
            "permalink": f"https://www.instagram.com/p/crumb{i}/",
            # no colon in the offset
            "timestamp": (DAY - timedelta(days=i, hours=-8)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        }
        for i in range(6)
    ]
    profile = {
        "id": "17841401441775531",
        "username": "crumbqueen",
        "followers_count": 31_000,
        "follows_count": 300,
        "media_count": 200,
        "media": {"data": media},
    }
    server.routes[f"/v25.0/{ME}"] = [
        Reply(body=json.dumps({"business_discovery": profile, "id": ME}))
    ]


def _tiktok(server: ReplayServer) -> None:
    server.routes["/v2/oauth/token/"] = [
        Reply(body=json.dumps({"access_token": "clt.e2e-session", "expires_in": 7200}))
    ]
    user = {"display_name": "Trail Tom", "follower_count": 22_000, "following_count": 80}
    server.routes["/v2/research/user/info/"] = [Reply(body=json.dumps({"data": user, "error": OK}))]
    videos = [
        {
            "id": 7320768196569599275 - i,  # above 2^53
            "username": "trail_tom",
            "create_time": int((DAY - timedelta(days=i, hours=-7)).replace(tzinfo=UTC).timestamp()),
            "video_description": "ultra trail run #trailrunning",
            "hashtag_names": ["trailrunning"],
            "view_count": 20_000,
            "like_count": 700,
            "comment_count": 50,
            "share_count": 30,
        }
        for i in range(6)
    ]
    data = {"videos": videos, "cursor": 6, "search_id": "7354367454467855403", "has_more": False}
    server.routes["/v2/research/video/query/"] = [
        Reply(body=json.dumps({"data": data, "error": OK}))
    ]


def _configure(tmp_path: Path, server: ReplayServer, monkeypatch, youtube_units: int) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    (config / "sources.yaml").write_text(
        yaml.safe_dump(
            {
                "backfill_horizon_days": 36500,  # the replay answers for DAY whenever run
                "youtube": {
                    "base_url": f"{server.url}/youtube/v3",
                    "channels": [CHANNEL],
                    "units_per_day": youtube_units,
                },
                "instagram": {"base_url": f"{server.url}/v25.0", "accounts": ["crumbqueen"]},
                "tiktok": {"base_url": server.url, "accounts": ["trail_tom"]},
            }
        )
    )
    monkeypatch.setenv("RADAR_SOURCE", "live")
    monkeypatch.setenv("RADAR_PLATFORMS", '["youtube", "instagram", "tiktok"]')
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))
    monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_RADAR_YOUTUBE", json.dumps({"conn_type": "generic", "password": YT_KEY})
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_RADAR_INSTAGRAM",
        json.dumps({"conn_type": "generic", "login": ME, "password": IG_TOKEN}),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_RADAR_TIKTOK",
        json.dumps({"conn_type": "generic", "login": "tt-client-key", "password": TT_SECRET}),
    )


def _assert_no_secret_in(data_dir: Path) -> None:
    for path in data_dir.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            data = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
            for secret in SECRETS:
                assert secret.encode() not in data, (secret, path)


def test_youtube_instagram_and_tiktok_live_runs_rank_their_accounts(
    airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with ReplayServer() as server:
        _youtube(server)
        _instagram(server)
        _tiktok(server)
        _configure(tmp_path, server, monkeypatch, youtube_units=10_000)
        runs = run_radar(DAY.replace(tzinfo=UTC))
        seen = list(server.seen)

    assert [str(r.state) for r in runs] == ["success", "success"]
    assert any(f"key={YT_KEY}" in s.path for s in seen)  # the key reached the API...
    _assert_no_secret_in(tmp_path / "data")  # ...and no file
    warehouse = RadarSettings().warehouse
    assert query(warehouse, "select platform, count(*) from core.posts group by 1 order by 1") == [
        ("instagram", 6),
        ("tiktok", 6),
        ("youtube", 6),
    ]
    snapshots = query(
        warehouse,
        "select platform, followers, follower_precision from core.account_snapshots order by 1",
    )
    assert snapshots == [
        ("instagram", 31_000, "exact"),
        ("tiktok", 22_000, "exact"),
        ("youtube", 48_200, "rounded"),
    ]
    # the big TikTok id survives exactly
    assert query(warehouse, "select max(post_id) from core.posts where platform = 'tiktok'") == [
        ("7320768196569599275",)
    ]
    rates = dict(
        query(warehouse, "select platform, engagement_rate_30d_mean from marts.account_engagement")
    )
    assert rates["youtube"] == pytest.approx((1500 + 90) / 48_200)  # no shares on YouTube
    assert rates["instagram"] == pytest.approx((900 + 40) / 31_000)  # none for others' media
    assert rates["tiktok"] == pytest.approx((700 + 50 + 30) / 22_000)
    niches = set(query(warehouse, "select platform, niche from marts.account_niches"))
    assert {
        ("youtube", "plant_based_cooking"),
        ("instagram", "sourdough_baking"),
        ("tiktok", "trail_running"),
    } <= niches


def test_a_spent_youtube_quota_keeps_what_was_fetched_and_the_run_goes_on(
    airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with ReplayServer() as server:
        _youtube(server)
        _instagram(server)
        _tiktok(server)
        # channels.list and the uploads page fit in the budget; videos.list does not
        _configure(tmp_path, server, monkeypatch, youtube_units=2)
        runs = run_radar(DAY.replace(tzinfo=UTC))
        youtube_calls = [s.path.split("?")[0] for s in server.seen if "/youtube/" in s.path]

    assert [str(r.state) for r in runs] == ["success", "success"]
    assert youtube_calls == ["/youtube/v3/channels", "/youtube/v3/playlistItems"]
    warehouse = RadarSettings().warehouse
    # the channel's profile landed; its videos wait for tomorrow's budget
    assert query(
        warehouse, "select platform, count(*) from core.account_snapshots group by 1 order by 1"
    ) == [("instagram", 1), ("tiktok", 1), ("youtube", 1)]
    assert query(warehouse, "select count(*) from core.posts where platform = 'youtube'") == [(0,)]
    ledger = json.loads((tmp_path / "data" / "state" / "quota-youtube.json").read_text())
    assert ledger["used"] == 2


def test_a_refused_api_key_fails_its_extract_at_once_and_the_other_platforms_load(
    airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Every request would be refused the same way: the task is not retried (issue #21)."""
    monkeypatch.setenv("RADAR_RETRY_DELAY_SECONDS", "0")
    refused = {"error": {"code": 400, "errors": [{"reason": "keyInvalid"}], "message": "bad"}}
    with ReplayServer() as server:
        _youtube(server)
        _instagram(server)
        _tiktok(server)
        server.routes["/youtube/v3/channels"] = [Reply(400, json.dumps(refused))]
        _configure(tmp_path, server, monkeypatch, youtube_units=10_000)
        ingest, _ = run_radar(DAY.replace(tzinfo=UTC))
        youtube_calls = [s.path for s in server.seen if "/youtube/" in s.path]

    tries = {
        ti.task_id: (str(ti.state), ti.try_number)
        for ti in ingest.get_task_instances()
        if ti.task_id.startswith("extract_")
    }
    assert tries["extract_youtube"] == ("failed", 1)  # one try: no retry can fix a key
    assert len(youtube_calls) == 1
    assert tries["extract_tiktok"][0] == tries["extract_instagram"][0] == "success"
    assert str(ingest.state) == "failed"
    warehouse = RadarSettings().warehouse
    assert query(
        warehouse, "select platform, count(*) from core.account_snapshots group by 1 order by 1"
    ) == [("instagram", 1), ("tiktok", 1)]


def test_a_walk_cut_by_the_quota_lands_no_posts_so_its_cursor_cannot_skip_a_gap(
    tmp_path: Path,
):
    from ingest.connector import LiveBatch, TaskContext
    from ingest.live_source import Sources, extract_live

    uploads = [(f"v{i:010d}", DAY - timedelta(hours=i)) for i in range(51)]
    channel = {
        "id": CHANNEL,
        "snippet": {"customUrl": "@tofukitchen"},
        "contentDetails": {"relatedPlaylists": {"uploads": "UU" + CHANNEL[2:]}},
        "statistics": {"subscriberCount": "48200"},
    }

    def videos(ids: list[str]) -> str:
        items = [
            {
                "id": vid,
                "snippet": {"publishedAt": _stamp(DAY), "channelId": CHANNEL, "title": "t"},
                "statistics": {"viewCount": "10", "likeCount": "1", "commentCount": "1"},
            }
            for vid in ids
        ]
        return json.dumps({"items": items})

    with ReplayServer() as server:
        server.routes["/youtube/v3/channels"] = [Reply(body=json.dumps({"items": [channel]}))]
        server.routes["/youtube/v3/playlistItems"] = [
            Reply(
                body=json.dumps(
                    {
                        "items": [
                            {"contentDetails": {"videoId": v, "videoPublishedAt": _stamp(at)}}
                            for v, at in uploads
                        ]
                    }
                )
            )
        ]

        def serve_videos() -> None:  # 51 videos: two videos.list requests of 50 and 1
            server.routes["/youtube/v3/videos"] = [
                Reply(body=videos([v for v, _ in uploads[:50]])),
                Reply(body=videos([uploads[50][0]])),
            ]

        def run(units: int, task: str):  # a fresh ledger each: a new day
            sources = Sources.model_validate(
                {
                    "youtube": {
                        "base_url": f"{server.url}/youtube/v3",
                        "channels": [CHANNEL],
                        "units_per_day": units,
                    }
                }
            )
            batch = LiveBatch(
                platform="youtube", accounts=[CHANNEL], since={CHANNEL: DAY - timedelta(days=7)}
            )
            context = TaskContext(DAY, DAY + timedelta(days=1), "run", task, 1, {"api_key": YT_KEY})
            return extract_live(sources, batch, tmp_path / task, context)

        # 3 units: channels, the playlist page and the first 50 videos; the last is refused
        serve_videos()
        cut = run(3, "cut")
        serve_videos()
        whole = run(10, "whole")

    assert cut.stopped and "50 posts of the cut batch left for the next run" in cut.stopped
    assert cut.rows["posts"] == 0 and cut.rows["account_snapshots"] == 1
    assert whole.stopped is None and whole.rows["posts"] == 51
