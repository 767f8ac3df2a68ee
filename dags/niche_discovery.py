"""
### niche_discovery

Find accounts worth tracking, by each niche's hashtags and keywords (`config/niches.yaml`):
Mastodon hashtag timelines and account search on the instances in
`config/sources.yaml: discovery`, and Bluesky account search (post search with a
session) when enabled there. In fixture mode it replays the recorded discovery pages.

- `plan_<platform>` and a mapped `discover_<platform>` per platform (pool
  `radar_<platform>`): one sighting per account and term (`core.account_discoveries`).
- `load`: the single writer merges the sightings.
- `queue_accounts`: queues the best new accounts per niche in `meta.tracking_queue`.
  Accounts in the micro follower band come first, then those with the most sightings.

Live `social_ingest` runs track the queue beside the configured accounts.

- `check_run` logs the run's summary and fails the run, naming them, when any plan,
  discover batch, load or queueing failed.

Caps keep discovery from eating the quota or flooding the tracked set:
`max_tags_per_niche`, `max_keywords_per_niche`, `max_pages_per_tag` and
`max_new_accounts_per_niche`, plus each platform's own (`youtube.max_search_pages_per_term`
at 100 units a page, `tiktok.max_pages_per_term`, `instagram.max_candidates_per_run`). A
run costs at most (tags + keywords) × pages requests per Mastodon instance and platform,
and each discover task takes a slot of the platform's pool, the one `social_ingest` uses.
"""

from __future__ import annotations

from _radar import (
    DEFAULT_ARGS,
    START_DATE,
    extract_batch,
    fail_fast,
    per_platform,
    run_interval,
    summarize_run,
    to_xcom,
    warehouse_pool,
)
from airflow.sdk import CronDataIntervalTimetable, dag, task

# whole UTC days, as social_ingest: a sighting counts for the day it was made
CRON = "0 0 * * *"


@dag(
    dag_id="niche_discovery",
    schedule=CronDataIntervalTimetable(CRON, timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["radar", "discovery"],
    doc_md=__doc__,
)
def niche_discovery():
    @task
    @fail_fast
    def plan(platform: str, **context) -> list[dict]:
        from ingest.runs import plan_discovery

        return to_xcom(plan_discovery(*run_interval(context, CRON), [platform]))

    @task
    @fail_fast
    def discover(batch: dict, **context) -> dict:
        return extract_batch(batch, context, CRON)

    @task(trigger_rule="all_done", pool=warehouse_pool())
    @fail_fast
    def load(discovered: list, **context) -> dict:
        from ingest.runs import load

        return load(context["run_id"], context["dag"].dag_id, *run_interval(context, CRON))

    @task(pool=warehouse_pool())
    @fail_fast
    def queue_accounts(loaded: dict, **context) -> int:
        from ingest.runs import queue_discovered

        return queue_discovered(context["run_id"], run_interval(context, CRON)[1])

    # the run's last task: its state is the run's, so it fails when anything failed
    @task(trigger_rule="all_done")
    def check_run(planned: list, discovered: list, loaded: dict | None, **context) -> list[str]:
        return summarize_run(context, planned, discovered, loaded, work_name="discover")

    # per platform, so each takes its own pool: the one social_ingest's extracts take
    planned, discovered = per_platform(plan, discover, "discover")
    loaded = load(discovered)
    queue_accounts(loaded) >> check_run(planned, discovered, loaded)


niche_discovery()
