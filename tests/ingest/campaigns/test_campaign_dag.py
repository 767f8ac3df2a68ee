"""The campaign_ingest DAG, run in-process with dag.test(): the recorded exports and the
demo campaigns load; a rerun changes nothing; an export without a required column fails
the run red, naming it first, after the other exports loaded."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT
from tests.helpers.warehouse_helpers import load_dag, query, table_contents

DAY = datetime(2026, 11, 21, tzinfo=UTC)
EXPORTS = ROOT / "fixtures" / "campaigns" / "exports"
BAD_EXPORTS = ROOT / "fixtures" / "campaigns" / "bad_exports"
TABLES = [
    "core.campaigns",
    "core.campaign_creators",
    "core.campaign_tracking",
    "core.campaign_brand_handles",
    "core.fx_rates",
    "core.orders",
    "core.link_clicks",
    "meta.rejects",
]


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def _output(capfd: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture) -> str:
    text = capfd.readouterr().out + caplog.text
    caplog.clear()
    return text


@pytest.fixture
def campaign_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("RADAR_DATA_DIR", str(data_dir))
    monkeypatch.delenv("RADAR_CAMPAIGN_EXPORTS_DIR", raising=False)
    monkeypatch.delenv("RADAR_WAREHOUSE_PATH", raising=False)
    return data_dir


def test_the_recorded_exports_load_once_and_a_rerun_changes_nothing(airflow_db, campaign_env: Path):
    warehouse = campaign_env / "warehouse.duckdb"
    run = load_dag("campaign_ingest").test(logical_date=DAY)
    assert str(run.state) == "success", _states(run)
    counts = dict(
        query(
            warehouse,
            """select 'orders', count(*) from core.orders
               union all select 'clicks', count(*) from core.link_clicks
               union all select 'rejects', count(*) from meta.rejects
               union all select 'creators', count(*) from core.campaign_creators""",
        )
    )
    # 14 orders in two exports, #1008 malformed in both its lines; #1007 fixed later
    assert counts == {"orders": 13, "clicks": 14, "rejects": 4, "creators": 7}
    refund = query(
        warehouse, "select refunded, financial_status from core.orders where order_id = '#1009'"
    )
    assert refund == [(Decimal("35.72"), "refunded")]  # the later export's refund
    # the demo accounts of the campaigns were never loaded here: no account id yet
    assert query(
        warehouse, "select count(*) from core.campaign_creators where account_id is not null"
    ) == [(0,)]
    (runs,) = query(warehouse, "select dag_id, files_loaded from meta.runs")
    assert runs == ("campaign_ingest", 8)
    before = table_contents(warehouse, TABLES)
    again = load_dag("campaign_ingest").test(logical_date=DAY)
    assert str(again.state) == "success"
    assert table_contents(warehouse, TABLES) == before


def test_an_export_without_a_required_column_fails_the_run_after_the_others_loaded(
    airflow_db, campaign_env: Path, tmp_path: Path, monkeypatch, capfd, caplog
):
    exports = tmp_path / "exports"
    shutil.copytree(EXPORTS, exports)
    shutil.copytree(BAD_EXPORTS / "shopify", exports / "shopify", dirs_exist_ok=True)
    monkeypatch.setenv("RADAR_CAMPAIGN_EXPORTS_DIR", str(exports))
    _output(capfd, caplog)
    run = load_dag("campaign_ingest").test(logical_date=DAY)
    out = _output(capfd, caplog)
    states = _states(run)
    assert str(run.state) == "failed"
    assert states["check_run"] == "failed"
    assert states["load_exports"] == "success"
    cause = "RADAR FAILED export shopify/orders_export_2026-11-21.csv: missing column(s) Total"
    assert cause in out
    # its cause comes first among the check's lines
    assert out.index(cause) < out.index("loaded 9 file(s)")  # 8 and its reject
    warehouse = campaign_env / "warehouse.duckdb"
    assert query(warehouse, "select count(*) from core.orders") == [(13,)]
    assert query(
        warehouse,
        "select source_line, reason like 'missing column(s) Total%' from meta.rejects "
        "where source_path = 'shopify/orders_export_2026-11-21.csv'",
    ) == [(1, True)]
