"""The per-as-of export a marketer opens: CSV and Parquet with profile links, names,
rounded percentages and readable flags, and no file for an as-of without candidates."""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from radar.warehouse import connect
from transforms.runs import export_candidates, export_stem

AS_OF = datetime(2026, 11, 21)
COLUMNS = [
    "scope_type", "scope", "scope_label", "scope_rank", "platform", "handle", "display_name",
    "profile_url", "followers", "tier", "own_posts_30d", "er_30d_pct", "er_30d_median_pct",
    "peer_median_er_pct", "peer_group", "peer_count", "er_lift_over_peers",
    "follower_growth_30d_pct", "authenticity_score", "flags", "flag_reasons", "score",
    "engagement_part", "fit_part", "authenticity_part", "activity_part", "reason", "bio",
    "account_id", "as_of",
]  # fmt: skip


def _csv_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _decimals(value: str) -> int:
    return len(value.partition(".")[2])


def test_the_export_holds_every_candidate_with_links_names_and_rounded_percentages(
    data_dir: Path,
):
    paths = export_candidates(AS_OF)
    exports = data_dir / "exports"
    assert paths == [exports / f"candidates-2026-11-21.{kind}" for kind in ("csv", "parquet")]
    rows = _csv_rows(paths[0])
    assert list(rows[0]) == COLUMNS
    with connect(data_dir / "warehouse.duckdb", read_only=True) as conn:
        mart = {
            (scope, account): (rate, display_name, url)
            for scope, account, rate, display_name, url in conn.execute(
                "select c.scope, c.account_id, c.engagement_rate_30d_mean, a.display_name, a.url"
                " from marts.candidates as c join core.accounts as a using (platform, account_id)"
                " where as_of = ?",
                [AS_OF],
            ).fetchall()
        }
    assert len(rows) == len(mart) > 20
    for row in rows:
        rate, display_name, url = mart[row["scope"], row["account_id"]]
        assert float(row["er_30d_pct"]) == round(rate * 100, 2)
        assert row["display_name"] == (display_name or "")
        assert row["profile_url"] == url and url.startswith("https://")
        assert "[" not in row["flags"]
        for column in ("er_30d_pct", "er_30d_median_pct", "peer_median_er_pct"):
            assert _decimals(row[column]) <= 2, (column, row[column])
        for column in ("score", "engagement_part", "fit_part"):
            assert _decimals(row[column]) <= 3, (column, row[column])
        assert re.fullmatch(r"\d+", row["authenticity_score"])
    # the Parquet file holds the same rows and columns
    parquet = duckdb.sql(f"select * from '{paths[1]}'")
    assert parquet.columns == COLUMNS
    assert len(parquet.fetchall()) == len(rows)


def test_flags_read_as_words_and_a_missing_profile_link_is_derived_per_platform(
    data_dir: Path,
):
    with connect(data_dir / "warehouse.duckdb") as conn:
        conn.execute(
            "update marts.candidates set flags = ['follower_jump', 'likes_without_comments']"
            " where handle = 'trail_tom'"
        )
        conn.execute("update core.accounts set url = null")
    rows = _csv_rows(export_candidates(AS_OF)[0])
    flagged = {r["flags"] for r in rows if r["handle"] == "trail_tom"}
    assert flagged == {"follower jump, likes without comments"}
    assert {r["flags"] for r in rows if r["handle"] != "trail_tom"} == {""}
    expected = {
        "mastodon": lambda r: "https://{1}/@{0}".format(*r["handle"].split("@")),
        "bluesky": lambda r: f"https://bsky.app/profile/{r['handle']}",
        "youtube": lambda r: f"https://www.youtube.com/channel/{r['account_id']}",
        "instagram": lambda r: f"https://www.instagram.com/{r['handle']}/",
        "tiktok": lambda r: f"https://www.tiktok.com/@{r['handle']}",
    }
    assert {r["platform"] for r in rows} == set(expected)
    for row in rows:
        assert row["profile_url"] == expected[row["platform"]](row)


def test_an_as_of_without_candidates_gets_no_file_and_loses_a_stale_one(
    data_dir: Path, caplog: pytest.LogCaptureFixture
):
    empty = datetime(2026, 11, 25)
    exports = data_dir / "exports"
    exports.mkdir()
    stale = exports / "candidates-2026-11-25.csv"
    stale.write_text("scope\nleft by an earlier run\n")
    with caplog.at_level("INFO", logger="transforms.runs"):
        assert export_candidates(empty) == []
    assert sorted(exports.iterdir()) == []
    assert "no candidates as of 2026-11-25 00:00:00: no export written" in caplog.text


def test_an_as_of_that_is_not_midnight_has_files_of_its_own():
    assert export_stem(AS_OF) == "candidates-2026-11-21"
    assert export_stem(datetime(2026, 11, 21, 12, 30)) == "candidates-2026-11-21T123000"
