"""The real Airflow 3 Celery stack on 127.0.0.1: embedded Postgres, a Redis broker, the
api-server, scheduler, dag-processor, triggerer and two Celery workers, started by
``ops.stack`` as ``make airflow-celery`` does. What it runs must equal what the in-process
``dag.test()`` path writes, through a manual run, a backfill and a worker killed mid-task.

A date names the day of data (the data interval start): a run with logical date D ingests
D → D+1, whether triggered, backfilled or run in-process, and its signals are as of D+1.

The stack writes to one warehouse; the reference runs the same days in the same order
in-process in another, on the same feed (the demo feed and a small synthetic world side
by side), and tables are compared row for row. The stack's own scheduled run of
yesterday (the wall clock's) finds no recordings and loads nothing; its signals rows
carry another as-of and are left out of the comparison.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ops import stack as ops_stack
from tests.helpers.stack_helpers import (
    DEMO_DAY,
    RUN_TIMEOUT,
    Api,
    assert_every_signals_run_succeeded,
    demo_and_synthetic_feed,
    marts_as_of,
    reference_runner,
    running_stack,
    signals_runs,
    wait_run,
)
from tests.helpers.warehouse_helpers import CORE, table_contents

pytestmark = pytest.mark.stack

# after every START_DATE the DAGs have had, before the demo day
SYNTHETIC_DAYS = [datetime(2026, 10, d, tzinfo=UTC) for d in (2, 3, 4, 5)]
BACKFILL_DAYS, KILL_DAY = SYNTHETIC_DAYS[:3], SYNTHETIC_DAYS[3]


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo feed (2026-11-20) and a small synthetic world (2026-10-02 to 10-05)."""
    return demo_and_synthetic_feed(
        tmp_path_factory.mktemp("feed"),
        tmp_path_factory.mktemp("synthetic") / "world",
        SYNTHETIC_DAYS,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, feed: Path) -> Iterator[dict]:
    """The Celery stack for the whole module; stopped by PID at the end, and then no
    process of it may be left."""
    with running_stack(tmp_path_factory.mktemp("stack") / "data", feed) as info:
        yield info


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, feed: Path, airflow_db: Path):
    """Runs a day in-process, as ``make demo`` does, into its own warehouse."""
    return reference_runner(tmp_path_factory.mktemp("reference") / "data", feed)


def test_a_triggered_run_then_signals_from_its_asset_equal_dag_test(stack, reference):
    api = Api(stack["url"])
    run_id = api.trigger("social_ingest", DEMO_DAY)
    assert wait_run(api, "social_ingest", run_id) == "success"
    api.settle_after_signals([DEMO_DAY])
    assert_every_signals_run_succeeded(api)

    expected = reference(DEMO_DAY)
    ours = marts_as_of(stack["warehouse"], [DEMO_DAY])
    assert ours["marts.candidates"], "no candidates as of the demo day's end"
    assert ours == marts_as_of(expected, [DEMO_DAY])
    assert table_contents(stack["warehouse"], CORE) == table_contents(expected, CORE)


def test_a_backfill_equals_three_daily_runs(stack, reference):
    """One day at a time, oldest first, as the daily runs went. Without --max-active-runs
    a backfill runs up to 10 at once: the DAG's max_active_runs=1 does not hold it back."""
    api = Api(stack["url"])
    first, last = BACKFILL_DAYS[0].date().isoformat(), BACKFILL_DAYS[-1].date().isoformat()
    backfill = subprocess.run(
        [sys.executable, "-m", "airflow", "backfill", "create", "--dag-id", "social_ingest",
         "--from-date", first, "--to-date", last, "--max-active-runs", "1"],
        env=ops_stack.stack_env(stack["state_dir"]), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr
    api.settle()
    backfilled = [r for r in api.runs("social_ingest") if r["run_type"] == "backfill"]
    assert sorted(r["logical_date"][:10] for r in backfilled) == [
        d.date().isoformat() for d in BACKFILL_DAYS
    ]
    assert {r["state"] for r in backfilled} == {"success"}
    api.settle_after_signals(BACKFILL_DAYS)
    assert_every_signals_run_succeeded(api)

    for day in BACKFILL_DAYS:
        expected = reference(day)
    ours = marts_as_of(stack["warehouse"], BACKFILL_DAYS)
    assert all(ours[t] for t in ("marts.candidates", "marts.account_engagement"))
    assert ours == marts_as_of(expected, BACKFILL_DAYS), signals_runs(api)
    assert table_contents(stack["warehouse"], CORE) == table_contents(expected, CORE)


def kill_worker_running_an_extract(api: Api, state_dir: Path, run_id: str) -> dict:
    """SIGKILL, as a machine loss would, the whole process tree of the Celery worker that
    runs an extract task of the run, while it runs. Returns that task instance."""
    paths = ops_stack.Paths(state_dir)
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        for ti in api.task_instances("social_ingest", run_id):
            if not (ti["task_id"].startswith("extract_") and ti["state"] == "running"):
                continue
            for name, pid in ops_stack.live_pids(paths).items():
                is_worker = name.split("-", 1)[1].startswith("worker-")
                if is_worker and ti["pid"] in {p.pid for p in ops_stack._process_tree(pid)}:
                    ops_stack.kill_service(pid, signal.SIGKILL)
                    return ti
        time.sleep(0.2)
    raise AssertionError("no extract task was seen running")


def test_a_worker_killed_mid_extract_loses_and_duplicates_nothing(stack, reference):
    api = Api(stack["url"])
    run_id = api.trigger("social_ingest", KILL_DAY)
    killed = kill_worker_running_an_extract(api, stack["state_dir"], run_id)
    assert wait_run(api, "social_ingest", run_id) == "success"
    api.settle_after_signals([KILL_DAY])
    assert_every_signals_run_succeeded(api)
    retried = [
        ti
        for ti in api.task_instances("social_ingest", run_id)
        if (ti["task_id"], ti["map_index"]) == (killed["task_id"], killed["map_index"])
    ]
    assert retried[0]["try_number"] >= 2 and retried[0]["state"] == "success"

    expected = reference(KILL_DAY)
    assert table_contents(stack["warehouse"], CORE) == table_contents(expected, CORE)
    assert marts_as_of(stack["warehouse"], [KILL_DAY]) == marts_as_of(expected, [KILL_DAY])
