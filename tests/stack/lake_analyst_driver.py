"""An analyst's session on the stack's lake, for the lake stack test: one process, one
read-only attach held open, ``marts.candidates`` queried in a loop until ``<stop file>``
exists (then one more round).

    eval "$(python -m ops.stack --state-dir <dir> lake-env)"
    python tests/stack/lake_analyst_driver.py <stop file>

The lake comes from ``RADAR_WAREHOUSE``, ``RADAR_LAKE_DATA_PATH`` and ``PGPASSWORD``, as
an analyst's shell gets them. Prints one JSON line per round (how many candidate rows and
as-ofs it saw, and the newest as-of's top row); any error ends it with a non-zero status
and the traceback on stderr.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from radar.settings import RadarSettings  # noqa: E402
from radar.warehouse import connect  # noqa: E402

ROUND = """
    select count(*), count(distinct as_of), max(as_of)::varchar,
           arg_min(handle, scope_rank) filter (where as_of = (select max(as_of)
                                                              from marts.candidates))
    from marts.candidates
"""


def main(stop: Path) -> None:
    with connect(RadarSettings().warehouse, read_only=True) as conn:
        while True:
            last = stop.exists()
            rows, as_ofs, newest, top = conn.execute(ROUND).fetchone()
            line = {"at": time.time(), "rows": rows, "as_ofs": as_ofs, "newest": newest}
            print(json.dumps({**line, "top": top}), flush=True)
            if last:
                return
            time.sleep(0.2)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
