"""One loader process for the lake concurrency test.

    python tests/reliability/lake_load_driver.py <barrier dir> <loaders> <name> [platform …]

A name ``slice-K-of-N`` loads only every Nth pending landing file from the Kth on (files of
one platform and entity are then split between loaders).

Waits until ``<loaders>`` drivers have reached the barrier, so that all of them load at
once, then loads the pending landing files of the given platforms (all when none are
given) with ``ingest.loader.load_pending`` under the run id ``concurrent``, and prints its
summary as JSON with its start and end times. Settings come from the RADAR_* environment;
``COMMIT_DELAY`` (seconds) holds each load transaction open that long before its commit,
so that other writers meet it mid-transaction.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ingest.loader import load_pending, pending_files  # noqa: E402
from radar.settings import RadarSettings  # noqa: E402
from radar.warehouse import apply_schema, connect  # noqa: E402


def main(barrier: Path, loaders: int, name: str, platforms: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)  # the conflicts redone
    settings = RadarSettings()
    with connect(settings.warehouse, memory_limit=settings.load_memory_limit) as conn:
        apply_schema(conn, settings.sql_dir)
        (barrier / name).touch()
        deadline = time.monotonic() + 60
        while len(list(barrier.iterdir())) < loaders:
            if time.monotonic() > deadline:
                raise SystemExit("the other loaders never reached the barrier")
            time.sleep(0.01)
        started = time.time()
        delay = float(os.environ.get("COMMIT_DELAY", "0"))
        only = None
        if name.startswith("slice-"):
            _, k, _, n = name.split("-")
            pending = pending_files(settings.data_dir / "landing")
            only = {
                path.relative_to(settings.data_dir).as_posix()
                for i, (_, _, path) in enumerate(pending)
                if i % int(n) == int(k)
            }
        summary = load_pending(
            conn,
            settings.data_dir,
            "concurrent",
            before_commit=(lambda: time.sleep(delay)) if delay else None,
            platforms=platforms or None,
            only=only,
        )
        ended = time.time()
    print(json.dumps({"name": name, "started": started, "ended": ended, **asdict(summary)}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:])
