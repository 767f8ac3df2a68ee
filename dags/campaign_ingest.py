"""
### campaign_ingest

Campaign terms and what the campaigns returned, into the warehouse (issue #18).

- `load_terms` reads `config/campaigns.yaml` (validated strictly: a typo fails the task at
  once, naming the file and the field) and writes `core.campaigns`, `core.campaign_creators`,
  `core.campaign_tracking`, `core.campaign_brand_handles` and `core.fx_rates`, keeping every
  version: an undated edit holds from this run's data-interval end, a dated one (`from:`)
  from its day.
- `land_exports` reads the exports folder (`RADAR_CAMPAIGN_EXPORTS_DIR`, default the
  recorded `fixtures/campaigns/exports`): `shopify…/` Shopify orders CSVs, `ga4…/` GA4
  CSVs, `short_links…/` click exports. Each export not landed before becomes landing
  Parquet (its rows, and its rejects for `meta.rejects`); it writes no warehouse.
- `load_exports` is the writer (pool `radar_warehouse`): each landing file once, merged on
  the natural key, the newest export winning (a later export with a refund updates the
  order). It marks the asset `radar_campaign_results`.
- `check_run`, the last task, fails the run when an export could not be read (a missing
  column) or a task failed, naming each in `RADAR FAILED` lines first; the other exports
  are loaded by then. Rows with a bad value are rejects, not failures.

The schedule is `RADAR_CAMPAIGN_CRON` (default daily at 00:00 UTC); a run covers the
interval starting at its logical date, as `social_ingest`'s do.
"""

from __future__ import annotations

import os

from _radar import (
    CAMPAIGN_RESULTS,
    DEFAULT_ARGS,
    START_DATE,
    fail_fast,
    run_interval,
    warehouse_pool,
)
from airflow.sdk import CronDataIntervalTimetable, dag, task

CAMPAIGN_CRON = os.environ.get("RADAR_CAMPAIGN_CRON", "0 0 * * *")


@dag(
    dag_id="campaign_ingest",
    schedule=CronDataIntervalTimetable(CAMPAIGN_CRON, timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["radar", "ingest", "campaigns"],
    doc_md=__doc__,
)
def campaign_ingest():
    @task(pool=warehouse_pool())
    @fail_fast
    def load_terms(**context) -> dict:
        from ingest.campaigns.runs import load_campaign_terms

        _, end = run_interval(context, CAMPAIGN_CRON)
        written = load_campaign_terms(end)
        print(f"campaign terms as of {end}: rows rewritten per table {written}")
        return written

    @task
    @fail_fast
    def land_exports() -> dict:
        from ingest.campaigns.runs import land_campaign_exports

        landed = land_campaign_exports()
        print(
            f"exports in {landed['exports_dir']}: {len(landed['landed'])} landed, "
            f"{landed['already_landed']} landed before, {landed['rejects']} reject(s)"
        )
        return landed

    # all_done: a bad config must not keep the orders and clicks out of the warehouse
    @task(trigger_rule="all_done", pool=warehouse_pool(), outlets=[CAMPAIGN_RESULTS])
    @fail_fast
    def load_exports(landed: dict | None, terms: dict | None, **context) -> dict:
        from ingest.campaigns.runs import load_campaign_exports

        start, end = run_interval(context, CAMPAIGN_CRON)
        loaded = load_campaign_exports(context["run_id"], context["dag"].dag_id, start, end)
        context["outlet_events"][CAMPAIGN_RESULTS].extra = {
            "data_interval_end": end.isoformat(),
            "files_loaded": loaded["files_loaded"],
        }
        return loaded

    # the run's last task: its state is the run's, so it fails when anything failed
    @task(trigger_rule="all_done")
    def check_run(terms: dict | None, landed: dict | None, loaded: dict | None, **context):
        from airflow.sdk.exceptions import AirflowFailException

        from ingest.campaigns.runs import run_problems

        problems = run_problems(landed, loaded, terms)
        for problem in problems:  # the causes first, where an alert's reader looks
            print(f"RADAR FAILED {problem}")
        start, end = run_interval(context, CAMPAIGN_CRON)
        print(f"run {context['run_id']}: interval {start} → {end}")
        if loaded:
            print(f"loaded {loaded['files_loaded']} file(s): {loaded['rows']}")
        if problems:
            raise AirflowFailException(f"{len(problems)} problem(s): " + "; ".join(problems))
        return problems

    terms = load_terms()
    landed = land_exports()
    loaded = load_exports(landed, terms)
    check_run(terms, landed, loaded)


campaign_ingest()
