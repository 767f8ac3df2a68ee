"""
### signals

Rebuild the signal and candidate marts from the warehouse. The run then tests the data,
writes the candidates out and logs the top candidates per niche.

The DAG is scheduled on either asset: `radar_warehouse_core`, which each `social_ingest`
load marks, or `radar_campaign_results`, which each `campaign_ingest` load marks (so new
orders and clicks reach the campaign marts without waiting for the next social load).
Every loaded interval is computed as of its own end. When a backfill loads several
days before this DAG runs, each day still gets its own marts, oldest first. A run that
loads started also computes every interval loaded since that has no marts yet
(`meta.runs`): an asset event that arrives while a run of this DAG waits to be created
starts no run (apache/airflow#56050), and that day would otherwise wait for the next load.

A manual run can set `as_of` in the DAG params. Without it, and with no asset events, it
computes as of the end of the ingest interval that starts at its logical date: a manual
run for 2026-11-20 gives the marts of the day 2026-11-20, as of 2026-11-21 00:00.

Writes `data/exports/candidates-<as_of>.csv` and `.parquet` for marketers (none for an
as-of without candidates) and, beside them, the HTML report `candidates-<as_of>.html`
(charts inline, opens offline in any browser), then publishes the analyst copy
`data/published/warehouse.duckdb`: a read-only copy of the warehouse file that analysts
query without ever waiting for a run or blocking one (docs/warehouse.md). The
warehouse writes and the publish go through the one-slot pool `radar_warehouse`. On a
DuckLake with a Postgres catalog there is no copy to publish and no one-slot pool:
readers query the last committed snapshot, and the marts of a run appear in one commit.
"""

from __future__ import annotations

from _radar import (
    CAMPAIGN_RESULTS,
    DEFAULT_ARGS,
    START_DATE,
    WAREHOUSE_CORE,
    fail_fast,
    interval_starting_at,
    warehouse_pool,
)
from airflow.sdk import Param, dag, task


@dag(
    dag_id="signals",
    # either load: the day's social data or the day's campaign data
    schedule=(WAREHOUSE_CORE | CAMPAIGN_RESULTS),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["radar", "signals"],
    doc_md=__doc__,
    params={
        "as_of": Param(
            None,
            type=["null", "string"],
            description="compute as of this instant (ISO 8601, UTC); default: the loads",
        )
    },
)
def signals():
    @task
    @fail_fast
    def as_of_times(**context) -> list[str]:
        from transforms.runs import as_of_instants

        extras = [
            event.extra or {}
            for events in context["triggering_asset_events"].values()
            for event in events
        ]
        logical = context.get("logical_date")
        fallback = interval_starting_at(logical)[1] if logical is not None else None
        return as_of_instants(context["params"].get("as_of"), extras, fallback)

    # the as-of instants it computed go on to the exports, with the marts' row counts
    @task(pool=warehouse_pool(), multiple_outputs=True)
    @fail_fast
    def build_signals(as_of: list[str], **context) -> dict:
        from datetime import datetime

        from transforms.runs import build_signals, with_missed_loads

        started_by_loads = any(context["triggering_asset_events"].values())
        if started_by_loads and not context["params"].get("as_of"):
            # a load whose asset event Airflow dropped still gets its marts (see there)
            as_of = with_missed_loads(as_of, ("social_ingest", "campaign_ingest"))
        rows = {}
        for instant in as_of:
            rows = build_signals(datetime.fromisoformat(instant), context["run_id"])
            print(f"signals as of {instant}: {rows.get('marts.candidates', 0)} candidates")
        return {"as_of": as_of, "rows": rows}

    @task
    @fail_fast
    def export(as_of: list[str], built: dict) -> list[str]:
        from datetime import datetime

        from transforms.runs import export_candidates

        # an as-of without candidates writes no file
        return [str(p) for i in as_of for p in export_candidates(datetime.fromisoformat(i))]

    @task
    @fail_fast
    def html_report(as_of: list[str], exported: list[str]) -> list[str]:
        from datetime import datetime

        from transforms.html_report import export_html_report

        written = [export_html_report(datetime.fromisoformat(i)) for i in as_of]
        return [str(path) for path in written if path is not None]

    # its own task, right after the exports: the copy then holds the exported marts, and a
    # publish that fails is retried alone without rebuilding them. The pool keeps every
    # other radar writer out while it holds the warehouse's write lock to copy the file
    @task(pool=warehouse_pool())
    @fail_fast
    def publish(exported: list[str]) -> str | None:
        from transforms.publish import publish_analyst_copy

        published = publish_analyst_copy()
        print(f"analyst copy: {published or 'none (the warehouse is no DuckDB file)'}")
        return str(published.path) if published else None

    @task
    @fail_fast
    def report(as_of: list[str], published: str | None) -> None:
        from datetime import datetime

        from transforms.runs import report

        print(report(datetime.fromisoformat(as_of[-1])))

    built = build_signals(as_of_times())
    as_of = built["as_of"]
    # the HTML report reads the warehouse like the CSV export: before the publish takes
    # its write lock, not beside it
    report(as_of, publish(html_report(as_of, export(as_of, built["rows"]))))


signals()
