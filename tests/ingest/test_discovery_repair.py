"""A warehouse that discovery left in the state issue #21 (finding 5) found is repaired by
the next run: before discovery could tell the accounts ``config/sources.yaml`` lists, it
queued them (a Mastodon account before its first ingest, a Bluesky account by its DID
while its handle was listed), ingest labelled them ``discovery:…``, and walked the Bluesky
one a second time by its DID. After the next load each carries ``tracked`` again, the
queue holds only accounts discovery found, and each account is walked once.

The bad state is seeded as those runs left it; then a real social_ingest step (extract of
recorded pages, load) runs on the DuckDB file and on a DuckLake, and the live planner is
asked what it would walk next."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from ingest import runs
from ingest.connector import LiveBatch, TaskContext
from ingest.discovery import mark_discovered_accounts, read_queue, repair_listed_accounts
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from tests.helpers.feed_builder import mastodon_account, page_line, write_pages
from tests.helpers.warehouse_helpers import query

ROOT = Path(__file__).resolve().parents[2]
# yesterday: recent enough for live ingest to plan it (the backfill horizon)
DAY = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0) - (
    timedelta(days=1)
)
END = DAY + timedelta(days=1)
EARLIER = DAY - timedelta(days=5)  # when the old runs queued and loaded them
FETCHED = DAY + timedelta(hours=6)
INSTANCE = "greens.social"
# as an operator may type them: a leading @, any case
LISTED = {"mastodon": ["@Alice@Greens.Social"], "bluesky": ["Ana.bsky.social"]}

# what the old runs left: (platform, account id, queued handle, loaded handle, label)
OLD_STATE = [
    # listed, queued before its first ingest, relabelled
    ("mastodon", "alice@greens.social", "alice@greens.social", "alice@greens.social",
     "discovery:plant_based_cooking:#vegan"),
    # listed by handle, queued by DID (its handle then unverified), relabelled
    ("bluesky", "did:plc:ana", "handle.invalid", "ana.bsky.social",
     "discovery:plant_based_cooking:vegan"),
    # found by discovery and not listed: stays as it is
    ("mastodon", "carol@greens.social", "carol@greens.social", "carol@greens.social",
     "discovery:plant_based_cooking:#plantbased"),
    # queued, not loaded yet
    ("bluesky", "did:plc:ben", "ben.bsky.social", None, None),
]  # fmt: skip


def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project's config with LISTED tracked; a feed with alice's profile as ingest
    reads it today. Returns the config dir."""
    config, feed = tmp_path / "config", tmp_path / "feed"
    shutil.copytree(ROOT / "config", config)
    sources = yaml.safe_load((config / "sources.yaml").read_text())
    sources["mastodon"]["accounts"] = LISTED["mastodon"]
    sources["bluesky"]["actors"] = LISTED["bluesky"]
    (config / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True))
    url = f"https://{INSTANCE}/api/v1/accounts/lookup?acct=alice"
    alice = mastodon_account("alice", INSTANCE, 40_000)
    write_pages(
        feed, "mastodon", "accounts_lookup", DAY.date().isoformat(), "lookups",
        [page_line(url, FETCHED, alice)],
    )  # fmt: skip
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_SOURCE", "fixture")
    monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon"]')
    return config


def seed_old_state() -> None:
    with connect(RadarSettings().warehouse) as conn:
        apply_schema(conn, RadarSettings().sql_dir)
        for platform, account_id, queued, loaded, label in OLD_STATE:
            conn.execute(
                "insert into meta.tracking_queue values (?, ?, ?, 'plant_based_cooking', "
                "'vegan', 40000, ?, ?)",
                [platform, account_id, queued, EARLIER, EARLIER],
            )
            if loaded:
                conn.execute(
                    "insert into core.accounts (platform, account_id, handle, status, "
                    "discovered_via, observed_at, first_seen_at) "
                    "values (?, ?, ?, 'active', ?, ?, ?)",
                    [platform, account_id, loaded, label, EARLIER, EARLIER],
                )


def labels() -> dict[str, str]:
    sql = "select account_id, discovered_via from core.accounts"
    return dict(query(RadarSettings().warehouse, sql))


def queued() -> list[str]:
    sql = "select account_id from meta.tracking_queue order by 1"
    return [a for (a,) in query(RadarSettings().warehouse, sql)]


def walked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the next live social_ingest would walk on both platforms: its real plan."""
    monkeypatch.setenv("RADAR_SOURCE", "live")
    monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon", "bluesky"]')
    batches = runs.plan_extract(DAY, END)
    monkeypatch.setenv("RADAR_SOURCE", "fixture")
    monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon"]')
    assert all(isinstance(b, LiveBatch) for b in batches)
    return sorted(a for b in batches for a in b.accounts)


def test_the_next_run_gives_listed_accounts_their_label_and_walks_each_once(
    warehouse_backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    configure(tmp_path, monkeypatch)
    seed_old_state()

    # the next social_ingest: alice's profile loads again (as tracked: the loader keeps
    # the oldest label, the bad one), then the run repairs
    for i, batch in enumerate(runs.plan_extract(DAY, END)):
        runs.extract(batch, TaskContext(DAY, END, "ingest", f"extract-{i}"))
    assert runs.load("ingest", "social_ingest", DAY, END)["rows"]["accounts"] == 1

    assert labels() == {
        "alice@greens.social": "tracked",
        "did:plc:ana": "tracked",
        "carol@greens.social": "discovery:plant_based_cooking:#plantbased",
    }
    assert queued() == ["carol@greens.social", "did:plc:ben"]
    # each account once: the listed ones by the key the list gives (on either backend:
    # live planning once asked a lake whether it exists, an AttributeError)
    assert walked(monkeypatch) == sorted(
        ["@Alice@Greens.Social", "Ana.bsky.social", "carol@greens.social", "did:plc:ben"]
    )

    # a later load of alice keeps the repaired label, and nothing is left to repair
    runs.load("ingest", "social_ingest", DAY, END)
    with connect(RadarSettings().warehouse) as conn:
        assert repair_listed_accounts(conn) == (0, 0)
    assert labels()["alice@greens.social"] == "tracked"


def test_repair_counts_what_it_changed(radar_env: Path, tmp_path: Path, monkeypatch):
    configure(tmp_path, monkeypatch)
    seed_old_state()
    with connect(RadarSettings().warehouse) as conn:
        # alice and ana relabelled; alice's and ana's queue rows gone (ana's by the
        # handle she loaded with: her queued one was unverified)
        assert repair_listed_accounts(conn, LISTED) == (2, 2)
        assert repair_listed_accounts(conn, LISTED) == (0, 0)
        # nothing else to mark: carol is labelled already, ben not loaded
        assert mark_discovered_accounts(conn, LISTED) == 0


def test_nothing_discovery_touched_reads_no_sources_yaml(
    radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A warehouse without queue or discovery labels (fixture runs, the demo) needs no
    ``config/sources.yaml``: none is read."""
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(tmp_path / "no-config-here"))
    with connect(tmp_path / "w.duckdb") as conn:
        apply_schema(conn, ROOT / "sql")
        assert repair_listed_accounts(conn) == (0, 0)
        assert mark_discovered_accounts(conn) == 0


def test_the_queue_reads_from_either_backend(warehouse_backend, tmp_path: Path, monkeypatch):
    """What the live planner fetches of the queue, read from the DuckDB file or a DuckLake
    (a Lake is no path: asking it whether it exists failed)."""
    configure(tmp_path, monkeypatch)
    seed_old_state()
    # oldest first, then by queued handle
    assert read_queue(warehouse_backend, {}) == {
        "bluesky": ["did:plc:ben", "did:plc:ana"],
        "mastodon": ["alice@greens.social", "carol@greens.social"],
    }
    assert read_queue(warehouse_backend, LISTED) == {
        "bluesky": ["did:plc:ben"],
        "mastodon": ["carol@greens.social"],
    }
