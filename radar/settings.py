"""Runtime settings, read from ``RADAR_*`` environment variables (see ``.env.example``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from radar.warehouse import LAKE_PREFIX, Lake, WarehouseTarget

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class RadarSettings(BaseSettings):
    """Where things live. Relative paths resolve against the current directory."""

    model_config = SettingsConfigDict(env_prefix="RADAR_", env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    warehouse_path: Path | None = None
    # RADAR_WAREHOUSE: a DuckDB file's path, or a DuckLake, ``ducklake:<catalog>`` with
    # its Parquet files under RADAR_LAKE_DATA_PATH (docs/warehouse.md)
    warehouse_url: str | None = Field(
        None, validation_alias=AliasChoices("RADAR_WAREHOUSE", "warehouse_url")
    )
    lake_data_path: str | None = None
    feed_dir: Path = PROJECT_ROOT / "fixtures" / "demo"
    config_dir: Path = PROJECT_ROOT / "config"
    sql_dir: Path = PROJECT_ROOT / "sql"
    source: str = "fixture"
    # None: every registered platform (ingest.registry), the DAGs' default too
    platforms: list[str] | None = None
    files_per_batch: int = 200
    # and at most this many bytes of recordings: one DuckDB pass of the bulk path
    # (ingest.bulk.CHUNK_BYTES), whose memory bounds a task's (~235 MB of RSS). Fewer,
    # larger tasks pay a task's fixed costs less often: 9 batches instead of 18 at 0.5 M
    # posts, 3-6 % less CPU (docs/benchmarks.md)
    batch_bytes: int = 128 * 1024 * 1024
    # DuckDB threads of one extract task. Mapped extract tasks run side by side, one per
    # worker slot, so one thread each keeps the cores busy without oversubscribing them
    # (on 2 cores, 2 tasks of 1 thread map the benchmark feed 20 % faster than 2 of 2)
    extract_threads: int = 1
    # DuckDB spills to disk past this, so memory stays flat however large the warehouse;
    # empty means DuckDB's own default (80 % of RAM)
    duckdb_memory_limit: str = "2GB"
    # the loader merges in bounded groups and spills: at 5 M posts 192MB holds the load
    # task near 350 MB of RSS (512MB: 690 MB); raise it if memory is plentiful (128MB is
    # too little for the benchmark's 5 M load)
    load_memory_limit: str = "192MB"
    # radar_maintenance: raw-archive days kept for replays; loaded landing files kept
    raw_retention_days: int = 90
    landing_retention_days: int = 30
    # a DuckLake's snapshots (time travel) kept this long; older ones are expired and the
    # files only they used deleted by radar_maintenance
    lake_snapshot_retention_days: int = 14

    @property
    def warehouse(self) -> WarehouseTarget:
        if self.warehouse_url and self.warehouse_url.startswith(LAKE_PREFIX):
            return Lake.parse(self.warehouse_url, self.lake_data_path or self.data_dir / "lake")
        if self.warehouse_url:
            return Path(self.warehouse_url)
        return self.warehouse_path or self.data_dir / "warehouse.duckdb"

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    @property
    def exports_dir(self) -> Path:
        return self.data_dir / "exports"
