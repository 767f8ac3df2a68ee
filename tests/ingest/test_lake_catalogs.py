"""A DuckLake on one machine needs no Postgres: its catalog can be a SQLite file or a DuckDB
file. The demo day runs through the whole pipeline on each and gives what the DuckDB
warehouse file gives; the choice is one setting, and a bad one is refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from radar.errors import ConfigError
from radar.settings import RadarSettings
from radar.warehouse import Lake, connect
from tests.helpers.paths import DEMO_INTERVAL
from tests.helpers.warehouse_helpers import CORE_AND_MARTS, run_pipeline, table_contents

pytestmark = pytest.mark.slow


def _demo_day(data_dir: Path, monkeypatch: pytest.MonkeyPatch, warehouse: str | None) -> dict:
    monkeypatch.setenv("RADAR_DATA_DIR", str(data_dir))
    if warehouse:
        monkeypatch.setenv("RADAR_WAREHOUSE", warehouse)
    else:
        monkeypatch.delenv("RADAR_WAREHOUSE", raising=False)
    run_pipeline(*DEMO_INTERVAL)
    return table_contents(RadarSettings().warehouse, CORE_AND_MARTS, digits=12)


def test_local_catalogs_give_what_the_duckdb_file_gives(
    radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    expected = _demo_day(tmp_path / "file", monkeypatch, None)
    assert expected["marts.candidates"]
    for name, url in {
        "sqlite": f"ducklake:sqlite:{tmp_path / 'catalogs' / 'radar.sqlite'}",
        "duckdb": f"ducklake:{tmp_path / 'catalogs' / 'radar.ducklake'}",
    }.items():
        (tmp_path / "catalogs").mkdir(exist_ok=True)
        got = _demo_day(tmp_path / name, monkeypatch, url)
        lake = RadarSettings().warehouse
        assert isinstance(lake, Lake) and lake.kind == name
        assert got == expected, name
        # its Parquet files are under the data dir's lake/ folder, by default
        assert list((tmp_path / name / "lake").rglob("*.parquet")), name


def test_a_lake_attached_with_another_data_path_is_refused_with_both_named(tmp_path: Path):
    catalog = f"{tmp_path / 'radar.ducklake'}"
    with connect(Lake(catalog, str(tmp_path / "one"))) as conn:
        conn.execute("create schema meta")
    with pytest.raises(ConfigError, match="does not match existing data path"):
        connect(Lake(catalog, str(tmp_path / "two")))


@pytest.mark.parametrize("password", ["s3cret", "'s3 cr\\'et'"])
def test_a_password_in_the_catalog_never_reaches_the_message(password: str):
    lake = Lake.parse(
        f"ducklake:postgres:dbname=lake host=127.0.0.1 port=1 user=radar password={password}",
        "/nonexistent/lake",
    )
    assert "s3" not in str(lake) and "***" in str(lake)
    with pytest.raises(ConfigError) as refused:
        connect(lake, read_only=True)
    assert "s3" not in str(refused.value) and "cannot attach" in str(refused.value)
    assert refused.value.__suppress_context__  # a traceback never shows the original


def test_an_empty_catalog_is_refused():
    with pytest.raises(ConfigError, match="names no catalog"):
        Lake.parse("ducklake:", "/tmp/x")


def _attach(catalog: str, data_path: str, barrier, results) -> None:
    from radar.warehouse import Lake, connect

    barrier.wait()
    try:
        with connect(Lake(catalog, data_path)) as conn:
            conn.execute("select count(*) from ducklake_snapshots('warehouse')").fetchone()
        results.put("ok")
    except Exception as exc:  # reported to the test, which shows it
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_attaching_a_new_lake_at_once_all_get_in(catalog_server, tmp_path: Path):
    """The first run of a new stack: its loads attach the new lake at the same moment, and
    all but one lose the race to create its catalog tables. Each must get in."""
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    for trial in range(2):
        lake = catalog_server.lake(tmp_path / f"lake-{trial}")
        barrier, results = spawn.Barrier(5), spawn.Queue()
        processes = [
            spawn.Process(target=_attach, args=(lake.catalog, lake.data_path, barrier, results))
            for _ in range(5)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=120)
        assert sorted(results.get(timeout=5) for _ in processes) == ["ok"] * 5
