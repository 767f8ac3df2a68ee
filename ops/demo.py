"""``make demo``: the real DAGs over five weeks of a recorded feed, then the report.

    python -m ops.demo --date 2026-11-20 [--weeks 5]

The bundled feed (``fixtures/demo``) is one recorded day. The demo first ages it back into
the ``--weeks`` weeks before it (``synthetic.history``: every page as a daily run would
have recorded it on each earlier day, in ``<RADAR_DATA_DIR>/demo-feed``), so follower
counts, posts and their engagement have a history. It then runs the DAGs at a weekly
cadence (``RADAR_INGEST_CRON``, weeks that end the day after ``--date``): per week
``social_ingest`` replays the week's seven days of recordings, then ``signals`` computes
as of the week's end, as the asset would start it. In the first week, between the two,
``campaign_ingest`` loads ``config/campaigns.yaml`` and the recorded shop and analytics
exports (``fixtures/campaigns``) once, so each week's marts and report measure the demo
campaigns as far as they had run. Each run is ``dag.test()``, what
``airflow dags test`` runs, here in one process so that Airflow starts once. A feed of
your own (``RADAR_FEED_DIR``) is replayed as it is, without aging.

A failure prints its cause first, then where the full log is. Two demos at once on one
Airflow home take turns: the second waits for the first.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

DAGS = ("social_ingest", "campaign_ingest", "signals")
_CAUSE = re.compile(r"RADAR FAILED .*")
BUNDLED_FEED = Path(__file__).resolve().parents[1] / "fixtures" / "demo"


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", Path.cwd() / ".airflow"))


@contextmanager
def one_demo_at_a_time(home: Path) -> Iterator[None]:
    """An exclusive lock on ``<airflow home>/demo.lock`` for the whole demo: two demos
    would otherwise share one SQLite metadata DB and one warehouse file."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / "demo.lock").open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "?"
            click.echo(f"another make demo is running (pid {holder}); waiting for it to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        yield


def prepare_metadata_db(home: Path, settings_file: Path) -> None:
    """Migrate the SQLite metadata DB once, and apply ``config/airflow_settings.yaml``
    whenever it changed since it was last applied."""
    airflow = [sys.executable, "-m", "airflow"]
    if not (home / "airflow.db").exists():
        subprocess.run([*airflow, "db", "migrate"], check=True, capture_output=True)
    digest = hashlib.sha256(settings_file.read_bytes()).hexdigest()
    stamp = home / "airflow_settings.applied"
    if not stamp.exists() or stamp.read_text() != digest:
        subprocess.run(
            [sys.executable, "-m", "ops.airflow_settings", str(settings_file)],
            check=True,
            capture_output=True,
        )
        stamp.write_text(digest)


def weekly_cron(last_day: datetime) -> str:
    """Weeks at 00:00 UTC that end the day after ``last_day`` (cron counts Sunday as 0)."""
    return f"0 0 * * {(last_day + timedelta(days=1)).isoweekday() % 7}"


@contextmanager
def output_to(log: Path) -> Iterator[None]:
    """Everything this process writes to stdout and stderr (Airflow's task logs among it)
    goes to ``log`` meanwhile, as ``airflow dags test`` would print it."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("w") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_dag(dag, day: datetime, log: Path) -> tuple[str, list[str]]:
    """``dag.test()`` of one DAG for ``day``; its final state and the causes it logged."""
    state = "crashed"
    with output_to(log):
        try:
            state = str(dag.test(logical_date=day).state)
        except Exception as exc:  # the log has the traceback; the caller prints its end
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    text = log.read_text(errors="replace")
    causes = list(dict.fromkeys(m.group(0).strip() for m in _CAUSE.finditer(text)))
    return state, causes


def day_of(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-20") from None


def demo_feed(day: datetime, weeks: int) -> str:
    """Point ``RADAR_FEED_DIR`` at the bundled day aged back ``weeks`` weeks, written
    afresh (the same bytes every time) unless the user chose a feed of their own; says
    which feed it is."""
    if os.environ.get("RADAR_FEED_DIR"):
        return os.environ["RADAR_FEED_DIR"]
    from radar.settings import RadarSettings
    from synthetic.history import write_history

    feed = RadarSettings().data_dir.resolve() / "demo-feed"
    shutil.rmtree(feed, ignore_errors=True)
    days = weeks * 7 - 1
    write_history(BUNDLED_FEED, day.date(), days, feed)
    os.environ["RADAR_FEED_DIR"] = str(feed)
    return f"{feed} ({BUNDLED_FEED}'s day {day:%Y-%m-%d} and the {days} days before it)"


@click.command()
@click.option("--date", "day", required=True, help="the last day of data, e.g. 2026-11-20")
@click.option("--weeks", default=5, show_default=True, help="weeks of history to run")
def main(day: str, weeks: int) -> None:
    """Run social_ingest and signals for each of WEEKS weeks up to DAY (campaign_ingest
    once, in the first week), and print the report as of DAY's end."""
    began = time.monotonic()
    last = day_of(day)
    home = airflow_home()
    terminal = sys.stdout
    # read by the DAG files and ingest.schedule as they are imported: set it first
    os.environ["RADAR_INGEST_CRON"] = weekly_cron(last)
    with one_demo_at_a_time(home):
        from ops.airflow_settings import DEFAULT_PATH

        prepare_metadata_db(home, DEFAULT_PATH)
        feed = demo_feed(last, weeks)
        from airflow.utils.cli import get_bagged_dag

        from ingest.schedule import interval_starting_at
        from transforms.runs import report

        with output_to(home / "demo-parse.log"):
            dags = {dag_id: get_bagged_dag(None, dag_id) for dag_id in DAGS}
        end = last + timedelta(days=1)
        for week in range(weeks, 0, -1):
            start = end - timedelta(days=7 * week)
            until = interval_starting_at(start)[1]
            for dag_id, dag in dags.items():
                if dag_id == "campaign_ingest" and week != weeks:
                    continue  # the exports are loaded once, in the first week
                log = home / f"demo-{dag_id}-{start:%Y-%m-%d}.log"
                state, causes = run_dag(dag, start, log)
                if state != "success":
                    for cause in causes or ["no RADAR FAILED line: see the end of the log below"]:
                        click.echo(cause, file=terminal)
                    if not causes:
                        tail = log.read_text(errors="replace").splitlines()[-40:]
                        click.echo("\n".join(tail), file=terminal)
                    click.echo(f"{dag_id} run: {state} (full log: {log})", file=terminal)
                    sys.exit(1)
                what = (
                    f"for [{start:%Y-%m-%d %H:%M}, {until:%Y-%m-%d %H:%M})"
                    if dag_id != "signals"
                    else f"as of {until:%Y-%m-%d %H:%M}"
                )
                click.echo(f"{dag_id} run: {state} {what} (log: {log})", file=terminal)
        click.echo(f"feed replayed: {feed}", file=terminal)
        click.echo(report(end), file=terminal)
        click.echo(f"demo done in {time.monotonic() - began:.0f} s", file=terminal)


if __name__ == "__main__":
    main()
