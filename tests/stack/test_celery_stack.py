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

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import psutil
import pytest
from conftest import DEMO_FEED, ROOT
from warehouse_helpers import CORE, MARTS, load_dag, table_contents

from ops import stack as ops_stack

pytestmark = pytest.mark.stack

DEMO_DAY = datetime(2026, 11, 20, tzinfo=UTC)
# after every START_DATE the DAGs have had, before the demo day
SYNTHETIC_DAYS = [datetime(2026, 10, d, tzinfo=UTC) for d in (2, 3, 4, 5)]
BACKFILL_DAYS, KILL_DAY = SYNTHETIC_DAYS[:3], SYNTHETIC_DAYS[3]
RUN_TIMEOUT = 300.0
STACK_ENV = {
    # a task whose worker died is failed and retried within seconds, not minutes
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
    "RADAR_RETRY_DELAY_SECONDS": "1",
}


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo feed (2026-11-20) and a small synthetic world (2026-10-02 to 10-05) in one
    feed dir: the stack's workers read one RADAR_FEED_DIR for the whole test."""
    out = tmp_path_factory.mktemp("feed")
    synthetic = tmp_path_factory.mktemp("synthetic") / "world"
    subprocess.run(
        [sys.executable, "-m", "ingest.synthetic", "--seed", "11", "--accounts", "80",
         "--days", str(len(SYNTHETIC_DAYS)), "--start", SYNTHETIC_DAYS[0].date().isoformat(),
         "--out", str(synthetic), "--quiet"],
        check=True, cwd=ROOT, capture_output=True,
    )  # fmt: skip
    shutil.copytree(DEMO_FEED, out, dirs_exist_ok=True)
    for platform in ("mastodon", "bluesky"):
        shutil.copytree(synthetic / platform, out / platform, dirs_exist_ok=True)
    return out


class Api:
    def __init__(self, url: str):
        self.base = f"{url}/api/v2"

    def get(self, path: str, **params) -> dict:
        query = urllib.parse.urlencode(params, doseq=True)
        return ops_stack.http_json(f"{self.base}{path}{'?' + query if query else ''}")

    def post(self, path: str, body: dict) -> dict:
        return ops_stack.http_json(f"{self.base}{path}", "POST", body)

    def trigger(self, dag_id: str, day: datetime) -> str:
        run = self.post(f"/dags/{dag_id}/dagRuns", {"logical_date": day.isoformat()})
        return run["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.get(f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}")["state"]

    def runs(self, dag_id: str, **filters) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", limit=100, **filters)["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances"
        return self.get(path, limit=200)["task_instances"]

    def busy(self) -> bool:
        """A run of either DAG queued or running, or an asset event waiting for signals."""
        for dag_id in ("social_ingest", "signals"):
            if self.runs(dag_id, state=["queued", "running"]):
                return True
        return self.get("/dags/signals/assets/queuedEvents")["total_entries"] > 0

    def settle(self, timeout: float = RUN_TIMEOUT) -> None:
        """Wait until nothing runs or waits to run, twice in a row."""
        deadline, quiet = time.monotonic() + timeout, 0
        while quiet < 2:
            assert time.monotonic() < deadline, "the stack did not settle"
            quiet = 0 if self.busy() else quiet + 1
            time.sleep(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, feed: Path) -> Iterator[dict]:
    """The Celery stack for the whole module; stopped by PID at the end, and then no
    process of it may be left."""
    # not under pytest's 0700 base: the Postgres user must reach its data dir
    state_dir = Path(tempfile.mkdtemp(prefix="radar-stack-"))
    data_dir = tmp_path_factory.mktemp("stack") / "data"
    env = {**STACK_ENV, "RADAR_DATA_DIR": str(data_dir), "RADAR_FEED_DIR": str(feed)}
    config = ops_stack.StackConfig(
        mode="celery",
        state_dir=state_dir,
        workers=2,
        worker_concurrency=2,
        unpause=("social_ingest", "signals"),
        extra_env=env,
        timeout=180,
        quiet=True,
    )
    started = time.monotonic()
    try:
        info = ops_stack.start(config)
        print(f"stack up in {time.monotonic() - started:.0f}s")
        yield {**info, "state_dir": state_dir, "warehouse": data_dir / "warehouse.duckdb"}
    finally:
        seen = stack_processes(state_dir)
        ops_stack.stop(state_dir, quiet=True)
        left = wait_gone(seen, state_dir)
        shutil.rmtree(state_dir, ignore_errors=True)
        assert not left, f"processes left behind: {left}"


def stack_processes(state_dir: Path) -> list[psutil.Process]:
    """Every process of the stack: the services' trees, and any process started with its
    Airflow home or naming its state dir (a task process a killed worker orphaned)."""
    found = {}
    for pid in ops_stack.live_pids(ops_stack.Paths(state_dir)).values():
        found.update({p.pid: p for p in ops_stack._process_tree(pid)})
    home = str(ops_stack.Paths(state_dir).airflow_home)
    for process in psutil.process_iter():
        try:
            if str(state_dir) in " ".join(process.cmdline()) or (
                process.environ().get("AIRFLOW_HOME") == home
            ):
                found[process.pid] = process
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return list(found.values())


def wait_gone(processes: list[psutil.Process], state_dir: Path) -> list[str]:
    _, alive = psutil.wait_procs(processes, timeout=10)
    alive += [p for p in stack_processes(state_dir) if p not in alive]
    return [f"{p.pid} {p.name()}" for p in alive if p.is_running()]


@contextmanager
def radar_env(data_dir: Path, feed: Path) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("RADAR_DATA_DIR", "RADAR_FEED_DIR")}
    os.environ.update(RADAR_DATA_DIR=str(data_dir), RADAR_FEED_DIR=str(feed))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, feed: Path, airflow_db: Path):
    """Runs a day in-process, as ``make demo`` does: ``social_ingest`` then ``signals``,
    each a ``dag.test()`` with the day as logical date, into its own warehouse."""
    data_dir = tmp_path_factory.mktemp("reference") / "data"

    def run_day(day: datetime) -> Path:
        with radar_env(data_dir, feed):
            for dag_id in ("social_ingest", "signals"):
                run = load_dag(dag_id).test(logical_date=day)
                assert str(run.state) == "success", f"in-process {dag_id} {day:%Y-%m-%d}"
        return data_dir / "warehouse.duckdb"

    return run_day


def marts_as_of(warehouse: Path, days: list[datetime]) -> dict[str, list]:
    """Every mart's rows as of the end of each day, sorted, load_id left out."""
    ends = [(day + timedelta(days=1)).replace(tzinfo=None) for day in days]
    contents = {}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        for table in MARTS:
            columns = [r[0] for r in conn.execute(f"describe {table}").fetchall()]
            listed = ", ".join(c for c in columns if c != "load_id")
            marks = ", ".join("?" for _ in ends)
            rows = conn.execute(f"select {listed} from {table} where as_of in ({marks})", ends)
            contents[table] = sorted(map(repr, rows.fetchall()))
    return contents


def wait_run(api: Api, dag_id: str, run_id: str) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT
    while (state := api.run_state(dag_id, run_id)) not in ("success", "failed"):
        assert time.monotonic() < deadline, f"{dag_id} {run_id} still {state}"
        time.sleep(1)
    return state


def signals_runs(api: Api) -> list[tuple]:
    """Each signals run: its id, state and the as-of instants it computed, for messages."""
    found = []
    for run in api.runs("signals"):
        quoted = urllib.parse.quote(run["dag_run_id"])
        path = f"/dags/signals/dagRuns/{quoted}/taskInstances/as_of_times/xcomEntries/return_value"
        try:
            as_of = api.get(path).get("value")
        except Exception as exc:  # no XCom: the task did not get that far
            as_of = repr(exc)
        events = api.get(f"/dags/signals/dagRuns/{quoted}/upstreamAssetEvents")
        ends = [e["extra"].get("data_interval_end") for e in events["asset_events"]]
        found.append((run["dag_run_id"], run["state"], ends, as_of))
    return found


def assert_every_signals_run_succeeded(api: Api) -> None:
    states = {r["dag_run_id"]: r["state"] for r in api.runs("signals")}
    assert states and set(states.values()) == {"success"}, states


def test_a_triggered_run_then_signals_from_its_asset_equal_dag_test(stack, reference):
    api = Api(stack["url"])
    run_id = api.trigger("social_ingest", DEMO_DAY)
    assert wait_run(api, "social_ingest", run_id) == "success"
    api.settle()
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
    api.settle()
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
