"""The README's main command, timed: `make demo` after setup, on a fresh data directory.

Setup (the venv, Airflow's metadata DB) is done once, untimed, by a first `make demo`;
then each timed run starts from an empty `RADAR_DATA_DIR`, so it does the whole job:
parse the DAG, extract every batch, load, build the signals, print the report.

    python -m bench.demo_bench --runs 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import machine, publish

ROOT = Path(__file__).resolve().parents[1]


def make_demo(airflow_home: Path, data_dir: Path) -> float:
    env = {**os.environ, "RADAR_DATA_DIR": str(data_dir)}
    started = time.perf_counter()
    subprocess.run(
        ["make", "-s", "demo", f"AIRFLOW_HOME={airflow_home}", f"RADAR_DATA_DIR={data_dir}"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def bench(runs: int, workdir: Path) -> list[float]:
    airflow_home = workdir / "airflow"
    make_demo(airflow_home, workdir / "warmup")  # setup: migrate the metadata DB
    times = []
    for n in range(runs):
        data_dir = workdir / f"data-{n}"
        times.append(make_demo(airflow_home, data_dir))
        shutil.rmtree(data_dir)
    return times


def report(times: list[float]) -> str:
    return "\n".join(
        [
            f"### `make demo` after setup ({machine()})",
            "",
            "| runs | median (s) | min (s) | max (s) |",
            "|---|---|---|---|",
            f"| {len(times)} | {statistics.median(times):.1f} | {min(times):.1f} | "
            f"{max(times):.1f} |",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.demo_bench")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--append-to", type=Path, help="markdown file to append the table to")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="radar-demo-bench-") as workdir:
        times = bench(args.runs, Path(workdir))
    text = report(times)
    publish(text, args.append_to)


if __name__ == "__main__":
    main()
