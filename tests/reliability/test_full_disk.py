"""A full disk at the transforms' COMMIT says so (issue 15, finding 9; the loader's case is in
tests/ingest/test_loader.py): a COMMIT that fails has already ended its transaction, and
the runner's rollback must not replace the disk's error with "cannot rollback - no
transaction is active". The disk is a real tmpfs, mounted for the test and filled."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest import runs
from ingest.connector import TaskContext
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from tests.helpers.paths import DEMO_INTERVAL
from tests.helpers.small_disk import fill, mounted_small_disk
from tests.helpers.warehouse_helpers import query
from transforms.runner import run_transforms


@pytest.fixture
def small_disk(tmp_path: Path):
    with mounted_small_disk(tmp_path / "small_disk", "16m") as mount:
        yield mount


def test_a_full_disk_at_the_transforms_commit_raises_its_own_error(
    radar_env: Path, small_disk: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("RADAR_WAREHOUSE_PATH", str(small_disk / "warehouse.duckdb"))
    settings = RadarSettings()
    start, end = DEMO_INTERVAL
    for i, batch in enumerate(runs.plan_extract(start, end)):
        runs.extract(batch, TaskContext(start, end, "run", f"extract-{i}"))
    runs.load("run", "social_ingest", start, end)  # closed: checkpointed to the file
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        filler = fill(small_disk)
        with pytest.raises(duckdb.Error) as raised:
            run_transforms(conn, settings.sql_dir, settings.config_dir, end)
    assert "no transaction is active" not in str(raised.value)
    assert "No space left on device" in str(raised.value), raised.value
    filler.unlink()
    assert query(settings.warehouse, "select count(*) from meta.transform_state") == [(0,)]
    with connect(settings.warehouse) as conn:  # with room again, the same run succeeds
        assert run_transforms(conn, settings.sql_dir, settings.config_dir, end).rows
