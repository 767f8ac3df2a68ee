"""What the stack tests share: starting and stopping a stack for a module, the REST API,
the in-process reference runs and the feeds they replay."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import psutil

from ops import stack as ops_stack
from tests.helpers.paths import DEMO_FEED, ROOT
from tests.helpers.warehouse_helpers import MARTS, load_dag

DEMO_DAY = datetime(2026, 11, 20, tzinfo=UTC)
RUN_TIMEOUT = 300.0
STACK_ENV = {
    # a task whose worker died is failed and retried within seconds, not minutes
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
    "RADAR_RETRY_DELAY_SECONDS": "1",
}


def demo_and_synthetic_feed(out: Path, synthetic: Path, days: list[datetime]) -> Path:
    """The demo feed (2026-11-20) and a small synthetic world of ``days`` in one feed dir
    ``out``: the stack's workers read one RADAR_FEED_DIR for the whole test."""
    subprocess.run(
        [sys.executable, "-m", "synthetic", "--seed", "11", "--accounts", "80",
         "--days", str(len(days)), "--start", days[0].date().isoformat(),
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
        """Wait until nothing runs or waits to run, three times in a row two seconds apart.
        Quiet is not done: a load's asset event can start no signals run at all (see
        ``settle_after_signals``)."""
        deadline, quiet = time.monotonic() + timeout, 0
        while quiet < 3:
            assert time.monotonic() < deadline, "the stack did not settle"
            quiet = 0 if self.busy() else quiet + 1
            time.sleep(2)

    def settle_after_signals(self, days: list[datetime], timeout: float = RUN_TIMEOUT) -> None:
        """Wait until a successful signals run has computed the as-of at the end of each of
        ``days``, then ``settle``. Quiet checks alone are not enough: an asset event that
        arrives while a signals run waits to be created starts no run (apache/airflow#56050),
        so the stack goes quiet with that day's marts missing until a later run catches it
        up (``transforms.runs.with_missed_loads``); twice in fresh-clone CI runs, a
        backfill's last day was missing when a test compared after quiet checks."""
        wanted = {(day + timedelta(days=1)).astimezone(UTC) for day in days}
        deadline = time.monotonic() + timeout
        while True:
            runs = signals_runs(self)
            done = {
                datetime.fromisoformat(instant).astimezone(UTC)
                for _, state, _, instants in runs
                if state == "success" and isinstance(instants, list)
                for instant in instants
            }
            if wanted <= done:
                break
            missing = sorted(str(t) for t in wanted - done)
            assert time.monotonic() < deadline, f"no signals run as of {missing}: {runs}"
            time.sleep(2)
        self.settle(timeout)


@contextmanager
def running_stack(
    data_dir: Path,
    feed: Path,
    warehouse: str = "file",
    extra_env: dict[str, str] | None = None,
    workers: int = 2,
    meanwhile: Callable[[], object] | None = None,
) -> Iterator[dict]:
    """A Celery stack (``workers`` workers of 2 slots, ``social_ingest`` and ``signals``
    unpaused) as ``make airflow-celery`` (``--warehouse lake``: ``make
    airflow-celery-lake``) starts it, for the length of the block; then stopped by PID,
    and no process of it may be left. ``meanwhile`` runs in this thread while the stack
    starts in another (its result: ``info["meanwhile"]``)."""
    # not under pytest's 0700 base: the Postgres user must reach its data dir
    state_dir = Path(tempfile.mkdtemp(prefix="radar-stack-"))
    env = {**STACK_ENV, "RADAR_DATA_DIR": str(data_dir), "RADAR_FEED_DIR": str(feed)}
    config = ops_stack.StackConfig(
        mode="celery",
        state_dir=state_dir,
        workers=workers,
        worker_concurrency=2,
        unpause=("social_ingest", "signals"),
        extra_env={**env, **(extra_env or {})},
        timeout=180,
        quiet=True,
        warehouse=warehouse,
    )
    started, done = time.monotonic(), None
    try:
        with ThreadPoolExecutor(1) as pool:
            starting = pool.submit(ops_stack.start, config)
            try:
                done = meanwhile() if meanwhile else None
            finally:
                info = starting.result()
        print(f"stack up in {time.monotonic() - started:.0f}s")
        yield {
            **info,
            "state_dir": state_dir,
            "warehouse": data_dir / "warehouse.duckdb",
            "meanwhile": done,
        }
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


def reference_runner(data_dir: Path, feed: Path) -> Callable[[datetime], Path]:
    """Runs a day in-process, as ``make demo`` does: ``social_ingest`` then ``signals``,
    each a ``dag.test()`` with the day as logical date, into the DuckDB file of
    ``data_dir`` (the test session's SQLite metadata DB: take the ``airflow_db`` fixture)."""

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


def failure_lines(state_dir: Path, dag_id: str, run_id: str) -> list[str]:
    """The ``RADAR FAILED`` lines of a run's task logs, for an assertion's message: the
    stack's logs go with its state dir when the module ends."""
    logs = (
        ops_stack.Paths(state_dir).airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
    )
    found = []
    for log in sorted(logs.glob("task_id=*/**/attempt=*.log")):
        for line in log.read_text(errors="replace").splitlines():
            try:
                event = str(json.loads(line).get("event", ""))
            except (ValueError, AttributeError):
                event = line
            if "RADAR FAILED" in event:
                found.append(event[:600])
    return found


def signals_runs(api: Api) -> list[tuple]:
    """Each signals run: its id, state, its loads' interval ends and the as-of instants it
    computed (its loads', and any load's whose asset event started no run)."""
    found = []
    for run in api.runs("signals"):
        quoted = urllib.parse.quote(run["dag_run_id"])
        path = f"/dags/signals/dagRuns/{quoted}/taskInstances/build_signals/xcomEntries/as_of"
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
