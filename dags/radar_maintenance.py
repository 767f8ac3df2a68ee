"""
### radar_maintenance

Daily housekeeping that keeps one machine's disk and warehouse in shape:

- `prune_raw_archive`: deletes raw-archive days (`data/raw/…/dt=…`) older than
  `RADAR_RAW_RETENTION_DAYS` (default 90). Within that window any live run can be
  replayed.
- `prune_landing`: deletes landing files that the warehouse has loaded (same checksum in
  `meta.loaded_files`) and that are older than `RADAR_LANDING_RETENTION_DAYS` (default
  30). A file that was never loaded is never deleted.
- `checkpoint_warehouse`: DuckDB `CHECKPOINT`, so the write-ahead log is folded into the
  file while no writer runs. It takes the one-slot pool `radar_warehouse`.

Ages are counted from the run's data-interval end, never from the wall clock.
"""

from __future__ import annotations

from _radar import DEFAULT_ARGS, START_DATE, WAREHOUSE_POOL, fail_fast, run_interval
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

    @task(pool=WAREHOUSE_POOL)
    @fail_fast
    def prune_landing(**context) -> int:
        from ingest.maintenance import prune_landing

        return prune_landing(run_interval(context, CRON)[1])

    @task(pool=WAREHOUSE_POOL)
    @fail_fast
    def checkpoint_warehouse() -> None:
        from ingest.maintenance import checkpoint_warehouse

        checkpoint_warehouse()

    prune_raw_archive()
    prune_landing() >> checkpoint_warehouse()


radar_maintenance()
