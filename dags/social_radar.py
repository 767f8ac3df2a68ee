"""
### social_radar

Daily end-to-end run for one data interval: replay or fetch each platform's pages
(one mapped task per platform batch), land them as Parquet, load them into the DuckDB
warehouse with a single writer, rebuild the signal and candidate marts as of the
interval's end, and log the top candidates per niche.

Settings come from `RADAR_*` environment variables (see `.env.example`).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task

DEFAULT_ARGS = {
    "owner": "radar",
    "retries": 2,
    "retry_delay": timedelta(seconds=20),
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
        return extract(batch, context["data_interval_start"], context["run_id"], task_name)

    @task(trigger_rule="none_failed")
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

    extracted = extract.expand(batch=plan_extract())
    report(build_signals(load(extracted)))


social_radar()
