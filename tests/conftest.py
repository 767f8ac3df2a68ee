"""Test setup: a throwaway Airflow home with a SQLite metadata DB, and small worlds.

The Airflow variables are set before anything imports airflow, which reads them once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.helpers and bench/, which the wheel leaves out
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="radar-airflow-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.pop("RADAR_WAREHOUSE_PATH", None)
os.environ.pop("RADAR_WAREHOUSE", None)
os.environ.pop("RADAR_LAKE_DATA_PATH", None)
sys.path.append(str(ROOT / "dags"))  # as Airflow does for the DAG bundle (_radar.py)

from tests.helpers.paths import DEMO_FEED, DEMO_INTERVAL  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the SQLite metadata DB once per session and apply config/airflow_settings.yaml,
    as every way of starting Airflow does."""
    for command in (["airflow", "db", "migrate"], ["ops.airflow_settings"]):
        subprocess.run(
            [sys.executable, "-m", *command], check=True, capture_output=True, env=os.environ.copy()
        )
    return _AIRFLOW_HOME


@dataclass(frozen=True)
class DemoRun:
    data_dir: Path
    states: tuple[str, str]  # social_ingest's and signals' final states

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse.duckdb"


@pytest.fixture(scope="session")
def demo_run(airflow_db, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """social_ingest then signals on the bundled demo day, each a real ``dag.test()``, run
    once per session: tests that only read its result share it (and never write to it)."""
    from tests.helpers.warehouse_helpers import run_radar

    data_dir = tmp_path_factory.mktemp("demo-run") / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RADAR_DATA_DIR", str(data_dir))
        env.setenv("RADAR_FEED_DIR", str(DEMO_FEED))
        env.delenv("RADAR_WAREHOUSE_PATH", raising=False)
        ingest, signals = run_radar(DEMO_INTERVAL[0].replace(tzinfo=UTC))
    return DemoRun(data_dir, (str(ingest.state), str(signals.state)))


@pytest.fixture
def radar_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every RADAR_* setting at a fresh data dir; the demo feed by default."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("RADAR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("RADAR_FEED_DIR", str(DEMO_FEED))
    monkeypatch.delenv("RADAR_WAREHOUSE_PATH", raising=False)
    return data_dir


@pytest.fixture(scope="session")
def catalog_server():
    """A real Postgres on 127.0.0.1 for DuckLake catalogs, one per test session."""
    import shutil

    from bench import lake_catalog

    # not under pytest's tmp dir: as root, Postgres runs as its own user, who must be
    # able to reach its data dir
    state_dir = Path(tempfile.mkdtemp(prefix="radar-lake-catalog-"))
    server = lake_catalog.start(state_dir)
    yield server
    lake_catalog.stop(server)
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(params=["file", "lake"])
def warehouse_backend(request, radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Each backend in turn, chosen the way a user chooses it (``RADAR_WAREHOUSE``): the
    DuckDB file, then a DuckLake on a fresh Postgres catalog. Returns the target; the
    data dir is ``radar_env``'s."""
    from radar.settings import RadarSettings

    monkeypatch.delenv("RADAR_WAREHOUSE", raising=False)
    monkeypatch.delenv("RADAR_LAKE_DATA_PATH", raising=False)
    if request.param == "lake":
        lake = request.getfixturevalue("catalog_server").lake(tmp_path / "lake")
        monkeypatch.setenv("RADAR_WAREHOUSE", f"ducklake:{lake.catalog}")
        monkeypatch.setenv("RADAR_LAKE_DATA_PATH", lake.data_path)
    return RadarSettings().warehouse


@pytest.fixture
def fresh_warehouse(warehouse_backend, request, monkeypatch: pytest.MonkeyPatch):
    """A function that points the settings at a new data dir and a new, empty warehouse
    of the backend under test (a reference run beside the one under test)."""
    from radar.settings import RadarSettings
    from radar.warehouse import is_lake

    def switch(data_dir: Path):
        monkeypatch.setenv("RADAR_DATA_DIR", str(data_dir))
        if is_lake(warehouse_backend):
            lake = request.getfixturevalue("catalog_server").lake(data_dir / "lake")
            monkeypatch.setenv("RADAR_WAREHOUSE", f"ducklake:{lake.catalog}")
            monkeypatch.setenv("RADAR_LAKE_DATA_PATH", lake.data_path)
        return RadarSettings()

    return switch


@pytest.fixture(autouse=True)
def _httpx_logger_reachable():
    """Airflow's logging setup (run by earlier dag.test() calls) can disable or detach
    loggers it did not configure. The tests that prove no secret reaches httpx's own
    request log line need that line to reach caplog, whatever ran before them."""
    import logging

    logger = logging.getLogger("httpx")
    saved = (logger.disabled, logger.propagate, logger.level)
    logger.disabled, logger.propagate = False, True
    logger.setLevel(logging.INFO)
    yield
    logger.disabled, logger.propagate, logger.level = saved
