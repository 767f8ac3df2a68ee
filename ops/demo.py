"""``make demo``: the real DAGs for one day of a recorded feed, then the report.

    python -m ops.demo --date 2026-11-20

``social_ingest`` runs with ``airflow dags test`` for the interval that starts on the date
(the day 2026-11-20: [11-20, 11-21)), then ``signals`` as of that interval's end, as the
asset would start it. A failure prints its cause first, then where the full log is. Two
demos at once on one Airflow home take turns: the second waits for the first.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

DAGS = ("social_ingest", "signals")
_FINISHED = re.compile(r"DagRun Finished: .*?state=(?P<state>[a-z_]+)")
_CAUSE = re.compile(r"RADAR FAILED .*")


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


def run_dag(dag_id: str, day: str, log: Path) -> tuple[str, list[str]]:
    """``airflow dags test`` of one DAG; its final state and the causes it logged."""
    with log.open("w") as out:
        subprocess.run(
            [sys.executable, "-m", "airflow", "dags", "test", dag_id, day],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    text = log.read_text(errors="replace")
    finished = _FINISHED.search(text)
    causes = list(dict.fromkeys(m.group(0).strip() for m in _CAUSE.finditer(text)))
    return (finished["state"] if finished else "crashed"), causes


def day_of(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-20") from None


@click.command()
@click.option("--date", "day", required=True, help="the day of data to run, e.g. 2026-11-20")
def main(day: str) -> None:
    """Run social_ingest for DAY, then signals as of DAY's end, and print the report."""
    from ingest.schedule import interval_starting_at
    from ops.airflow_settings import DEFAULT_PATH
    from transforms.runs import report

    start = day_of(day)
    end = interval_starting_at(start)[1]
    home = airflow_home()
    with one_demo_at_a_time(home):
        prepare_metadata_db(home, DEFAULT_PATH)
        for dag_id in DAGS:
            log = home / f"demo-{dag_id}.log"
            state, causes = run_dag(dag_id, start.date().isoformat(), log)
            if state != "success":
                for cause in causes or ["no RADAR FAILED line: see the end of the log below"]:
                    click.echo(cause)
                if not causes:
                    click.echo("\n".join(log.read_text(errors="replace").splitlines()[-40:]))
                click.echo(f"{dag_id} run: {state} (full log: {log})")
                sys.exit(1)
            what = (
                f"for [{start:%Y-%m-%d %H:%M}, {end:%Y-%m-%d %H:%M})"
                if dag_id == "social_ingest"
                else f"as of {end:%Y-%m-%d %H:%M}"
            )
            click.echo(f"{dag_id} run: {state} {what} (log: {log})")
        click.echo(report(end))


if __name__ == "__main__":
    main()
