"""An analyst's session for the lake concurrency test: queries the lake in a loop while
loaders commit, until ``<stop file>`` exists.

    python tests/reliability/lake_reader_driver.py <data dir> <stop file>

Each round reads one snapshot (one transaction) and checks that it is a committed state:
no key twice in a core table, and every row of every landing file that ``meta.loaded_files``
lists is in ``core.posts`` (a file is recorded in the same commit as its rows). Counts
never go down from one round to the next. Prints one JSON line per round; any error or
broken rule ends it with a non-zero status, the cause on stderr.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from radar.settings import RadarSettings  # noqa: E402
from radar.warehouse import connect, literal_file  # noqa: E402

KEYS = {
    "core.accounts": "platform, account_id",
    "core.account_snapshots": "platform, account_id, observed_at",
    "core.posts": "platform, post_id",
    "core.post_metric_snapshots": "platform, post_id, observed_at",
}


def one_round(conn, data_dir: Path) -> dict:
    conn.execute("begin transaction")
    try:
        state = {"files": conn.execute("select count(*) from meta.loaded_files").fetchone()[0]}
        for table, key in KEYS.items():
            rows, keys = conn.execute(
                f"select count(*), count(distinct ({key})) from {table}"
            ).fetchone()
            if rows != keys:
                raise AssertionError(f"{table}: {rows - keys} key(s) twice in one snapshot")
            state[table] = rows
        posts = [
            literal_file(data_dir / path)
            for (path,) in conn.execute(
                "select path from meta.loaded_files where entity = 'posts' and row_count > 0"
            ).fetchall()
        ]
        if posts:
            missing = conn.execute(
                "select count(*) from (select platform, post_id from read_parquet(?)) "
                "anti join core.posts using (platform, post_id)",
                [posts],
            ).fetchone()[0]
            if missing:
                raise AssertionError(f"{missing} post(s) of loaded files not in core.posts")
    finally:
        conn.execute("rollback")
    return state


def main(data_dir: Path, stop: Path) -> None:
    before: dict = {}
    with connect(RadarSettings().warehouse, read_only=True) as conn:
        while True:
            last = stop.exists()  # one more round after the loaders are done
            state = one_round(conn, data_dir)
            for what, count in state.items():
                if count < before.get(what, 0):
                    raise AssertionError(f"{what} went from {before[what]} to {count}")
            before = state
            print(json.dumps({"at": time.time(), **state}), flush=True)
            if last:
                return
            time.sleep(0.02)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
