"""niche_discovery, run for real on recorded hashtag timelines and account searches:
sightings land, the best new accounts per niche are queued under the cap, and live ingest
then tracks them."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from ingest.extract import plan_fixture_batches
from ingest.live_source import load_sources, plan_live_batches
from radar.settings import RadarSettings
from tests.helpers.feed_builder import mastodon_account, mastodon_status, page_line, write_pages
from tests.helpers.warehouse_helpers import load_dag, query

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime(2026, 11, 20)
FETCHED = DAY + timedelta(hours=6)
INSTANCE = "greens.social"


def build_feed(feed: Path) -> None:
    alice = mastodon_account("alice", INSTANCE, 20_000, local_id="1")
    write_pages(
        feed,
        "mastodon",
        "accounts_lookup",
        "2026-11-20",
        "lookups",
        [page_line(f"https://{INSTANCE}/api/v1/accounts/lookup?acct=alice", FETCHED, alice)],
    )
    write_pages(
        feed,
        "mastodon",
        "account_statuses",
        "2026-11-20",
        "alice",
        [
            page_line(
                f"https://{INSTANCE}/api/v1/accounts/1/statuses",
                FETCHED,
                [mastodon_status(alice, INSTANCE, "10", DAY, "tofu bowl #vegan", tags=["vegan"])],
            )
        ],
    )
    people = {
        "alice": mastodon_account("alice", INSTANCE, 20_000, local_id="1"),  # tracked
        "bob": mastodon_account("bob", INSTANCE, 15_000, local_id="2"),
        "carol": mastodon_account(
            "carol",
            "bakers.social",
            52_000,
            local_id="3",
            acct="carol@bakers.social",
            url="https://bakers.social/@carol",
        ),
        "dan": mastodon_account("dan", INSTANCE, 600, local_id="4"),  # nano
        "eve": mastodon_account("eve", INSTANCE, -1, local_id="5"),  # hidden count
        "fay": mastodon_account("fay", INSTANCE, 31_000, local_id="6"),
    }

    def timeline(tag: str, users: list[str], n: int) -> str:
        statuses = [
            mastodon_status(people[u], INSTANCE, f"{n}{i}", DAY, f"#{tag}", tags=[tag])
            for i, u in enumerate(users)
        ]
        return page_line(f"https://{INSTANCE}/api/v1/timelines/tag/{tag}", FETCHED, statuses)

    write_pages(
        feed,
        "mastodon",
        "tag_timeline",
        "2026-11-20",
        "plants",
        [
            timeline("vegan", ["alice", "bob", "dan", "eve"], 20),
            timeline("plantbased", ["bob", "carol"], 30),
        ],
    )
    write_pages(
        feed,
        "mastodon",
        "tag_timeline",
        "2026-11-20",
        "bread",
        [
            timeline("sourdough", ["carol", "dan", "fay"], 40),
        ],
    )
    # a keyword search names accounts by their bio: gus bakes, and no tag of his was read
    gus = mastodon_account("gus", INSTANCE, 12_000, local_id="7")
    search = f"https://{INSTANCE}/api/v2/search?q=Sauerteig&type=accounts&limit=40"
    body = {"accounts": [gus], "statuses": [], "hashtags": []}
    write_pages(
        feed,
        "mastodon",
        "account_search",
        "2026-11-20",
        "search",
        [page_line(search, FETCHED, body)],
    )


def test_discovery_queues_the_best_new_accounts_per_niche_under_the_cap(
    airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    feed, config = tmp_path / "feed", tmp_path / "config"
    build_feed(feed)
    shutil.copytree(ROOT / "config", config)
    sources = yaml.safe_load((config / "sources.yaml").read_text())
    sources["discovery"]["max_new_accounts_per_niche"] = 2
    (config / "sources.yaml").write_text(yaml.safe_dump(sources))
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))
    monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon"]')
    day = DAY.replace(tzinfo=UTC)

    # ingest never plans the hashtag timelines; discovery plans nothing else
    start, stop = DAY, DAY + timedelta(days=1)
    ingest_files = [
        f for b in plan_fixture_batches(feed, ["mastodon"], start, stop, 20) for f in b.files
    ]
    assert ingest_files and not any("tag_timeline" in f for f in ingest_files)
    found = plan_fixture_batches(feed, ["mastodon"], start, stop, 20, discovery=True)
    assert {f.split("/")[1] for b in found for f in b.files} == {
        "tag_timeline",
        "account_search",
    }

    assert str(load_dag("social_ingest").test(logical_date=day).state) == "success"
    first = load_dag("niche_discovery").test(logical_date=day)
    assert str(first.state) == "success"

    warehouse = RadarSettings().warehouse
    sightings = query(
        warehouse, "select account_id, term, followers from core.account_discoveries order by 1, 2"
    )
    assert ("bob@greens.social", "#plantbased", 15_000) in sightings
    assert ("eve@greens.social", "#vegan", None) in sightings  # hidden, never 0
    assert ("gus@greens.social", "sauerteig", 12_000) in sightings  # a keyword, lowercased
    queue = query(warehouse, "select niche, account_id from meta.tracking_queue order by 1, 2")
    # plant-based: bob (in band, seen twice) and carol (in band) fill the cap of 2; dan and
    # eve lose to it, alice is tracked already. carol and dan, seen once under each niche's
    # tags, count for one niche only (ties go alphabetically); sourdough gets fay and gus.
    assert queue == [
        ("plant_based_cooking", "bob@greens.social"),
        ("plant_based_cooking", "carol@bakers.social"),
        ("sourdough_baking", "fay@greens.social"),
        ("sourdough_baking", "gus@greens.social"),
    ]

    # a rerun of the interval queues nothing twice
    assert str(load_dag("niche_discovery").test(logical_date=day).state) == "success"
    assert query(warehouse, "select count(*) from meta.tracking_queue") == [(4,)]

    # live ingest tracks the queue beside the configured accounts
    live = load_sources(config).model_copy(update={"backfill_horizon_days": 36500})
    from ingest.discovery import read_queue

    batches = plan_live_batches(
        live, ["mastodon"], {}, DAY, DAY + timedelta(days=1), queued=read_queue(warehouse)
    )
    assert [a for b in batches for a in b.accounts] == [
        "bob@greens.social",
        "carol@bakers.social",
        "fay@greens.social",
        "gus@greens.social",
    ]


def test_a_failed_discover_batch_fails_the_run_after_the_rest_is_queued(
    airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    feed = tmp_path / "feed"
    build_feed(feed)
    # a recording that cannot be read at all (a folder where a file should be): a bad line
    # would only be a reject, but this fails the batch that holds it
    broken = feed / "bluesky" / "search_actors" / "dt=2026-11-20" / "broken.jsonl"
    broken.mkdir(parents=True)
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon", "bluesky"]')
    monkeypatch.setenv("RADAR_RETRY_DELAY_SECONDS", "0")
    run = load_dag("niche_discovery").test(logical_date=DAY.replace(tzinfo=UTC))
    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "failed"
    assert states[("discover_bluesky", 0)] == "failed"
    assert states[("discover_mastodon", 0)] == "success"
    assert states[("queue_accounts", -1)] == "success"  # the other platform still queued
    assert states[("check_run", -1)] == "failed"
    assert query(RadarSettings().warehouse, "select count(*) from meta.tracking_queue")[0][0] > 0


def test_discovery_before_the_first_ingest_leaves_the_configured_accounts_alone(
    airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Issue #21, 5: run before any ingest, discovery queued the accounts sources.yaml
    lists (core.accounts was still empty), spent the niche's room on them and relabelled
    them discovery:… once loaded. alice is listed (as an operator may type her), not
    loaded: she is tracked all the same."""
    feed, config = tmp_path / "feed", tmp_path / "config"
    build_feed(feed)
    shutil.copytree(ROOT / "config", config)
    sources = yaml.safe_load((config / "sources.yaml").read_text())
    sources["mastodon"]["accounts"] = ["@Alice@Greens.Social"]
    sources["discovery"]["max_new_accounts_per_niche"] = 3
    (config / "sources.yaml").write_text(yaml.safe_dump(sources))
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))
    monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon"]')
    day = DAY.replace(tzinfo=UTC)

    assert str(load_dag("niche_discovery").test(logical_date=day).state) == "success"
    warehouse = RadarSettings().warehouse
    assert query(warehouse, "select count(*) from core.accounts") == [(0,)]
    queue = query(warehouse, "select niche, account_id from meta.tracking_queue order by 1, 2")
    # plant-based's room of 3 goes to bob, carol and dan (nano, but new), not to alice
    assert queue == [
        ("plant_based_cooking", "bob@greens.social"),
        ("plant_based_cooking", "carol@bakers.social"),
        ("plant_based_cooking", "dan@greens.social"),
        ("sourdough_baking", "fay@greens.social"),
        ("sourdough_baking", "gus@greens.social"),
    ]

    # her first ingest loads her as what she is: tracked
    assert str(load_dag("social_ingest").test(logical_date=day).state) == "success"
    assert query(warehouse, "select account_id, discovered_via from core.accounts order by 1") == [
        ("alice@greens.social", "tracked")
    ]
