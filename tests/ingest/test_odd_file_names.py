"""File and folder names with glob characters are read as themselves: a recording named
``x[1].jsonl`` beside an ``x1.jsonl`` once loaded ``x1.jsonl`` twice and lost its own posts."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from radar.errors import ConfigError
from radar.settings import RadarSettings
from radar.warehouse import connect
from tests.helpers.warehouse_helpers import CORE, run_pipeline, table_contents

ROOT = Path(__file__).resolve().parents[2]
DAY, END = datetime(2026, 11, 20), datetime(2026, 11, 21)
STATUSES = Path("mastodon") / "account_statuses" / "dt=2026-11-20"


def _core_after_loading(feed: Path, data: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_DATA_DIR", str(data))
    run_pipeline(DAY, END)
    return table_contents(RadarSettings().warehouse, CORE)


def test_recordings_and_data_dirs_named_with_glob_characters_load_as_themselves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon"]')
    plain, odd = tmp_path / "plain", tmp_path / "odd"
    shutil.copytree(ROOT / "fixtures" / "demo", plain)
    shutil.copytree(ROOT / "fixtures" / "demo", odd)
    # the same recordings under names a glob would match differently
    renames = {
        "bakers.social__crumbshot.jsonl": "x[1].jsonl",
        "greens.social__lena_kocht.jsonl": "y*z.jsonl",
        "greens.social__recetas_verdes.jsonl": "q?.jsonl",
    }
    for old, new in renames.items():
        (odd / STATUSES / old).rename(odd / STATUSES / new)
    # and a file each glob would match instead, holding one account's posts in both feeds
    for feed in (plain, odd):
        for name in ("x1.jsonl", "yQz.jsonl", "qq.jsonl"):
            shutil.copy(feed / STATUSES / "bakers.social__levain_lou.jsonl", feed / STATUSES / name)

    expected = _core_after_loading(plain, tmp_path / "data-plain", monkeypatch)
    got = _core_after_loading(odd, tmp_path / "data [*]", monkeypatch)

    assert got["core.posts"] == expected["core.posts"]
    assert got["core.accounts"] == expected["core.accounts"]


def test_a_warehouse_path_duckdb_cannot_open_is_refused_with_a_reason(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"contains '\?', which DuckDB cannot open"):
        connect(tmp_path / "what?" / "warehouse.duckdb")
