"""One platform failing does not block the others, and the failure shows in the run."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from radar.settings import RadarSettings
from tests.helpers.warehouse_helpers import query, run_radar

ROOT = Path(__file__).resolve().parents[2]


def test_a_failing_platform_leaves_the_others_loaded_and_fails_the_run(
    airflow_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    feed = tmp_path / "feed"
    shutil.copytree(ROOT / "fixtures" / "demo", feed)
    # a recording from an endpoint Bluesky has no mapping for: that batch cannot extract
    broken = feed / "bluesky" / "get_timeline" / "dt=2026-11-20" / "x.jsonl"
    broken.parent.mkdir(parents=True)
    broken.write_text("{}\n")
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RADAR_RETRY_DELAY_SECONDS", "0")

    run, signals = run_radar(datetime(2026, 11, 20, tzinfo=UTC))

    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "failed"
    assert states[("extract_mastodon", 0)] == "success"
    # the bluesky batch holding the unmappable recording failed, and names itself
    assert "failed" in {s for (t, _), s in states.items() if t == "extract_bluesky"}
    assert states[("load", -1)] == "success"
    assert states[("check_run", -1)] == "failed"
    assert str(signals.state) == "success"
    warehouse = RadarSettings().warehouse
    # every platform but the broken one loaded
    assert query(warehouse, "select distinct platform from core.posts order by 1") == [
        ("instagram",),
        ("mastodon",),
        ("tiktok",),
        ("youtube",),
    ]
    assert query(
        warehouse, "select count(*) > 0 from marts.candidates where platform = 'mastodon'"
    ) == [(True,)]
