"""Time comes from the data interval: a backfill of past days, run after later days were
already loaded, reproduces the marts that daily runs produced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from radar.settings import RadarSettings
from tests.helpers.feed_builder import mastodon_account, mastodon_status, page_line, write_pages
from tests.helpers.warehouse_helpers import MARTS, query, run_radar, table_contents

pytestmark = pytest.mark.slow

DAYS = [datetime(2026, 11, 18), datetime(2026, 11, 19), datetime(2026, 11, 20)]
INSTANCE = "greens.social"


def build_three_day_feed(feed: Path) -> None:
    """Three daily recordings: followers grow, counts rise, new posts appear each day."""
    users = {
        "ana": (24_000, "tofu and lentils"),
        "ben": (31_000, "sourdough crumb"),
        "cai": (15_500, "trail run at dawn"),
    }
    for d, day in enumerate(DAYS):
        fetched = day + timedelta(hours=6)
        lookups, statuses = [], []
        for u, (user, (followers, text)) in enumerate(users.items()):
            account = mastodon_account(user, INSTANCE, followers + 150 * d, local_id=str(u))
            lookups.append(
                page_line(
                    f"https://{INSTANCE}/api/v1/accounts/lookup?acct={user}", fetched, account
                )
            )
            posts = [
                # every post seen so far, its counts growing with each fetch
                mastodon_status(
                    account,
                    INSTANCE,
                    f"{u}{p:02d}",
                    datetime(2026, 11, 1 + p),
                    f"{text} #{user}",
                    likes=200 + 40 * p + 25 * d,
                    replies=10 + d,
                    reblogs=15,
                )
                for p in range(14 + 3 * d)
                if datetime(2026, 11, 1 + p) < fetched
            ]
            statuses.append(
                page_line(f"https://{INSTANCE}/api/v1/accounts/{u}/statuses", fetched, posts)
            )
        stamp = day.date().isoformat()
        write_pages(feed, "mastodon", "accounts_lookup", stamp, "lookups", lookups)
        write_pages(feed, "mastodon", "account_statuses", stamp, "statuses", statuses)


def _run(days: list[datetime]) -> None:
    for day in days:
        runs = run_radar(day.replace(tzinfo=UTC))
        assert [str(r.state) for r in runs] == ["success", "success"], day


def test_backfilled_days_reproduce_the_daily_marts(
    airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_warehouse
):
    feed = tmp_path / "feed"
    build_three_day_feed(feed)
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon"]')
    fresh_warehouse(tmp_path / "daily")
    _run(DAYS)
    daily = table_contents(RadarSettings().warehouse, MARTS)

    # the live schedule ran the newest day first; then the two past days were backfilled,
    # and the newest day rerun on top of the full history
    fresh_warehouse(tmp_path / "backfill")
    _run([DAYS[2], DAYS[0], DAYS[1], DAYS[2]])
    backfilled = table_contents(RadarSettings().warehouse, MARTS)

    assert {t: len(rows) for t, rows in daily.items()} == {
        t: len(rows) for t, rows in backfilled.items()
    }
    for table in MARTS:
        assert backfilled[table] == daily[table], table
    assert query(
        RadarSettings().warehouse,
        "select count(distinct as_of), count(*) from marts.account_engagement",
    ) == [(3, 9)]
