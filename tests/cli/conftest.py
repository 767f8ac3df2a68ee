"""A real warehouse of the bundled demo day for the CLI and export tests, built once per
session by the pipeline's own steps (plan, extract, load, transforms) without Airflow."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.paths import DEMO_FEED, DEMO_INTERVAL


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data dir of one demo day, loaded and computed as of 2026-11-21; never written by
    the tests (``data_dir`` hands each test its own copy)."""
    from tests.helpers.warehouse_helpers import run_pipeline

    data_dir = tmp_path_factory.mktemp("cli-demo") / "data"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RADAR_DATA_DIR", str(data_dir))
        env.setenv("RADAR_FEED_DIR", str(DEMO_FEED))
        env.delenv("RADAR_WAREHOUSE_PATH", raising=False)
        run_pipeline(*DEMO_INTERVAL)
    return data_dir


@pytest.fixture
def data_dir(demo_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo data dir that ``RADAR_DATA_DIR`` points at, for this test alone."""
    copy = tmp_path / "data"
    shutil.copytree(demo_data, copy)
    monkeypatch.setenv("RADAR_DATA_DIR", str(copy))
    monkeypatch.setenv("RADAR_FEED_DIR", str(DEMO_FEED))
    monkeypatch.delenv("RADAR_WAREHOUSE_PATH", raising=False)
    return copy
