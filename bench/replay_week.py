"""A week on an unseen world, for several seeds: issue #21's acceptance run at full size.

Each seed runs in a fresh process with its own Airflow home: a seeded week world
(``synthetic.week``) served by the live API emulator (``synthetic.live_api``) with faults
on, seven days of ``niche_discovery → social_ingest → signals`` as real ``dag.test()``
runs through the live clients, then the warehouse judged against the world's truth
(``tests/acceptance/week_replay.py``). Prints one table row per seed (the table in
docs/signals.md, "A week on an unseen world") and, with ``--details``, every failed
check and each niche's top 10.

    python -m bench.replay_week --seeds 1 2 3 4 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from bench.common import ROOT, finish_step, report_step, start_step


def _airflow_home() -> None:
    """What tests/conftest.py does for a test session: a throwaway Airflow home with a
    migrated SQLite metadata DB and config/airflow_settings.yaml applied."""
    home = Path(tempfile.mkdtemp(prefix="radar-replay-airflow-"))
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    sys.path.append(str(ROOT / "dags"))  # as Airflow does for the DAG bundle (_radar.py)
    for command in (["airflow", "db", "migrate"], ["ops.airflow_settings"]):
        subprocess.run(
            [sys.executable, "-m", *command], check=True, capture_output=True, env=os.environ
        )


def run_seed(seed: int, fault_rate: float, regulars: int, work: Path) -> dict:
    _airflow_home()
    from tests.acceptance.week_replay import judge, replay_week

    replay = replay_week(
        seed,
        work,
        fault_rate=fault_rate,
        regulars=regulars,
        outsiders=regulars // 7,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    verdict = asdict(judge(replay))
    verdict["requests_by_route"] = dict(replay.api.requests)
    verdict["run_seconds"] = [[str(d), dag, s, round(t, 1)] for d, dag, s, t in replay.runs]
    return verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.replay_week",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--fault-rate", type=float, default=0.01)
    parser.add_argument(
        "--regulars", type=int, default=220, help="background accounts beside the planted"
    )
    parser.add_argument("--details", action="store_true", help="failed checks, top 10s")
    parser.add_argument(
        "--keep", type=Path, help="work here and keep each seed's config, data and warehouse"
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step == "seed":
        report_step(run_seed(args.seeds[0], args.fault_rate, args.regulars, args.work))
        return 0

    from tests.acceptance.week_replay import TABLE_HEAD, Verdict

    rows, failed = [], False
    with tempfile.TemporaryDirectory(prefix="radar-replay-") as temporary:
        work = args.keep or Path(temporary)
        for seed in args.seeds:
            print(f"seed {seed}: replaying the week …", file=sys.stderr, flush=True)
            step = start_step(
                "bench.replay_week",
                "seed",
                "--seeds",
                str(seed),
                "--fault-rate",
                str(args.fault_rate),
                "--regulars",
                str(args.regulars),
                "--work",
                str(work / f"seed-{seed}"),
            )
            result = finish_step(step, f"seed {seed}")
            extra = {k: result.pop(k) for k in ("requests_by_route", "run_seconds", "peak_rss_mb")}
            verdict = Verdict(**result)
            rows.append(verdict.row())
            failed |= bool(verdict.problems)
            print(
                f"seed {seed}: {verdict.seconds:.0f} s, {verdict.requests:,} requests, "
                f"{verdict.faults} faults",
                file=sys.stderr,
                flush=True,
            )
            if args.details:
                print(
                    json.dumps(
                        {"problems": verdict.problems, "tops": verdict.tops, **extra}, indent=1
                    ),
                    file=sys.stderr,
                )
    print(TABLE_HEAD, *rows, sep="\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
