"""Exports land once and load exactly once through the loader: the same export twice
loads once, a later export with a refund updates the order whichever lands first, a bad
file fails alone, and any sequence of reruns leaves what one clean run leaves."""

from __future__ import annotations

import shutil
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.campaigns.runs import (
    land_campaign_exports,
    load_campaign_exports,
    load_campaign_terms,
)
from tests.helpers.paths import ROOT
from tests.helpers.warehouse_helpers import query, table_contents

EXPORTS = ROOT / "fixtures" / "campaigns" / "exports"
START, END = datetime(2026, 11, 21), datetime(2026, 11, 22)
TABLES = ["core.orders", "core.link_clicks", "meta.rejects", "core.campaign_creators"]


@pytest.fixture
def exports(tmp_path: Path, radar_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "exports"
    monkeypatch.setenv("RADAR_CAMPAIGN_EXPORTS_DIR", str(folder))
    return folder


def _run(run_id: str = "r1") -> tuple[dict, dict]:
    load_campaign_terms(END)
    landed = land_campaign_exports()
    return landed, load_campaign_exports(run_id, "campaign_ingest", START, END)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)


def test_the_same_export_twice_loads_once(exports: Path, radar_env: Path):
    original = EXPORTS / "shopify" / "orders_export_2026-11-20.csv"
    _copy(original, exports / "shopify" / "orders_export_2026-11-20.csv")
    landed, loaded = _run()
    assert (len(landed["landed"]), loaded["rows"]["orders"]) == (1, 11)
    # downloaded again under the name a browser gives a second copy
    _copy(original, exports / "shopify" / "orders_export_2026-11-20 (1).csv")
    landed, loaded = _run("r2")
    assert (landed["landed"], landed["already_landed"], loaded["files_loaded"]) == ([], 2, 0)
    warehouse = radar_env / "warehouse.duckdb"
    assert query(warehouse, "select count(*), count(distinct order_id) from core.orders") == [
        (11, 11)
    ]
    assert query(warehouse, "select count(*) from meta.rejects") == [(2,)]


@pytest.mark.parametrize("refund_first", [False, True], ids=["in order", "refund first"])
def test_a_later_export_with_a_refund_updates_the_order(
    exports: Path, radar_env: Path, refund_first: bool
):
    names = ["orders_export_2026-11-20.csv", "orders_export_2026-11-22.csv"]
    for name in reversed(names) if refund_first else names:
        _copy(EXPORTS / "shopify" / name, exports / "shopify" / name)
        _run(name)
    warehouse = radar_env / "warehouse.duckdb"
    assert query(
        warehouse,
        "select financial_status, refunded, observed_at from core.orders where order_id = '#1009'",
    ) == [("refunded", Decimal("35.72"), datetime(2026, 11, 22))]
    # rejected in the first export, fixed in the second: loaded
    assert query(warehouse, "select total from core.orders where order_id = '#1007'") == [
        (Decimal("43.42"),)
    ]


def test_a_bad_export_fails_alone_and_again_until_fixed_its_reject_loaded_once(
    exports: Path, radar_env: Path
):
    shutil.copytree(EXPORTS, exports)
    bad = ROOT / "fixtures" / "campaigns" / "bad_exports" / "shopify"
    _copy(
        bad / "orders_export_2026-11-21.csv", exports / "shopify" / "orders_export_2026-11-21.csv"
    )
    for run_id in ("r1", "r2"):
        landed, loaded = _run(run_id)
        assert landed["failed"] == [
            "shopify/orders_export_2026-11-21.csv: missing column(s) Total (a Shopify orders "
            "export has them)"
        ]
        assert loaded["failed"] == []
    warehouse = radar_env / "warehouse.duckdb"
    assert query(warehouse, "select count(*) from core.orders") == [(13,)]
    assert query(
        warehouse,
        "select count(*) from meta.rejects "
        "where source_path = 'shopify/orders_export_2026-11-21.csv'",
    ) == [(1,)]
    (exports / "shopify" / "orders_export_2026-11-21.csv").unlink()
    assert _run("r3")[0]["failed"] == []


def test_reruns_and_a_crash_between_landing_and_loading_leave_one_clean_run(
    exports: Path, radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    shutil.copytree(EXPORTS, exports)
    land_campaign_exports()  # a run that died before its load
    _run("r1")
    _run("r2")
    messy = table_contents(radar_env / "warehouse.duckdb", TABLES)
    clean_dir = tmp_path / "clean"
    monkeypatch.setenv("RADAR_DATA_DIR", str(clean_dir))
    _run("r1")
    assert table_contents(clean_dir / "warehouse.duckdb", TABLES) == messy
    assert sum(len(rows) for rows in messy.values()) > 30


def test_the_exports_load_the_same_into_a_ducklake(
    exports: Path, radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from radar.settings import RadarSettings

    shutil.copytree(EXPORTS, exports)
    _run("r1")
    on_file = table_contents(radar_env / "warehouse.duckdb", TABLES)
    # a lake with its catalog in a DuckDB file: no server needed, the same lake SQL
    monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "lake-data"))
    monkeypatch.setenv("RADAR_WAREHOUSE", f"ducklake:{tmp_path / 'lake' / 'catalog.ducklake'}")
    _run("r1")
    _run("r2")
    assert table_contents(RadarSettings().warehouse, TABLES) == on_file


def test_a_folder_of_no_known_layout_fails_the_run_and_the_others_load(
    exports: Path, radar_env: Path
):
    shutil.copytree(EXPORTS, exports)
    _copy(EXPORTS / "shopify" / "orders_export_2026-11-20.csv", exports / "woo" / "orders.csv")
    landed, loaded = _run()
    assert landed["failed"] == [
        "woo/: an export folder must be named shopify…, ga4… or short_links… (its layout); "
        "its files were not read"
    ]
    assert len(landed["landed"]) == 5 and loaded["rows"]["orders"] == 15


def test_a_missing_exports_folder_is_a_config_error_naming_it(exports: Path):
    from radar.errors import ConfigError

    with pytest.raises(ConfigError, match=f"campaign exports folder {exports} does not exist"):
        land_campaign_exports()
