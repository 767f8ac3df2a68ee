"""Failures fail: every broken run ends ``failed`` and names its cause; errors no retry can
fix fail on the first try; an interval with nothing in it succeeds and says why.

The retry delay stays at its default (30 s, doubling): a deterministic error that was
retried would show as a second try and as minutes of wall time."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers.warehouse_helpers import load_dag

ROOT = Path(__file__).resolve().parents[2]
DAY = datetime(2026, 11, 20, tzinfo=UTC)


def _states(run) -> dict[str, tuple[str, int]]:
    return {
        f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id: (
            str(ti.state),
            ti.try_number,
        )
        for ti in run.get_task_instances()
    }


def _output(capfd: pytest.CaptureFixture, caplog: pytest.LogCaptureFixture) -> str:
    """What the tasks printed: Airflow sends a task's stdout to stdout or, once its
    logging is set up by an earlier run in the process, to the log."""
    text = capfd.readouterr().out + caplog.text
    caplog.clear()
    return text


def _ingest(capfd, caplog) -> tuple[object, dict, str, float]:
    _output(capfd, caplog)
    began = time.monotonic()
    run = load_dag("social_ingest").test(logical_date=DAY)
    return run, _states(run), _output(capfd, caplog), time.monotonic() - began


@pytest.fixture
def fresh_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RADAR_FEED_DIR", str(ROOT / "fixtures" / "demo"))
    monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon", "bluesky"]')
    monkeypatch.delenv("RADAR_RETRY_DELAY_SECONDS", raising=False)
    return tmp_path / "data"


def test_a_misspelt_source_fails_the_run_at_once_naming_it(
    airflow_db, fresh_data: Path, monkeypatch: pytest.MonkeyPatch, capfd, caplog
):
    monkeypatch.setenv("RADAR_SOURCE", "lvie")
    run, states, out, seconds = _ingest(capfd, caplog)
    assert str(run.state) == "failed"
    assert states["plan_mastodon"] == ("failed", 1)  # one try: no retry can fix it
    assert states["check_run"][0] == "failed"
    assert "RADAR FAILED plan_mastodon (not retried): RADAR_SOURCE='lvie': choose one of" in out
    assert "RADAR FAILED plan_mastodon failed" in out
    assert seconds < 60


def test_a_missing_feed_fails_the_run_at_once_naming_it(
    airflow_db, fresh_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd, caplog
):
    monkeypatch.setenv("RADAR_FEED_DIR", str(tmp_path / "no-such-feed"))
    run, states, out, seconds = _ingest(capfd, caplog)
    assert str(run.state) == "failed"
    assert states["plan_bluesky"] == ("failed", 1)
    assert f"fixture feed {tmp_path / 'no-such-feed'} does not exist (RADAR_FEED_DIR)" in out
    assert seconds < 60


def test_an_unknown_platform_fails_the_run_at_once(
    airflow_db, fresh_data: Path, monkeypatch: pytest.MonkeyPatch, capfd, caplog
):
    monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon", "mastadon"]')
    run, states, out, _ = _ingest(capfd, caplog)
    assert str(run.state) == "failed"
    assert states["plan_mastadon"] == ("failed", 1)
    assert "unknown platform(s) ['mastadon'] in RADAR_PLATFORMS" in out
    assert states["extract_mastodon[0]"][0] == "success"  # the other platform still ran


def test_a_warehouse_held_by_another_program_fails_the_load_and_the_run_at_once(
    airflow_db, fresh_data: Path, capfd, caplog
):
    warehouse = fresh_data / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True)
    # an analyst's session that keeps the file open for writing
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(warehouse)!r}); "
            "print('open', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        run, states, out, seconds = _ingest(capfd, caplog)
    finally:
        holder.communicate("")
    assert str(run.state) == "failed"
    assert states["load"] == ("failed", 1)
    assert states["extract_mastodon[0]"][0] == "success"
    assert f"is locked by PID {holder.pid}" in out
    assert "RADAR FAILED load failed: nothing of this run reached the warehouse" in out
    assert seconds < 60


def test_an_interval_with_no_recordings_succeeds_and_says_why(
    airflow_db, fresh_data: Path, capfd, caplog
):
    run = load_dag("social_ingest").test(logical_date=datetime(2026, 11, 2, tzinfo=UTC))
    out = _output(capfd, caplog)
    assert str(run.state) == "success"
    feed = ROOT / "fixtures" / "demo"
    assert f"nothing planned: mastodon: no recordings for dt=2026-11-02 in feed {feed}" in out
    assert "loaded 0 file(s)" in out


def test_a_config_typo_fails_signals_at_once_naming_the_file(
    airflow_db, fresh_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd, caplog
):
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    niches = config / "niches.yaml"
    niches.write_text(niches.read_text().replace("keywords:", "keywordz:", 1))
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))
    assert str(load_dag("social_ingest").test(logical_date=DAY).state) == "success"
    _output(capfd, caplog)
    began = time.monotonic()
    run = load_dag("signals").test(logical_date=DAY)
    out = _output(capfd, caplog)
    assert str(run.state) == "failed"
    assert _states(run)["build_signals"] == ("failed", 1)
    assert f"RADAR FAILED build_signals (not retried): {niches}: " in out
    assert "keywordz: Extra inputs are not permitted" in out
    assert time.monotonic() - began < 60
