"""The transforms, run again and again on a lake while loaders commit to it, for the lake
concurrency test.

    python tests/reliability/lake_transform_driver.py <barrier dir> <loaders> <stop file> <as_of>

Joins the loaders at the barrier, then runs every model as of ``<as_of>`` until the stop
file exists, and prints how many runs it made. Settings come from the RADAR_* environment.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from radar.settings import RadarSettings  # noqa: E402
from radar.warehouse import connect  # noqa: E402
from transforms.runner import run_transforms  # noqa: E402


def main(barrier: Path, loaders: int, stop: Path, as_of: datetime) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    settings = RadarSettings()
    with connect(settings.warehouse) as conn:
        (barrier / "transforms").touch()
        deadline = time.monotonic() + 60
        while len(list(barrier.iterdir())) < loaders:
            if time.monotonic() > deadline:
                raise SystemExit("the loaders never reached the barrier")
            time.sleep(0.01)
        runs = 0
        while not stop.exists():
            run_transforms(conn, settings.sql_dir, settings.config_dir, as_of)
            runs += 1
    print(json.dumps({"runs": runs}))


if __name__ == "__main__":
    main(
        Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), datetime.fromisoformat(sys.argv[4])
    )
