"""Live discovery against a real server on 127.0.0.1: tag timelines and account searches
are read under their caps, archived, and landed as sightings."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from ingest.connector import DiscoveryBatch, TaskContext
from ingest.live_source import DiscoverySources, Sources, extract_live
from ingest.mastodon.settings import MastodonDiscovery, MastodonSources
from ingest.pages import read_pages
from tests.helpers.feed_builder import mastodon_account, mastodon_status
from tests.helpers.replay_server import ReplayServer, Reply

START = datetime(2026, 11, 20)


def test_tags_and_keywords_are_read_archived_and_landed(tmp_path: Path):
    with ReplayServer() as server:
        bob = mastodon_account("bob", "greens.social", 15_000, local_id="2")
        gus = mastodon_account("gus", "greens.social", 12_000, local_id="7")
        timeline = [mastodon_status(bob, "greens.social", "5", START, "#vegan", tags=["vegan"])]
        tag = "/api/v1/timelines/tag/vegan"
        server.routes[f"{tag}?limit=40"] = [
            Reply(
                body=json.dumps(timeline),
                headers={"Link": f'<{server.url}{tag}?max_id=4>; rel="next"'},
            )
        ]
        server.routes["/api/v2/search?q=sauerteig&type=accounts&limit=40"] = [
            Reply(body=json.dumps({"accounts": [gus], "statuses": [], "hashtags": []}))
        ]
        sources = Sources(
            mastodon=MastodonSources(instance_urls={"greens.social": server.url}),
            discovery=DiscoverySources(
                mastodon=MastodonDiscovery(instances=["greens.social"]), max_pages_per_tag=1
            ),
        )
        batch = DiscoveryBatch(
            platform="mastodon",
            instance="greens.social",
            tags=["vegan"],
            keywords=["sauerteig"],
        )
        summary = extract_live(
            sources,
            batch,
            tmp_path,
            TaskContext(
                interval_start=START,
                interval_end=START + timedelta(days=1),
                run_id="run",
                task="discover-0",
            ),
        )
        asked = [s.path for s in server.seen]

    # one page per tag (the cap), one per keyword; the next link is never followed
    assert asked == [f"{tag}?limit=40", "/api/v2/search?q=sauerteig&type=accounts&limit=40"]
    assert summary.pages == 2 and summary.rows["account_discoveries"] == 2
    landed = sorted((tmp_path / "landing").rglob("*.parquet"))
    rows = duckdb.sql(
        f"select account_id, term, followers from read_parquet({[str(p) for p in landed]})"
        " order by 1"
    ).fetchall()
    assert rows == [
        ("bob@greens.social", "#vegan", 15_000),
        ("gus@greens.social", "sauerteig", 12_000),
    ]
    archived = sorted(p.parent.parent.name for p in (tmp_path / "raw").rglob("*.jsonl.gz"))
    assert archived == ["account_search", "tag_timeline"]
    for path in (tmp_path / "raw").rglob("*.jsonl.gz"):
        assert len(list(read_pages(path))) == 1
