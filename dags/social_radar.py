"""
### social_radar

Daily end-to-end run for one data interval: replay or fetch each platform's pages
(one mapped task per platform batch), land them as Parquet, load them into the DuckDB
warehouse with a single writer, rebuild the signal and candidate marts as of the
interval's end, and log the top candidates per niche.

One platform failing does not hold the others back: the load and the signals run on
whatever arrived, and `check_extracts` then fails the run, naming the failed batches.

Settings come from `RADAR_*` environment variables (see `.env.example`).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task

DEFAULT_ARGS = {
    "owner": "radar",
    "retries": 2,
    "retry_delay": timedelta(seconds=int(os.environ.get("RADAR_RETRY_DELAY_SECONDS", "30"))),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=2),
}


@dag(
    dag_id="social_radar",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 10, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["radar", "ingest", "signals"],
    doc_md=__doc__,
)
def social_radar():
    @task
    def plan_extract(**context) -> list[dict]:
        from ingest.runs import plan_extract

        return plan_extract(context["data_interval_start"], context["data_interval_end"])

    @task
    def extract(batch: dict, **context) -> dict:
        from ingest.runs import extract

        task_name = f"extract-{context['ti'].map_index}"
        items = batch.get("files") or batch.get("accounts") or []
        print(f"extracting {batch['platform']}: {len(items)} recording files or accounts")
        return extract(
            batch,
            context["data_interval_start"],
            context["run_id"],
            task_name,
            context["data_interval_end"],
        )

    # all_done: a failed platform must not keep the others' data out of the warehouse
    @task(trigger_rule="all_done")
    def load(extracted: list[dict], **context) -> dict:
        from ingest.runs import load

        return load(
            context["run_id"],
            context["dag"].dag_id,
            context["data_interval_start"],
            context["data_interval_end"],
        )

    @task
    def build_signals(loaded: dict, **context) -> dict:
        from transforms.runs import build_signals

        return build_signals(context["data_interval_end"], context["run_id"])

    @task
    def report(signals: dict, **context) -> None:
        from transforms.runs import report

        print(report(context["data_interval_end"]))

    @task(trigger_rule="all_done")
    def check_extracts(planned: list[dict], extracted: list[dict]) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        from ingest.runs import failed_batches

        failed = failed_batches(planned, [e for e in extracted if e])
        if failed:
            raise AirflowFailException(f"{len(failed)} extract batch(es) failed: {failed}")

    planned = plan_extract()
    extracted = extract.expand(batch=planned)
    reported = report(build_signals(load(extracted)))
    reported >> check_extracts(planned, extracted)


social_radar()
