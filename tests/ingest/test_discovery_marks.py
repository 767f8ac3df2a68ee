"""An account niche_discovery queued enters core.accounts saying how it was found."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ingest.discovery import mark_discovered_accounts
from radar.warehouse import apply_schema, connect

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 11, 20)


def test_a_loaded_queued_account_records_its_niche_and_term(tmp_path: Path):
    with connect(tmp_path / "w.duckdb") as conn:
        apply_schema(conn, ROOT / "sql")
        conn.execute(
            "insert into meta.tracking_queue values "
            "('bluesky', 'did:plc:ben', 'ben.bsky.social', 'sourdough_baking', 'sauerteig', "
            " 41000, ?, ?),"
            "('youtube', 'UCnotloadedyet', 'UCnotloadedyet', 'houseplants', '#monstera', "
            " null, ?, ?)",
            [AT, AT, AT, AT],
        )
        accounts = [
            ("bluesky", "did:plc:ben", "ben.bsky.social"),  # queued, now loaded
            ("bluesky", "did:plc:ana", "ana.bsky.social"),  # from config/sources.yaml
        ]
        for platform, account_id, handle in accounts:
            conn.execute(
                "insert into core.accounts (platform, account_id, handle, status, "
                "discovered_via, observed_at, first_seen_at) "
                "values (?, ?, ?, 'active', 'tracked', ?, ?)",
                [platform, account_id, handle, AT, AT],
            )
        assert mark_discovered_accounts(conn) == 1
        assert mark_discovered_accounts(conn) == 0  # a second load changes nothing
        rows = conn.execute(
            "select account_id, discovered_via from core.accounts order by 1"
        ).fetchall()
    assert rows == [
        ("did:plc:ana", "tracked"),
        ("did:plc:ben", "discovery:sourdough_baking:sauerteig"),
    ]


def test_the_planner_gets_what_each_platform_fetches_by(tmp_path: Path):
    from ingest.discovery import read_queue

    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as conn:
        apply_schema(conn, ROOT / "sql")
        for platform, account_id, handle in [
            ("bluesky", "did:plc:ben", "handle.invalid"),  # an unverified handle
            ("youtube", "UCq7Tofutales9xKp2VbN3aQ", "tofutales"),
            ("instagram", "17841401441775531", "crumbqueen"),
            ("mastodon", "lena@greens.social", "lena@greens.social"),
        ]:
            conn.execute(
                "insert into meta.tracking_queue values (?, ?, ?, 'n', 't', null, ?, ?)",
                [platform, account_id, handle, AT, AT],
            )
    assert read_queue(warehouse) == {
        "bluesky": ["did:plc:ben"],
        "youtube": ["UCq7Tofutales9xKp2VbN3aQ"],  # 50 ids a request, not a handle lookup
        "instagram": ["crumbqueen"],  # business discovery takes the username
        "mastodon": ["lena@greens.social"],
    }
