"""
### social_ingest

Fetch (or replay) each platform's pages for one data interval, land them as Parquet and
load them into the DuckDB warehouse.

- One `plan_<platform>` and one mapped `extract_<platform>` per platform in
  `RADAR_PLATFORMS`. Each extract takes a slot of the pool `radar_<platform>`, which caps
  concurrency; the client's own rate limiter caps the request rate.
- `load` is the single writer (pool `radar_warehouse`, one slot). It runs on whatever
  arrived, even when a platform failed, and marks the asset `radar_warehouse_core`. That
  asset starts the `signals` DAG.
- On a DuckLake with a Postgres catalog (`RADAR_WAREHOUSE=ducklake:postgres:…`) each
  platform loads in its own `load_<platform>` task as soon as its extracts are done, side
  by side on the workers (pool `radar_lake_load`); `load` then only records the run and
  marks the asset.
- `check_run`, the last task, logs the run's summary and fails the run when any plan,
  extract batch or the load failed, naming each (a platform that planned nothing says
  why). A batch stopped by a spent daily quota (YouTube, TikTok, Instagram's usage) is
  not a failure: its profiles and snapshots are loaded, a warning names it, and its posts
  are read again from the accounts' old cursors on the next run (a cut walk would leave a
  gap). Errors no retry can fix (config, source, feed, a foreign lock on the warehouse)
  fail their task at once.

A run covers the interval that starts at its logical date, manual runs included: a
manual run, a backfill and the scheduled run of 2026-11-20 all ingest that day.

Backfills: `airflow backfill create --dag-id social_ingest --from-date … --to-date …`
replays the fixture feed or the raw archive. A live run for an interval past
`backfill_horizon_days` fails its plan at once, saying so. Ad-hoc runs can limit
`platforms` through the DAG params.

The schedule is `RADAR_INGEST_CRON` (default daily at 00:00 UTC). The other settings are
`RADAR_*` variables (see `.env.example`). Credentials come from Airflow connections,
looked up when a live task runs: `radar_mastodon__<instance>` or `radar_mastodon`
(token as password; optional, public data needs none), `radar_youtube` (API key as
password), `radar_instagram` (login = your IG user id, password = access token),
`radar_tiktok` (login = client key, password = client secret), `radar_bluesky` (login =
handle, password = app password; only for post search in discovery).
"""

from __future__ import annotations

from _radar import (
    DEFAULT_ARGS,
    INGEST_CRON,
    LAKE_LOAD_POOL,
    START_DATE,
    WAREHOUSE_CORE,
    WAREHOUSE_POOL,
    concurrent_loads,
    extract_batch,
    fail_fast,
    per_platform,
    platforms,
    run_interval,
    summarize_run,
    to_xcom,
)
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task


@dag(
    dag_id="social_ingest",
    schedule=CronDataIntervalTimetable(INGEST_CRON, timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    # scheduled runs one at a time; a backfill has its own limit (--max-active-runs 1)
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["radar", "ingest"],
    doc_md=__doc__,
    params={
        "platforms": Param(
            None,
            type=["null", "array"],
            description="only these platforms (default: all of RADAR_PLATFORMS)",
        )
    },
)
def social_ingest():
    @task
    @fail_fast
    def plan(platform: str, **context) -> list[dict]:
        wanted = context["params"].get("platforms")
        if wanted and platform not in wanted:
            print(f"{platform}: not in params.platforms {wanted}; nothing to extract")
            return []
        from ingest.runs import plan_extract

        start, end = run_interval(context)
        batches = plan_extract(start, end, [platform])
        print(f"{platform}: {len(batches)} batch(es) for the interval {start} → {end}")
        return to_xcom(batches)

    @task
    @fail_fast
    def extract(batch: dict, **context) -> dict:
        return extract_batch(batch, context)

    # all_done: a failed platform must not keep the others' data out of the warehouse
    @task(trigger_rule="all_done", pool=WAREHOUSE_POOL, outlets=[WAREHOUSE_CORE])
    @fail_fast
    def load(extracted: list, **context) -> dict:
        from ingest.runs import load

        start, end = run_interval(context)
        summary = load(context["run_id"], context["dag"].dag_id, start, end)
        return _announce(summary, end, context)

    # on a shared lake: each platform's files, as soon as its extracts are done
    @task(trigger_rule="all_done", pool=LAKE_LOAD_POOL)
    @fail_fast
    def load_platform(platform: str, extracted: list, **context) -> dict:
        from ingest.runs import load_platforms

        return load_platforms(context["run_id"], [platform])

    @task(trigger_rule="all_done", outlets=[WAREHOUSE_CORE])
    @fail_fast
    def record_load(loads: list, **context) -> dict:
        from ingest.runs import finish_load

        start, end = run_interval(context)
        names = [f"load_{name}" for name in platforms()]
        summary = finish_load(context["run_id"], context["dag"].dag_id, start, end, loads, names)
        return _announce(summary, end, context)

    def _announce(summary: dict, end, context) -> dict:
        # signals computes as of this interval's end, whenever it gets to run
        context["outlet_events"][WAREHOUSE_CORE].extra = {
            "data_interval_end": end.isoformat(),
            "run_id": context["run_id"],
            "files_loaded": summary["files_loaded"],
        }
        return summary

    # the run's last task: its state is the run's, so it fails when anything failed
    @task(trigger_rule="all_done")
    def check_run(planned: list, extracted: list, loaded: dict | None, **context) -> list[str]:
        return summarize_run(context, planned, extracted, loaded)

    planned, extracted = per_platform(plan, extract, "extract")
    if concurrent_loads():
        loads = [
            load_platform.override(task_id=f"load_{name}")(name, done)
            for name, done in zip(platforms(), extracted, strict=True)
        ]
        loaded = record_load.override(task_id="load")(loads)
    else:
        loaded = load(extracted)
    check_run(planned, extracted, loaded)


social_ingest()
