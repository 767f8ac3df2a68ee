"""Impossible counts in one platform's rows are kept out of the signals and listed; they
never fail the signals of every platform, that day and every later one."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from radar.settings import RadarSettings
from tests.helpers.paths import DEMO_INTERVAL
from tests.helpers.warehouse_helpers import query, run_pipeline
from transforms import runs as signal_runs

START, END = DEMO_INTERVAL


def _candidates(warehouse: Path, platform: str) -> list[tuple]:
    return query(
        warehouse,
        "select scope_type, scope, account_id, score from marts.candidates "
        "where platform = ? order by all",
        [platform],
    )


def test_negative_counts_are_quarantined_and_the_other_platforms_signals_are_unchanged(
    radar_env: Path, tmp_path: Path
):
    run_pipeline(START, END)
    warehouse = RadarSettings().warehouse
    clean = tmp_path / "clean.duckdb"
    shutil.copy(warehouse, clean)
    with duckdb.connect(str(warehouse)) as conn:
        # as a warehouse loaded before ingest rejected them holds them
        conn.execute(
            "update core.post_metric_snapshots set likes = -5 where platform = 'mastodon' "
            "and post_id = (select min(post_id) from core.post_metric_snapshots "
            "where platform = 'mastodon')"
        )
        conn.execute(
            "update core.account_snapshots set followers = -1 where platform = 'tiktok' "
            "and account_id = (select min(account_id) from core.account_snapshots "
            "where platform = 'tiktok')"
        )

    # the signals run whole (the data tests pass) on the data with those rows kept out
    signal_runs.build_signals(END, "signals-after")

    quarantined = query(
        warehouse, "select entity, platform, reason from staging.stg_quarantine order by all"
    )
    assert quarantined == [
        ("account_snapshots", "tiktok", "negative followers"),
        ("post_metric_snapshots", "mastodon", "negative likes"),
    ]
    # their scores; ranks are shared across platforms, so a quarantined account moves them
    for platform in ("bluesky", "youtube", "instagram"):
        assert _candidates(warehouse, platform) == _candidates(clean, platform), platform
    assert "kept out of the signals by a staging rule (staging.stg_quarantine): 2" in (
        signal_runs.report(END)
    )
