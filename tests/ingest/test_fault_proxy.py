"""A live Mastodon extract through a fault-injecting proxy on 127.0.0.1: every page lands
once, none is lost, and no request goes out inside a ``Retry-After`` or rate-limit window.

The client runs with compressed time (a 0.3 s timeout, 20 ms backoff, ``Retry-After`` of
10–40 ms) so a CI-sized run injects over a thousand faults in about a minute. A batch that
runs out of attempts is retried as Airflow retries a task: the next try resumes from the
pages the former tries archived. ``RADAR_FAULT_ACCOUNTS`` makes the run longer (a soak).
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from ingest.connector import LiveBatch, TaskContext
from ingest.http import RetriesExhausted
from ingest.live_source import Sources, extract_live
from ingest.loader import load_pending
from ingest.pages import read_pages
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from tests.helpers.fault_proxy import INSTANCE, NEWEST, FakeMastodon, FaultProxy
from tests.helpers.warehouse_helpers import query

pytestmark = pytest.mark.slow

ACCOUNTS = int(os.environ.get("RADAR_FAULT_ACCOUNTS", "48"))
PAGES = 25
MIN_FAULTS = 1000 * ACCOUNTS // 48


def _extract_until_done(args: dict, proxy: FaultProxy) -> int:
    """Tries of the task until one succeeds, as Airflow's retries would; returns the try."""
    for attempt in range(1, 500):
        try:
            extract_live(
                args["sources"],
                args["batch"],
                args["data_dir"],
                TaskContext(**args["task"], attempt=attempt),
                timeout=0.3,
                backoff_max=0.02,
                max_attempts=5,
            )
            return attempt
        except RetriesExhausted:
            continue
    raise AssertionError(f"no try succeeded; faults so far {dict(proxy.faults)}")


def test_a_thousand_faults_lose_and_double_no_page_and_no_request_jumps_a_window(
    tmp_path: Path, radar_env: Path
):
    # 40 requests per 0.25 s: the walk runs into the limit many times over
    with FakeMastodon(ACCOUNTS, PAGES, limit=40, window=0.25) as upstream:
        with FaultProxy(upstream, rate=0.5, seed=11, stall=0.5) as proxy:
            upstream.public_url = proxy.url
            accounts = [f"u{i}@{INSTANCE}" for i in range(ACCOUNTS)]
            sources = Sources.model_validate(
                {"mastodon": {"accounts": accounts, "instance_urls": {INSTANCE: proxy.url}}}
            )
            args = dict(
                sources=sources,
                batch=LiveBatch(
                    platform="mastodon",
                    accounts=accounts,
                    since={a: NEWEST - timedelta(days=60) for a in accounts},
                ),
                data_dir=radar_env,
                task=dict(
                    interval_start=NEWEST - timedelta(hours=6),
                    interval_end=NEWEST + timedelta(hours=18),
                    run_id="scheduled__2026-11-20",
                    task="extract_mastodon-0",
                ),
            )
            final_try = _extract_until_done(args, proxy)

    faults = sum(proxy.faults.values())
    print(f"faults {faults} {dict(proxy.faults)}; requests {proxy.requests}; tries {final_try}")
    assert faults >= MIN_FAULTS
    assert len(proxy.faults) == 9  # every kind of fault was injected
    assert proxy.inside_retry_after == 0
    assert upstream.over_limit == 0  # the client waited out every spent window

    # the final try's archive holds every page of the walk exactly once
    pages = Counter(
        page.url
        for path in (radar_env / "raw" / "mastodon" / "account_statuses").rglob(
            f"*-try{final_try}.jsonl.gz"
        )
        for page in read_pages(path)
    )
    assert len(pages) == ACCOUNTS * PAGES and set(pages.values()) == {1}

    settings = RadarSettings()
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        load_pending(conn, settings.data_dir, "scheduled__2026-11-20")
    uris = query(settings.warehouse, "select post_id from core.posts")
    loaded = {uri.rsplit("/", 1)[1] for (uri,) in uris}
    assert loaded == upstream.expected_post_ids()  # nothing lost
    assert len(uris) == len(loaded)  # nothing doubled
    assert query(settings.warehouse, "select count(*) from meta.rejects") == [(0,)]
