"""One publish of the analyst copy, as its own process, for the tests to SIGKILL.

    python tests/reliability/publish_driver.py [--slow]

Publishes with ``transforms.publish.publish_analyst_copy``; settings come from the RADAR_*
environment. ``--slow`` copies in 1 MiB chunks with a pause after each (the real copy
code, spread out), so that a kill lands mid-copy; it prints ``copying`` once the first
chunk is written. Prints ``ready`` once its imports are done, so that a kill lands in the
publish and not in Python's start-up, and ``done`` at the end.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from transforms import publish  # noqa: E402

PAUSE_SECONDS = 0.03


def slow_down() -> None:
    copy_chunk = publish._copy_chunk
    started = []

    def paused_chunk(source: int, target: int, offset: int, count: int) -> int:
        done = copy_chunk(source, target, offset, count)
        if not started:
            started.append(True)
            print("copying", flush=True)
        time.sleep(PAUSE_SECONDS)
        return done

    publish._CHUNK_BYTES = 1024 * 1024
    publish._copy_chunk = paused_chunk


def main(args: list[str]) -> None:
    if "--slow" in args:
        slow_down()
    print("ready", flush=True)
    published = publish.publish_analyst_copy()
    print(f"done {published}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
