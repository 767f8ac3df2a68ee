"""
### radar_maintenance

Daily housekeeping that keeps one machine's disk and warehouse in shape:

- `prune_raw_archive`: deletes raw-archive days (`data/raw/…/dt=…`) older than
  `RADAR_RAW_RETENTION_DAYS` (default 90). Within that window any live run can be
  replayed.
- `prune_landing`: deletes landing files that the warehouse has loaded (same checksum in
  `meta.loaded_files`) and that are older than `RADAR_LANDING_RETENTION_DAYS` (default
  30). A file that was never loaded is never deleted.
- `tend_warehouse`: on the DuckDB file, `CHECKPOINT`, so the write-ahead log is folded
  into the file while no writer runs (it takes the one-slot pool `radar_warehouse`). On a
  DuckLake: inlined rows written out, small files merged, snapshots older than
  `RADAR_LAKE_SNAPSHOT_RETENTION_DAYS` (default 14) expired, and the files only they used,
  or that no snapshot knows, deleted. Readers and writers go on meanwhile.

Ages are counted from the run's data-interval end, never from the wall clock.
"""

from __future__ import annotations

from _radar import DEFAULT_ARGS, START_DATE, fail_fast, run_interval, warehouse_pool
from airflow.sdk import CronDataIntervalTimetable, dag, task

CRON = "30 3 * * *"


@dag(
    dag_id="radar_maintenance",
    schedule=CronDataIntervalTimetable(CRON, timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["radar", "maintenance"],
    doc_md=__doc__,
)
def radar_maintenance():
    @task
    @fail_fast
    def prune_raw_archive(**context) -> int:
        from ingest.maintenance import prune_raw_archive

        return prune_raw_archive(run_interval(context, CRON)[1])

    @task(pool=warehouse_pool())
    @fail_fast
    def prune_landing(**context) -> int:
        from ingest.maintenance import prune_landing

        return prune_landing(run_interval(context, CRON)[1])

    @task(pool=warehouse_pool())
    @fail_fast
    def tend_warehouse(**context) -> dict:
        from ingest.maintenance import tend_warehouse

        return tend_warehouse(run_interval(context, CRON)[1])

    prune_raw_archive()
    prune_landing() >> tend_warehouse()


radar_maintenance()
