"""The analyst copy (transforms/publish.py): readers never wait and never block a DAG run.

An analyst is a process of its own holding a read-only session on
``data/published/warehouse.duckdb`` while real ``social_ingest`` and ``signals`` runs
(``dag.test()``) load, rebuild and publish; a publish fails on a real full disk; publishes
are SIGKILLed mid-copy and at random instants (tests/reliability/publish_driver.py)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import stat
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from tests.helpers.small_disk import fill, mounted_small_disk
from tests.helpers.warehouse_helpers import load_dag, run_radar
from transforms.publish import publish_analyst_copy, published_path, temp_prefix

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "tests" / "reliability" / "publish_driver.py"
DAY = datetime(2026, 11, 20, tzinfo=UTC)  # marts as of 2026-11-21
NEXT_DAY = DAY + timedelta(days=1)  # marts as of 2026-11-22
AS_OF, NEXT_AS_OF = "2026-11-21 00:00:00", "2026-11-22 00:00:00"
SEED = 16

# an analyst: a plain read-only session queried in a loop until told to stop, and a
# long-running session (in-memory, the copy attached) that sees a newer publish by
# DETACH and ATTACH, as docs/warehouse.md says
_ANALYST = """
import duckdb, json, sys, threading, time
path = sys.argv[1]
held = duckdb.connect(path, read_only=True)
session = duckdb.connect()
attach = f"attach '{path}' as radar (read_only)"
session.execute(attach)
session.execute("use radar")
stop, log = threading.Event(), []

def query():
    while not stop.is_set():
        began = time.time()
        try:
            as_ofs = held.execute(
                "select distinct as_of::varchar from marts.candidates order by 1").fetchall()
            posts = held.execute("select count(*) from core.posts").fetchone()[0]
            log.append([began, time.time(), [a for (a,) in as_ofs], posts, None])
        except Exception as exc:
            log.append([began, time.time(), None, None, repr(exc)])
        time.sleep(0.002)

worker = threading.Thread(target=query)
worker.start()
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "refresh":
        for sql in ("use memory", "detach radar", attach, "use radar"):
            session.execute(sql)
        found = session.execute(
            "select distinct as_of::varchar from marts.candidates order by 1").fetchall()
        print(json.dumps([a for (a,) in found]), flush=True)
    else:
        break
stop.set()
worker.join()
print(json.dumps(log), flush=True)
"""


def _fresh(database: Path, sql: str) -> list[tuple]:
    """``sql`` in a new session on the file now at ``database``: an in-memory DuckDB with it
    attached read-only (``duckdb.connect(path)`` would reuse a session this process holds)."""
    with duckdb.connect() as conn:
        conn.execute(f"attach '{database}' as copy (read_only)")
        conn.execute("use copy")
        return conn.execute(sql).fetchall()


def _start_analyst(published: Path) -> subprocess.Popen:
    analyst = subprocess.Popen(
        [sys.executable, "-c", _ANALYST, str(published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert analyst.stdout.readline().strip() == "ready"
    return analyst


def _tell(analyst: subprocess.Popen, command: str) -> object:
    analyst.stdin.write(command + "\n")
    analyst.stdin.flush()
    return json.loads(analyst.stdout.readline())


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def test_an_analyst_on_the_copy_never_waits_and_never_blocks_a_run(airflow_db, radar_env: Path):
    assert [str(r.state) for r in run_radar(DAY)] == ["success", "success"]
    published = published_path()
    assert stat.S_IMODE(published.stat().st_mode) == 0o444
    assert _fresh(published, "select distinct as_of::varchar from marts.candidates") == [(AS_OF,)]

    analyst = _start_analyst(published)
    try:
        ingest, signals = run_radar(NEXT_DAY)  # load, rebuild and publish under the analyst
        assert (str(ingest.state), str(signals.state)) == ("success", "success")
        assert _states(signals)["publish"] == "success"
        refreshed = _tell(analyst, "refresh")
        log = _tell(analyst, "stop")
    finally:
        analyst.kill()
        analyst.wait()

    # the long-running session sees the new marts after DETACH and ATTACH
    assert refreshed == [AS_OF, NEXT_AS_OF]
    # the held session never failed, and read the copy it opened, whole, all along
    assert [entry[4] for entry in log if entry[4]] == []
    assert {tuple(entry[2]) for entry in log} == {(AS_OF,)}
    assert len({entry[3] for entry in log}) == 1
    # ... including while the copy was being published
    (task,) = [ti for ti in signals.get_task_instances() if ti.task_id == "publish"]
    began, ended = task.start_date.timestamp(), task.end_date.timestamp()
    during = [entry for entry in log if entry[1] >= began and entry[0] <= ended]
    assert log[0][0] < began and log[-1][1] > ended and during, (began, ended, len(log))
    # a new session sees the new marts; the warehouse itself has them too
    rows = dict(
        _fresh(published, "select as_of::varchar, count(*) from marts.candidates group by 1")
    )
    assert set(rows) == {AS_OF, NEXT_AS_OF} and rows[NEXT_AS_OF] > 0
    assert rows == dict(
        _fresh(
            RadarSettings().warehouse,
            "select as_of::varchar, count(*) from marts.candidates group by 1",
        )
    )
    assert not [p.name for p in published.parent.iterdir() if p.name != published.name]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_publish_that_fails_fails_the_run_and_keeps_the_previous_copy(
    airflow_db,
    radar_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture,
    caplog: pytest.LogCaptureFixture,
):
    assert [str(r.state) for r in run_radar(DAY)] == ["success", "success"]
    published = published_path()
    previous = published.read_bytes()
    # the copy's folder becomes a real small disk holding the previous copy and no room
    # for the next one
    published.chmod(0o644)
    published.unlink()
    published.parent.rmdir()
    with mounted_small_disk(published.parent, "64m"):
        published.write_bytes(previous)
        published.chmod(0o444)
        filler = fill(published.parent)
        monkeypatch.setenv("RADAR_TASK_RETRIES", "0")
        capfd.readouterr()
        caplog.clear()
        signals = load_dag("signals").test(logical_date=NEXT_DAY)
        out = capfd.readouterr().out + caplog.text

        assert str(signals.state) == "failed"
        states = _states(signals)
        assert states["build_signals"] == "success" and states["export"] == "success"
        assert states["publish"] == "failed"
        assert "RADAR FAILED publish (retried while tries remain): OSError" in out
        assert "No space left on device" in out
        # the previous copy is untouched, and no temporary file is left
        assert published.read_bytes() == previous
        assert sorted(p.name for p in published.parent.iterdir()) == ["filler", published.name]
        # the warehouse holds the new marts and opens for writing
        with connect(RadarSettings().warehouse) as conn:
            as_ofs = conn.execute(
                "select distinct as_of::varchar from marts.candidates order by 1"
            ).fetchall()
        assert as_ofs == [(AS_OF,), (NEXT_AS_OF,)]

        # with room again (for the new copy beside the previous one, which stays until the
        # rename), the next publish, here the command line's, publishes them
        filler.unlink()
        done = subprocess.run(
            [sys.executable, "-m", "transforms", "publish"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"analyst copy: {published} (" in done.stdout
        found = _fresh(published, "select distinct as_of::varchar from marts.candidates order by 1")
        assert found == as_ofs


def _build_warehouse(warehouse: Path) -> None:
    """A warehouse with the radar's schema, 24 MB of ballast and a generation number."""
    with connect(warehouse) as conn:
        apply_schema(conn, RadarSettings().sql_dir)
        conn.execute(
            "create table main.ballast as select range as i, md5(range::varchar) as h "
            "from range(600000)"
        )
        conn.execute("create table main.generation as select 1 as n")


def _next_generation(warehouse: Path) -> int:
    with connect(warehouse) as conn:
        return conn.execute("update main.generation set n = n + 1 returning n").fetchone()[0]


def _whole_copy_generation(published: Path, tables: list[tuple]) -> int:
    """The generation of the copy under the published name, once it is shown whole: it
    opens, has the warehouse's tables, and every ballast row reads back."""
    listed = "select schema_name, table_name from duckdb_tables() order by all"
    assert _fresh(published, listed) == tables
    ((rows, distinct),) = _fresh(published, "select count(*), count(distinct h) from ballast")
    assert rows == distinct == 600_000
    return _fresh(published, "select n from generation")[0][0]


def _start_publish(env: dict[str, str], slow: bool) -> subprocess.Popen:
    errors = tempfile.TemporaryFile("w+")  # a pipe nobody reads could stall the child
    process = subprocess.Popen(
        [sys.executable, str(DRIVER), *(["--slow"] if slow else [])],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    process.errors = errors
    assert process.stdout.readline().strip() == "ready"
    return process


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def test_a_publish_killed_at_any_instant_leaves_the_previous_copy_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("RADAR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("RADAR_WAREHOUSE_PATH", raising=False)
    env = {**os.environ, "RADAR_DATA_DIR": str(tmp_path / "data")}
    warehouse, published = RadarSettings().warehouse, published_path()
    _build_warehouse(warehouse)
    assert publish_analyst_copy() is not None
    tables = _fresh(published, "select schema_name, table_name from duckdb_tables() order by all")
    assert _whole_copy_generation(published, tables) == 1

    def temporaries() -> list[Path]:
        return [p for p in published.parent.iterdir() if p.name.startswith(temp_prefix(published))]

    # killed mid-copy: the previous copy stays, beside a partial temporary one
    assert _next_generation(warehouse) == 2
    process = _start_publish(env, slow=True)
    assert process.stdout.readline().strip() == "copying"
    _kill(process)
    assert _whole_copy_generation(published, tables) == 1
    (partial,) = temporaries()
    assert 0 < partial.stat().st_size < warehouse.stat().st_size

    # killed at random instants of a publish: the published name holds the previous copy
    # or the new one, whole, never anything else
    rng = random.Random(SEED)
    last, outcomes = 1, []
    for _ in range(10):
        generation = _next_generation(warehouse)
        process = _start_publish(env, slow=True)
        delay = rng.uniform(0.0, 0.8)  # a slow publish takes about 0.5 s after 'ready'
        try:
            process.communicate(timeout=delay)
        except subprocess.TimeoutExpired:
            _kill(process)
            found = _whole_copy_generation(published, tables)
            outcomes.append("killed, previous copy" if found == last else "killed, new copy")
        else:
            assert process.returncode == 0
            found = _whole_copy_generation(published, tables)
            outcomes.append("finished")
        assert found in (last, generation), (found, last, generation, delay)
        last = found
    print(outcomes)
    assert "killed, previous copy" in outcomes

    # the next publish removes what the killed ones left, and publishes the newest
    process = _start_publish(env, slow=False)
    out, _ = process.communicate(timeout=120)
    process.errors.seek(0)
    assert process.returncode == 0 and out.startswith("done"), process.errors.read()[-2000:]
    process.errors.close()
    assert temporaries() == []
    assert _whole_copy_generation(published, tables) == generation
    assert stat.S_IMODE(published.stat().st_mode) == 0o444
    # the warehouse itself opens for writing, with everything the publishes checkpointed
    with connect(warehouse) as conn:
        assert conn.execute("select n from main.generation").fetchone() == (generation,)


def test_transforms_sql_reads_the_copy_while_a_writer_holds_the_warehouse(radar_env: Path):
    """`python -m transforms sql` on a DuckDB file queries the analyst copy: a writer holding
    the warehouse (a load, say) does not stop it. `--live` reads the file itself, and
    meets the writer's lock."""
    warehouse = RadarSettings().warehouse
    _build_warehouse(warehouse)
    publish_analyst_copy()
    _next_generation(warehouse)  # the warehouse moves on; the copy has generation 1
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         "c = duckdb.connect(sys.argv[1]); print('holding', flush=True); time.sleep(60)",
         str(warehouse)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "holding"
        sql = [sys.executable, "-m", "transforms", "sql"]
        copy = subprocess.run([*sql, "select n from generation"], capture_output=True, text=True)
        assert copy.returncode == 0, copy.stderr
        cells = copy.stdout.replace(" ", "")
        assert "│1│" in cells and "│2│" not in cells  # the copy's generation, not the file's
        live = subprocess.run(
            [*sql, "--live", "select n from generation"], capture_output=True, text=True
        )
        assert live.returncode != 0 and "lock" in live.stderr.lower()
    finally:
        holder.kill()
        holder.wait()
