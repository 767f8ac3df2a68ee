"""Running out of DuckDB memory names the setting to raise, and is not retried."""

from __future__ import annotations

from pathlib import Path

import pytest

from radar.errors import PermanentError
from tests.helpers.paths import DEMO_INTERVAL
from tests.helpers.warehouse_helpers import run_pipeline
from transforms import runs as signal_runs

START, END = DEMO_INTERVAL


def test_signals_out_of_memory_say_which_setting_to_raise(
    radar_env: Path, monkeypatch: pytest.MonkeyPatch
):
    run_pipeline(START, END)
    monkeypatch.setenv("RADAR_DUCKDB_MEMORY_LIMIT", "20MB")
    with pytest.raises(PermanentError, match="out of memory at RADAR_DUCKDB_MEMORY_LIMIT=20MB"):
        signal_runs.build_signals(END, "signals-small")
