"""A sixth platform is one folder: a throwaway package, written here into a temporary
directory and registered through the connector contract alone (a ``radar.connectors``
entry point in its own distribution), runs plan → extract → load → signals for real.

Nothing of the project is edited: not ``Platform``, not the settings, not the DAG files,
not the pools file, not ``config/sources.yaml`` of the repository (the test's own copy
gets the platform's block, as a user's would).
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from radar.settings import RadarSettings
from tests.helpers.paths import ROOT
from tests.helpers.replay_server import ReplayServer, Reply
from tests.helpers.warehouse_helpers import query, run_radar

DAY = datetime(2026, 11, 20)

# the package a contributor would write: the same file roles as ingest/<platform>/
PACKAGE = {
    "settings.py": """
        from ingest.connector import PlatformSettings

        class AcmeSources(PlatformSettings):
            base_url: str = "https://api.acme.example"
            accounts: list[str] = []

            def tracked(self) -> list[str]:
                return self.accounts
    """,
    "client.py": """
        from ingest.http import PlatformClient, RateLimiter

        def _no_limit(headers):
            return None, None

        class AcmeClient(PlatformClient):
            def __init__(self, base_url, **options):
                super().__init__("acme", base_url, RateLimiter(_no_limit), **options)

            def feed(self, account, since):
                return self.get(f"/v1/users/{account}/feed", params={"since": since.isoformat()})
    """,
    "mapping.py": """
        from datetime import datetime

        from radar.canonical import Account, AccountSnapshot, FollowerPrecision, Post, PostKind
        from radar.canonical import PostMetricSnapshot

        def map_feed(page, batch):
            body = page.json()
            user, seen = body["user"], page.fetched_at
            batch.accounts.append(Account(
                platform="acme", account_id=user["id"], handle=user["handle"],
                display_name=user["name"], discovered_via="tracked", observed_at=seen))
            batch.account_snapshots.append(AccountSnapshot(
                platform="acme", account_id=user["id"], observed_at=seen,
                followers=user["followers"], follower_precision=FollowerPrecision.exact))
            for post in body["posts"]:
                batch.posts.append(Post(
                    platform="acme", post_id=post["id"], account_id=user["id"],
                    created_at=datetime.fromisoformat(post["at"]), text=post["text"],
                    hashtags=post["tags"], kind=PostKind.original, observed_at=seen))
                batch.post_metric_snapshots.append(PostMetricSnapshot(
                    platform="acme", post_id=post["id"], observed_at=seen,
                    likes=post["likes"], comments=post["comments"], shares=post["shares"]))

        MAPPERS = {"feed": map_feed}
    """,
    "source.py": """
        from ingest.walk import as_pages, walk

        from acme_radar.client import AcmeClient

        def fetch(settings, batch, ctx):
            with AcmeClient(settings.base_url, observe_before=ctx.until,
                            **ctx.client_options) as client:
                client.archive = ctx.archives("feed")
                for account in batch.accounts:
                    yield from walk("feed", as_pages(client.feed), account, batch.since[account])
    """,
    "__init__.py": """
        from ingest.connector import Connector

        from acme_radar import source
        from acme_radar.mapping import MAPPERS
        from acme_radar.settings import AcmeSources

        connector = Connector(
            name="acme", label="Acme", settings=AcmeSources, mappers=MAPPERS, fetch=source.fetch
        )
    """,
}


def _install(plugin_dir: Path) -> None:
    """The package and its distribution's metadata, as pip would leave them."""
    package = plugin_dir / "acme_radar"
    package.mkdir(parents=True)
    for name, code in PACKAGE.items():
        (package / name).write_text(textwrap.dedent(code).lstrip())
    dist = plugin_dir / "acme_radar-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-radar\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[radar.connectors]\nacme = acme_radar:connector\n")


def _serve(server: ReplayServer) -> None:
    """Two houseplant accounts in the micro tier, eight days of posts each."""
    for handle, followers, likes in (("fern_fan", 24_000, 900), ("pothos_pat", 61_000, 1_400)):
        posts = [
            {
                "id": f"{handle}-{d}",
                "at": (DAY - timedelta(days=d, hours=-12)).isoformat(),
                "text": f"Repotting the monstera today #houseplants #urbanjungle ({d})",
                "tags": ["houseplants", "urbanjungle"],
                "likes": likes + 10 * d,
                "comments": 40,
                "shares": 12,
            }
            for d in range(8)
        ]
        user = {"id": f"u-{handle}", "handle": handle, "name": handle, "followers": followers}
        server.routes[f"/v1/users/{handle}/feed"] = [
            Reply(body=json.dumps({"user": user, "posts": posts}))
        ]


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from ingest.registry import connectors

    _install(tmp_path / "plugins")
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))  # as an installed distribution
    yield connectors()["acme"]
    for name in [m for m in sys.modules if m == "acme_radar" or m.startswith("acme_radar.")]:
        del sys.modules[name]


def test_a_sixth_platform_package_registers_and_runs_end_to_end(
    airflow_db, acme, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from ingest.live_source import sources_model
    from ops.airflow_settings import read_settings
    from radar.platforms import platform_names

    # everything that lists platforms picks it up from the registry
    assert "acme" in platform_names()
    assert "acme" in sources_model().model_fields
    assert acme.pool == "radar_acme"
    assert {p.pool_name: p.pool_slot for p in read_settings().pools}["radar_acme"] == 2

    with ReplayServer() as server:
        _serve(server)
        config = tmp_path / "config"
        shutil.copytree(ROOT / "config", config)
        sources = yaml.safe_load((config / "sources.yaml").read_text())
        sources["backfill_horizon_days"] = 36500  # the replay answers for DAY whenever run
        sources["acme"] = {"base_url": server.url, "accounts": ["fern_fan", "pothos_pat"]}
        (config / "sources.yaml").write_text(yaml.safe_dump(sources))
        monkeypatch.setenv("RADAR_SOURCE", "live")
        monkeypatch.delenv("RADAR_PLATFORMS", raising=False)  # every registered platform
        monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))
        monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "data"))
        ingest, signals = run_radar(DAY.replace(tzinfo=UTC))
        asked = sorted({s.path.split("?")[0] for s in server.seen})

    assert [str(ingest.state), str(signals.state)] == ["success", "success"]
    tasks = {ti.task_id for ti in ingest.get_task_instances()}
    assert {"plan_acme", "extract_acme"} <= tasks
    assert asked == ["/v1/users/fern_fan/feed", "/v1/users/pothos_pat/feed"]
    warehouse = RadarSettings().warehouse
    assert query(
        warehouse,
        "select platform, count(*) from core.posts group by 1 order by 1",
    ) == [("acme", 16)]
    # the signals computed on it like on any other platform
    niches = query(
        warehouse,
        "select account_id, niche from marts.account_niches where platform = 'acme' "
        "and niche = 'houseplants' order by 1",
    )
    assert [a for a, _ in niches] == ["u-fern_fan", "u-pothos_pat"]
    engaged = query(
        warehouse,
        "select account_id, tier, own_posts_7d, engagement_rate_7d_mean > 0 "
        "from marts.account_engagement where platform = 'acme' order by 1",
    )
    assert engaged == [("u-fern_fan", "micro", 7, True), ("u-pothos_pat", "micro", 7, True)]
    ranked = query(
        warehouse,
        "select account_id, scope_rank from marts.candidates where platform = 'acme' "
        "and scope_type = 'niche' and scope = 'houseplants' order by 1",
    )
    assert ranked == [("u-fern_fan", 1), ("u-pothos_pat", 2)]
    raw = list((tmp_path / "data" / "raw" / "acme" / "feed").rglob("*.jsonl.gz"))
    assert raw, "every page archived, as for the built-in platforms"
