"""The Celery stack on a DuckLake, as ``make airflow-celery-lake`` starts it: the
warehouse's catalog is the database ``radar_lake`` on the stack's own Postgres, its
Parquet files under the data dir, and every Airflow process reaches it through
``RADAR_WAREHOUSE=ducklake:postgres:…`` and ``PGPASSWORD``.

The scheduler and two Celery workers run ``social_ingest`` for the demo day, each
platform loading in its own ``load_<platform>`` task side by side, and then ``signals``
from its asset. Meanwhile an analyst, a process of its own attached read-only the way
the banner says (``eval "$(python -m ops.stack lake-env)"``), queries
``marts.candidates`` in a loop. The lake's core and marts then equal the in-process
``dag.test()`` run of the same feed on a DuckDB file.

When it is unpaused, the stack's ``social_ingest`` makes its scheduled run of yesterday
(the wall clock's), which finds no recordings, and ``signals`` runs on that: it creates
the lake's marts, empty. The test waits for both before it starts the analyst, so the
analyst reads marts that exist from its first query to its last, as on any lake after
its first run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from itertools import combinations
from pathlib import Path

import pytest

from ops import stack as ops_stack
from radar.warehouse import Lake, connect
from tests.helpers.paths import DEMO_FEED, ROOT
from tests.helpers.stack_helpers import (
    DEMO_DAY,
    RUN_TIMEOUT,
    Api,
    assert_every_signals_run_succeeded,
    failure_lines,
    reference_runner,
    running_stack,
    wait_run,
)
from tests.helpers.warehouse_helpers import CORE, MARTS, table_contents

pytestmark = pytest.mark.stack

HERE = Path(__file__).parent
PLATFORMS = ["mastodon", "bluesky", "youtube", "instagram", "tiktok"]


@pytest.fixture(scope="module")
def lake_stack(request, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The lake stack; while it starts, the test session's SQLite metadata DB for the
    in-process reference (``airflow_db``: subprocesses only, so this process's
    environment, which the starting stack copies, stays as it is)."""
    data_dir = tmp_path_factory.mktemp("lake-stack") / "data"

    def metadata_db() -> Path:
        return request.getfixturevalue("airflow_db")

    with running_stack(data_dir, DEMO_FEED, warehouse="lake", meanwhile=metadata_db) as info:
        yield info


def stack_command(state_dir: Path, *args: str) -> str:
    return f"{sys.executable} -m ops.stack --state-dir {state_dir} {' '.join(args)}"


def password(info: dict) -> str:
    return Path(info["lake"]["password_file"]).read_text().strip()


def the_lake(info: dict) -> Lake:
    """The stack's lake for this test process, the password given inline (a Lake prints
    it redacted): the test's own environment stays free of PGPASSWORD."""
    catalog = f"{info['lake']['catalog']} password={password(info)}"
    return Lake(catalog, info["lake"]["data_path"])


def wait_for_the_scheduled_run(api: Api, state_dir: Path) -> None:
    """The scheduled run that unpausing makes, then the signals run on its asset event."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        scheduled = [r for r in api.runs("social_ingest") if r["run_type"] == "scheduled"]
        if scheduled and all(r["state"] in ("success", "failed") for r in scheduled):
            break
        assert time.monotonic() < deadline, f"no scheduled run finished: {scheduled}"
        time.sleep(1)
    for run in scheduled:
        failures = failure_lines(state_dir, "social_ingest", run["dag_run_id"])
        assert run["state"] == "success", f"{run['dag_run_id']} {run['state']}: {failures}"
    api.settle()


@pytest.fixture(scope="module")
def lake_run(lake_stack: dict, tmp_path_factory: pytest.TempPathFactory):
    """The demo day through the lake stack, with an analyst querying throughout, and the
    same day in-process on a DuckDB file (run while the stack makes its scheduled run)."""
    api, state_dir = Api(lake_stack["url"]), lake_stack["state_dir"]
    started = time.monotonic()
    reference_dir = tmp_path_factory.mktemp("reference") / "data"
    reference = reference_runner(reference_dir, DEMO_FEED)(DEMO_DAY)
    print(f"reference (dag.test) done after {time.monotonic() - started:.0f}s")
    wait_for_the_scheduled_run(api, state_dir)
    with connect(the_lake(lake_stack), read_only=True) as conn:
        assert conn.execute("select count(*) from marts.candidates").fetchone() == (0,)
    print(f"scheduled run and its signals done after {time.monotonic() - started:.0f}s")

    out = tmp_path_factory.mktemp("analyst")
    stop, log, errors = out / "stop", out / "rounds.jsonl", out / "stderr.txt"
    # the analyst's shell, as the banner tells it: nothing but the lake's three settings
    # from lake-env on top of a plain environment
    analyst = subprocess.Popen(
        ["bash", "-c", f'eval "$({stack_command(state_dir, "lake-env")})" && '
         f'exec {sys.executable} {HERE / "lake_analyst_driver.py"} {stop}'],
        stdout=log.open("w"), stderr=errors.open("w"), cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(out)},
    )  # fmt: skip
    try:
        # its first round, before anything of the demo day is there
        deadline = time.monotonic() + 60
        while not log.read_text().strip():
            assert analyst.poll() is None, errors.read_text()
            assert time.monotonic() < deadline, "the analyst never finished a round"
            time.sleep(0.2)
        run_id = api.trigger("social_ingest", DEMO_DAY)
        state = wait_run(api, "social_ingest", run_id)
        api.settle()
        print(f"demo day and its signals done after {time.monotonic() - started:.0f}s")
    finally:
        stop.touch()
        try:
            analyst.wait(timeout=60)
        except subprocess.TimeoutExpired:
            analyst.kill()
            analyst.wait()
    rounds = [json.loads(line) for line in log.read_text().splitlines()]
    return {
        "run_id": run_id,
        "state": state,
        "reference": reference,
        "analyst": (analyst.returncode, rounds, errors.read_text()),
    }


def test_the_lake_stack_runs_the_demo_day_and_its_signals(lake_stack, lake_run):
    api = Api(lake_stack["url"])
    failures = failure_lines(lake_stack["state_dir"], "social_ingest", lake_run["run_id"])
    assert lake_run["state"] == "success", failures
    assert_every_signals_run_succeeded(api)
    signals = [r for r in api.runs("signals") if r["state"] == "success"]
    assert len(signals) == 2  # the scheduled run's and the demo day's


def test_each_platform_loaded_in_its_own_task(lake_stack, lake_run):
    api = Api(lake_stack["url"])
    tis = {ti["task_id"]: ti for ti in api.task_instances("social_ingest", lake_run["run_id"])}
    loads = [tis.get(f"load_{p}") for p in PLATFORMS]
    assert all(ti is not None and ti["state"] == "success" for ti in loads), loads
    assert {ti["pool"] for ti in loads} == {"radar_lake_load"}
    assert tis["load"]["state"] == "success"  # the task that records the run
    for platform in PLATFORMS:
        path = (
            f"/dags/social_ingest/dagRuns/{lake_run['run_id']}/taskInstances/"
            f"load_{platform}/xcomEntries/return_value"
        )
        loaded = api.get(path)["value"]
        assert loaded["files_loaded"] > 0 and not loaded["failed"], (platform, loaded)

    spans = {
        ti["task_id"]: (
            datetime.fromisoformat(ti["start_date"]),
            datetime.fromisoformat(ti["end_date"]),
        )
        for ti in loads
    }
    first = min(start for start, _ in spans.values())
    for task_id, (start, end) in sorted(spans.items(), key=lambda item: item[1]):
        print(
            f"{task_id:<16} {(start - first).total_seconds():6.2f}s → "
            f"{(end - first).total_seconds():6.2f}s"
        )
    overlapping = [
        (a, b) for a, b in combinations(sorted(spans), 2)
        if spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]
    ]  # fmt: skip
    print(f"overlapping loads: {overlapping}")
    assert overlapping, f"no two per-platform loads ran at the same time: {spans}"


def test_the_lake_equals_dag_test_on_a_duckdb_file(lake_stack, lake_run):
    lake = table_contents(the_lake(lake_stack), CORE + MARTS, digits=12)
    assert lake["core.posts"] and lake["marts.candidates"]
    assert lake == table_contents(lake_run["reference"], CORE + MARTS, digits=12)


def test_an_analyst_attached_read_only_never_errored(lake_stack, lake_run):
    status, rounds, errors = lake_run["analyst"]
    assert status == 0, errors
    assert len(rounds) > 10, rounds
    # it read before the run and saw the run's marts arrive in the same session
    assert rounds[0]["rows"] == 0
    with connect(the_lake(lake_stack), read_only=True) as conn:
        final = conn.execute("select count(*) from marts.candidates").fetchone()[0]
    assert rounds[-1]["rows"] == final > 0
    print(f"analyst: {len(rounds)} rounds over {rounds[-1]['at'] - rounds[0]['at']:.0f}s")


def test_the_duckdb_attach_the_banner_gives_reads_the_lake(lake_stack, lake_run):
    """``duckdb -cmd "$(python -m ops.stack lake-sql)"`` after the lake-env lines: the same
    SQL in a bare DuckDB (no duckdb CLI here) with only the extensions' files loaded."""
    state_dir = lake_stack["state_dir"]
    script = (
        "import duckdb, sys; con = duckdb.connect(config={'autoinstall_known_extensions': "
        "False, 'autoload_known_extensions': False}); con.execute(sys.argv[1]); "
        "print(con.execute('select count(*) from marts.candidates').fetchone()[0])"
    )
    done = subprocess.run(
        ["bash", "-c", f'eval "$({stack_command(state_dir, "lake-env")})" && '
         f'exec {sys.executable} -c "{script}" "$({stack_command(state_dir, "lake-sql")})"'],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(state_dir)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with connect(the_lake(lake_stack), read_only=True) as conn:
        final = conn.execute("select count(*) from marts.candidates").fetchone()[0]
    assert int(done.stdout) == final > 0


def test_the_lake_password_is_never_printed_nor_logged(lake_stack, lake_run):
    secret = password(lake_stack).encode()
    state_dir = lake_stack["state_dir"]
    paths = ops_stack.Paths(state_dir)
    banner = ops_stack.banner(ops_stack.stack_info(state_dir), paths)
    assert "lake-env" in banner and str(paths.secrets / "lake_password") in banner
    printed = [banner, ops_stack.lake_shell(state_dir), ops_stack.lake_sql(state_dir)]
    assert not [text for text in printed if secret.decode() in text]
    # every service log, task log, the Postgres log and stack.json; only secrets/ has it
    files = [p for p in state_dir.rglob("*") if p.is_file() and paths.secrets not in p.parents]
    assert any(p.suffix == ".log" and "load_" in str(p) for p in files)  # task logs are here
    leaked = []
    for path in files:
        try:
            if secret in path.read_bytes():
                leaked.append(path)
        except PermissionError:
            continue
    assert not leaked
    # the services get it the libpq way
    env = ops_stack.stack_env(state_dir)
    assert env["PGPASSWORD"] == secret.decode()
    assert "password" not in env["RADAR_WAREHOUSE"]
