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

- `check_discovery` fails the run, naming them, when discover batches failed.

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
    WAREHOUSE_POOL,
    check_batches,
    credentials,
    per_platform,
)
from airflow.sdk import CronDataIntervalTimetable, dag, task


@dag(
    dag_id="niche_discovery",
    # whole UTC days, as social_ingest: a sighting counts for the day it was made
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["radar", "discovery"],
    doc_md=__doc__,
)
def niche_discovery():
    @task
    def plan(platform: str, **context) -> list[dict]:
        from ingest.runs import plan_discovery

        return plan_discovery(
            context["data_interval_start"], context["data_interval_end"], [platform]
        )

    @task
    def discover(batch: dict, **context) -> dict:
        from ingest.runs import extract

        return extract(
            batch,
            context["data_interval_start"],
            context["run_id"],
            f"{context['ti'].task_id}-{context['ti'].map_index}",
            context["data_interval_end"],
            credentials(batch),
            context["ti"].try_number,
        )

    @task(trigger_rule="all_done", pool=WAREHOUSE_POOL)
    def load(discovered: list, **context) -> dict:
        from ingest.runs import load

        return load(
            context["run_id"],
            context["dag"].dag_id,
            context["data_interval_start"],
            context["data_interval_end"],
        )

    @task(pool=WAREHOUSE_POOL)
    def queue_accounts(loaded: dict, **context) -> int:
        from ingest.runs import queue_discovered

        return queue_discovered(context["run_id"], context["data_interval_end"])

    @task(trigger_rule="all_done")
    def check_discovery(planned: list, discovered: list) -> None:
        check_batches(planned, discovered)

    # per platform, so each takes its own pool: the one social_ingest's extracts take
    planned, discovered = per_platform(plan, discover, "discover")
    queue_accounts(load(discovered)) >> check_discovery(planned, discovered)


niche_discovery()
