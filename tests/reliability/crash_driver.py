"""One pipeline step for one day, as its own process, for the crash tests to SIGKILL.

    python tests/reliability/crash_driver.py extract|load|transform 2026-08-01

The steps are the task bodies the DAGs call, without Airflow, as
``tests/helpers/warehouse_helpers.run_pipeline`` runs them: ``extract`` plans and extracts the day
(attempt 1 every time, so a rerun lands the same files under the same names), ``load``
loads everything landed, ``transform`` builds the signals as of the day's end. The run id
is the day's scheduled run, the same for every attempt, as Airflow keeps it for a retry.
Settings come from the RADAR_* environment. Prints ``ready`` once its imports are done,
so that a kill lands in the step and not in Python's start-up.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ingest import runs  # noqa: E402
from ingest.connector import TaskContext
from transforms import runs as signal_runs  # noqa: E402


def run_id(day: datetime) -> str:
    return f"scheduled__{day:%Y-%m-%d}T00:00:00+00:00"


def main(step: str, day_text: str) -> None:
    start = datetime.fromisoformat(day_text)
    end = start + timedelta(days=1)
    print("ready", flush=True)
    if step == "extract":
        for i, batch in enumerate(runs.plan_extract(start, end)):
            runs.extract(batch, TaskContext(start, end, run_id(start), f"extract-{i}"))
    elif step == "load":
        runs.load(run_id(start), "social_ingest", start, end)
    elif step == "transform":
        signal_runs.build_signals(end, f"signals_{run_id(start)}")
    else:
        raise SystemExit(f"unknown step {step!r}: extract, load or transform")
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
