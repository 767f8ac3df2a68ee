"""The real DAG, run in-process with dag.test() on the bundled demo feed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from warehouse_helpers import CORE_AND_MARTS, load_social_radar, query, table_contents

from ingest.settings import RadarSettings

LOGICAL_DATE = datetime(2026, 11, 21, tzinfo=UTC)  # data interval [11-20, 11-21)


def _run(dag) -> str:
    dag_run = dag.test(logical_date=LOGICAL_DATE)
    return str(dag_run.state)


@pytest.fixture(scope="module")
def dag(airflow_db):
    return load_social_radar("social_radar_dag")


def test_demo_run_succeeds_and_ranks_candidates(dag, radar_env: Path):
    assert _run(dag) == "success"
    warehouse = RadarSettings().warehouse
    scopes = dict(query(warehouse, "select scope, count(*) from marts.candidates group by 1"))
    assert set(scopes) >= {"plant_based_cooking", "sourdough_baking", "houseplants", "green_oven"}
    (interval,) = query(
        warehouse,
        "select data_interval_start, data_interval_end, transformed_at is not null from meta.runs",
    )
    assert interval == (datetime(2026, 11, 20), datetime(2026, 11, 21), True)


def test_malformed_records_are_rejected_and_the_run_still_succeeds(dag, radar_env: Path):
    assert _run(dag) == "success"
    rejects = query(
        RadarSettings().warehouse,
        "select platform, entity, source_path, reason from meta.rejects order by 1, 2",
    )
    entities = {(platform, entity) for platform, entity, _, _ in rejects}
    assert {("mastodon", "posts"), ("bluesky", "posts"), ("mastodon", "page")} <= entities
    assert all(path.startswith("demo/") and reason for _, _, path, reason in rejects)


def test_running_the_same_interval_twice_changes_no_core_or_mart_table(dag, radar_env: Path):
    assert _run(dag) == "success"
    warehouse = RadarSettings().warehouse
    first = table_contents(warehouse, CORE_AND_MARTS)
    assert all(first[t] for t in CORE_AND_MARTS), "every table should have rows"
    assert _run(dag) == "success"
    assert table_contents(warehouse, CORE_AND_MARTS) == first
    assert query(warehouse, "select count(*) from meta.runs") == [(2,)]
