"""Lake load throughput: the same landing files loaded by 1, 2 and 4 loader processes at once
into a fresh DuckLake, beside the DuckDB file's serial load of them.

The landing files are the ingest benchmark's: its synthetic Mastodon feed (cached under
the work dir) extracted once by the DAG's extract path, and cached too. Then, on each try,
each configuration on a new, empty warehouse (schema applied beforehand, not timed):

- **file**: one ``load_pending`` into a DuckDB file, the anchor and the reference;
- **lake, shared**: N processes each call ``load_pending`` over the whole landing dir at
  once, as overlapping loads (two runs of a backfill, say) do: every loader sees every
  file, and the lake's per-file claims decide which one loads it;
- **lake, batches**: N processes each load a disjoint share, the files of every Nth extract
  batch (a data dir of hard links per loader, the same paths below it), as loads of
  different platforms or intervals do.

Wall time runs from starting the loader processes to the last one's exit (process start,
imports and connecting included, as in the other benchmarks). Each loader counts the
commit conflicts it redid (``radar.warehouse.retry_conflicts``' log lines). After each
run, untimed, every core table, ``meta.rejects`` and ``meta.loaded_files`` are counted and
checksummed (every column but ``load_id`` and ``loaded_at``) and must equal the file's
serial load, so a fast wrong result fails the benchmark instead of being reported.

    python -m bench.lake_load_bench --posts 500000 --loaders 1 2 4 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from bench import lake_catalog
from bench.common import ROOT, finish_step, machine, publish, report_step, start_step

MODULE = "bench.lake_load_bench"
RUN_ID = "bench"
SPLITS = ("shared", "batches")
# landing files are named <run>-<task>-<part>.parquet, the task here extract-<batch>
_BATCH = re.compile(r"-extract-(\d+)-\d+\.parquet$")
# what a serial load must give: every core table, the rejects and the loaded files' record
CHECKED_TABLES = (
    "core.accounts",
    "core.account_snapshots",
    "core.posts",
    "core.post_metric_snapshots",
    "core.post_deletions",
    "core.account_discoveries",
    "meta.rejects",
    "meta.loaded_files",
)
# columns that say when or in which transaction a row was written, not what it holds
UNCHECKED_COLUMNS = {"load_id", "loaded_at"}


# --- steps, each in a process of its own ---------------------------------------------------


def prepare(target_arg: str) -> dict:
    """An empty warehouse with the schema applied."""
    from radar.settings import RadarSettings
    from radar.warehouse import apply_schema, connect

    with connect(lake_catalog.target(target_arg)) as conn:
        apply_schema(conn, RadarSettings().sql_dir)
    return {}


class _ConflictCounter(logging.Handler):
    """Counts ``retry_conflicts``' lines, by what was redone."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.redone: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, str) and "commit conflicted" in record.msg:
            self.redone[str(record.args[0])] += 1


def load(target_arg: str, data_dir: str) -> dict:
    """One loader, as a load task runs it: connect under the loader's memory limit, apply
    the schema (a no-op here), load every pending file of ``data_dir``."""
    from ingest.loader import load_pending
    from radar.settings import RadarSettings
    from radar.warehouse import apply_schema, connect

    counter = _ConflictCounter()
    logger = logging.getLogger("radar.warehouse")
    logger.setLevel(logging.INFO)
    logger.addHandler(counter)
    settings = RadarSettings()
    started = time.perf_counter()
    with connect(lake_catalog.target(target_arg), memory_limit=settings.load_memory_limit) as conn:
        apply_schema(conn, settings.sql_dir)
        loading = time.perf_counter()
        summary = load_pending(conn, Path(data_dir), RUN_ID)
        done = time.perf_counter()
    if summary.failed:
        raise RuntimeError("groups failed to load:\n" + "\n".join(summary.failed))
    return {
        "load_s": round(done - loading, 2),
        "connect_s": round(loading - started, 2),
        "files_loaded": summary.files_loaded,
        "files_left_to_others": summary.files_left_to_others,
        "rows": summary.rows_loaded,
        "conflicts": dict(counter.redone),
    }


def verify(target_arg: str) -> dict:
    """Per checked table: its rows, a checksum of them (order-free) and its distinct keys
    (the loader's merge keys; a file's path for meta.loaded_files), and on a lake the
    catalog's snapshots and the data and delete files it lists."""
    from ingest.loader import MERGE_SPECS
    from radar.warehouse import Lake, connect, table_columns

    keys = {spec.table: spec.key for spec in MERGE_SPECS.values()}
    keys["meta.loaded_files"] = ("path",)
    target = lake_catalog.target(target_arg)
    tables = {}
    with connect(target, read_only=True) as conn:
        for table in CHECKED_TABLES:
            columns = [c for c in table_columns(conn, table) if c not in UNCHECKED_COLUMNS]
            count, digest, distinct = conn.execute(
                f"select count(*), coalesce(sum(hash({', '.join(columns)})::hugeint), 0), "
                f"count(distinct ({', '.join(keys[table])})) from {table}"
            ).fetchone()
            tables[table] = [count, str(digest), distinct]
        lake = {}
        if isinstance(target, Lake):
            metadata = "__ducklake_metadata_warehouse"
            lake["snapshots"] = conn.execute(
                f"select count(*) from {metadata}.ducklake_snapshot"
            ).fetchone()[0]
            lake["data_files"] = conn.execute(
                f"select count(*) from {metadata}.ducklake_data_file where end_snapshot is null"
            ).fetchone()[0]
            lake["delete_files"] = conn.execute(
                f"select count(*) from {metadata}.ducklake_delete_file where end_snapshot is null"
            ).fetchone()[0]
    return {"tables": tables, **lake}


STEPS = {"prepare": prepare, "load": load, "verify": verify}


# --- the driver ---------------------------------------------------------------------------


def _step(step: str, *args: str, env: dict[str, str] | None = None) -> dict:
    with lake_catalog.environment(env or {}):
        proc = start_step(MODULE, step, *args)
    return finish_step(proc, step)


def landing_for(posts: int, workdir: Path, workers: int | None = None, shares: int = 1) -> Path:
    """A data dir holding the landing files of the ingest benchmark's feed of about
    ``posts`` posts: extracted once by the DAG's extract path, then reused. In at least
    ``shares`` extract batches, so that disjoint shares of them each hold files."""
    from bench.ingest_bench import DAYS, START, feed_for
    from ingest.extract import plan_fixture_batches
    from radar.settings import RadarSettings

    feed = feed_for(posts, workdir)
    data_dir = workdir / f"landing-{feed.name}"
    batches = data_dir / "batches.json"
    if (data_dir / "complete").exists() and len(json.loads(batches.read_text())) >= shares:
        return data_dir
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    settings = RadarSettings()
    start = datetime.combine(START, datetime.min.time())

    def plan(files_per_batch: int) -> list:
        return plan_fixture_batches(
            feed,
            ["mastodon"],
            start,
            start + timedelta(days=DAYS),
            files_per_batch,
            bytes_per_batch=settings.batch_bytes,
        )

    planned = plan(settings.files_per_batch)
    if len(planned) < shares:  # a small feed fits in fewer batches than there are loaders
        planned = plan(max(1, sum(len(b.files) for b in planned) // shares))
    batches.write_text(json.dumps([[i, b.files] for i, b in enumerate(planned)]))
    workers = workers or os.cpu_count() or 1
    finish_step(
        start_step("bench.ingest_bench", "ours_extract", str(feed), str(data_dir),
                   str(batches), str(workers)),
        "ours_extract",
    )  # fmt: skip
    (data_dir / "complete").write_text(f"{feed}\n")
    return data_dir


def landing_files(data_dir: Path) -> list[Path]:
    from ingest.loader import pending_files

    return [path for _, _, path in pending_files(data_dir / "landing")]


def split_by_batch(data_dir: Path, loaders: int, into: Path) -> list[Path]:
    """``loaders`` data dirs, the i-th holding hard links to the landing files of the
    extract batches i, i + ``loaders``, …: disjoint shares, the same paths below each."""
    dirs = [into / f"loader-{i}" for i in range(loaders)]
    for path in landing_files(data_dir):
        found = _BATCH.search(path.name)
        if found is None:
            raise ValueError(f"{path.name}: not a landing file of an extract batch")
        link = dirs[int(found[1]) % loaders] / path.relative_to(data_dir)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, link)
    return dirs


def run_loaders(target_arg: str, data_dirs: list[str], env: dict[str, str] | None) -> dict:
    """One loader process per data dir, all started at once; the wall time to the last
    one's exit and each one's result."""
    started = time.perf_counter()
    with lake_catalog.environment(env or {}):
        procs = [start_step(MODULE, "load", target_arg, d) for d in data_dirs]
    results = [finish_step(proc, "load") for proc in procs]
    wall = time.perf_counter() - started
    conflicts: Counter[str] = Counter()
    for r in results:
        conflicts.update(r["conflicts"])
    return {
        "wall_s": round(wall, 2),
        "rows": sum(r["rows"] for r in results),
        "files_loaded": sum(r["files_loaded"] for r in results),
        "files_left_to_others": sum(r["files_left_to_others"] for r in results),
        "conflicts": dict(conflicts),
        "load_s": [r["load_s"] for r in results],
        "files_each": [r["files_loaded"] for r in results],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
    }


def configurations(loaders: list[int], splits: list[str]) -> list[tuple[str, int, str]]:
    """(warehouse, loaders, split) in the order a try runs them: the file first, then the
    lake by growing number of loaders."""
    found = [("file", 1, "all")]
    for n in sorted(set(loaders)):
        if n == 1:
            found.append(("lake", 1, "all"))
        else:
            found.extend(("lake", n, split) for split in splits)
    return found


def bench(
    posts: int,
    workdir: Path,
    loaders: list[int],
    splits: tuple[str, ...] | list[str] = SPLITS,
    repeat: int = 1,
    server: lake_catalog.CatalogServer | None = None,
) -> dict:
    """Every configuration, ``repeat`` times alternated, each on a new warehouse, each
    checked against the first serial file load; the fastest try of each."""
    shares = max(loaders) if "batches" in splits else 1
    data_dir = landing_for(posts, workdir, shares=shares)
    files = landing_files(data_dir)
    planned = configurations(loaders, splits)
    reference = None
    tries: list[list[dict]] = []
    with lake_catalog.running(server) as server:
        for attempt in range(repeat):
            run_dir = workdir / f"lake-load-run-{attempt}"
            shutil.rmtree(run_dir, ignore_errors=True)
            run_dir.mkdir()
            results = []
            for i, (warehouse, n, split) in enumerate(planned):
                here = run_dir / f"{i}-{warehouse}-{n}-{split}"
                here.mkdir()
                env = None
                target_arg = str(here / "warehouse.duckdb")
                if warehouse == "lake":
                    env = lake_catalog.lake_env(server.lake(here / "lake"))
                    target_arg = lake_catalog.LAKE_ARG
                _step("prepare", target_arg, env=env)
                if split == "batches":
                    dirs = [str(d) for d in split_by_batch(data_dir, n, here / "split")]
                else:
                    dirs = [str(data_dir)] * n
                run = run_loaders(target_arg, dirs, env)
                checked = _step("verify", target_arg, env=env)
                if reference is None:
                    if warehouse != "file":
                        raise ValueError("the serial file load comes first: it is the reference")
                    reference = checked["tables"]
                wrong = differences(reference, checked["tables"])
                if run["files_loaded"] != len(files):
                    wrong.append(f"{run['files_loaded']} files loaded of {len(files)}")
                row = {"warehouse": warehouse, "loaders": n, "split": split, **run}
                row.update({k: v for k, v in checked.items() if k != "tables"})
                row["wrong"] = wrong
                results.append(row)
                print(
                    f"  try {attempt + 1}/{repeat} {warehouse} ×{n} {split}: {run['wall_s']} s, "
                    f"conflicts redone {sum(run['conflicts'].values())}"
                    + (f"; NOT THE SERIAL LOAD'S ROWS: {'; '.join(wrong)}" if wrong else ""),
                    file=sys.stderr,
                    flush=True,
                )
                shutil.rmtree(here, ignore_errors=True)
            tries.append(results)
            shutil.rmtree(run_dir, ignore_errors=True)
    return {
        "posts": reference["core.posts"][0],
        "rows": tries[0][0]["rows"],
        "files": len(files),
        "landing_mb": round(sum(f.stat().st_size for f in files) / 1e6),
        "results": _fastest(tries),
    }


def differences(reference: dict, found: dict) -> list[str]:
    """How the checked tables differ from the serial load's, a line per table."""
    return [
        f"{t}: {found[t][0]:,} rows with {found[t][2]:,} distinct keys where the serial load "
        f"has {reference[t][0]:,} with {reference[t][2]:,}"
        + ("" if found[t][0] != reference[t][0] else " (same count, other checksum)")
        for t in CHECKED_TABLES
        if reference[t] != found[t]
    ]


def _fastest(tries: list[list[dict]]) -> list[dict]:
    """Per configuration, the fastest try, with the slowest try's wall time, the largest
    peak RSS and every try's conflicts added up."""
    best = []
    for same in zip(*tries, strict=True):
        right = [r for r in same if not r["wrong"]]
        row = dict(min(right or same, key=lambda r: r["wall_s"]))
        # a configuration that gave wrong rows once is wrong, however fast its other tries
        row["wrong_tries"] = [r["wrong"] for r in same if r["wrong"]]
        row["slowest_s"] = max(r["wall_s"] for r in same)
        row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in same)
        row["tries"] = len(same)
        total: Counter[str] = Counter()
        for r in same:
            total.update(r["conflicts"])
        row["conflicts_all_tries"] = dict(total)
        best.append(row)
    return best


def _split_label(row: dict) -> str:
    if row["loaders"] == 1:
        return "all files"
    if row["split"] == "shared":
        return "shared: each sees all files"
    return f"disjoint: 1 in {row['loaders']} extract batches"


def report(run: dict) -> str:
    file = run["results"][0]
    tries = file["tries"]
    lines = [
        f"### Lake load throughput, {run['posts']:,} posts, {run['files']} landing files, "
        f"{run['landing_mb']:,} MB ({machine()}, duckdb {duckdb.__version__}, "
        f"{_ducklake_version()}, catalog in Postgres)",
        "",
        "| warehouse | loaders | files | wall (s) | rows/s | × file | conflicts redone | "
        "files left to others | each loader: files in its own load time | peak RSS (MB) | "
        "Parquet data / delete files | the serial load's rows |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in run["results"]:
        each = zip(r["files_each"], r["load_s"], strict=True)
        wall = f"{r['wall_s']}" + (f" ({r['slowest_s']})" if r["slowest_s"] > r["wall_s"] else "")
        lake = r["warehouse"] == "lake"
        wrong = r["wrong_tries"]
        if wrong:
            # never a throughput for rows that are not the serial load's
            speed, ratio = "-", "-"
            same = f"**no**, in {len(wrong)} of {r['tries']} tries: {'; '.join(wrong[0])}"
        else:
            speed, ratio = (
                f"{run['rows'] / r['wall_s']:,.0f}",
                f"{r['wall_s'] / file['wall_s']:.2f}×",
            )
            same = "reference" if r is file else "yes"
        cells = [
            "DuckLake" if lake else "DuckDB file",
            str(r["loaders"]),
            _split_label(r),
            wall,
            speed,
            ratio,
            str(sum(r["conflicts_all_tries"].values())) if lake else "-",
            str(r["files_left_to_others"]) if lake else "-",
            " / ".join(f"{n} in {s} s" for n, s in each),
            str(r["peak_rss_mb"]),
            f"{r['data_files']} / {r['delete_files']}" if lake else "-",
            same,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"- rows: the {run['rows']:,} rows of the landing files (every entity but rejects), "
        "the same in every run; rows/s = rows / wall"
    )
    redone: Counter[str] = Counter()
    for r in run["results"]:
        redone.update(r["conflicts_all_tries"])
    if redone:
        what = ", ".join(f"{name} {n}" for name, n in redone.most_common())
        lines.append(f"- commit conflicts redone, over all tries, by what: {what}")
    else:
        lines.append("- no commit conflicted in any try")
    if tries > 1:
        lines.append(
            f"- wall: the fastest of {tries} alternated tries (the slowest in brackets); "
            "conflicts: every try's added up"
        )
    lines.append(
        "- checked after every run: the counts, distinct keys and checksums (every column "
        "but load_id and loaded_at) of the core tables, meta.rejects and meta.loaded_files "
        "against the serial file load's"
        + ("" if any_wrong(run) else "; every run held the serial load's rows")
    )
    lines.append("")
    return "\n".join(lines)


def any_wrong(run: dict) -> bool:
    return any(r["wrong_tries"] for r in run["results"])


def _ducklake_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"ducklake extension {version('duckdb_extension_ducklake')}"
    except PackageNotFoundError:
        return "ducklake extension"


def main() -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}")
    parser.add_argument("--posts", type=int, default=500_000)
    parser.add_argument("--loaders", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument(
        "--split",
        nargs="+",
        choices=SPLITS,
        default=list(SPLITS),
        help="shared: every loader sees every file; batches: each loads every Nth extract "
        "batch's files",
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=ROOT / "data" / "bench",
        help="feeds and landing files are cached here between runs",
    )
    parser.add_argument("--append-to", type=Path, help="markdown file to append the table to")
    parser.add_argument("--results-json", type=Path, help="also write the raw results here")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.step:
        report_step(STEPS[args.step](*rest))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    run = bench(args.posts, args.workdir, args.loaders, args.split, args.repeat)
    if args.results_json:
        args.results_json.write_text(json.dumps(run, indent=1))
    publish(report(run), args.append_to)
    if any_wrong(run):
        sys.exit("some loads did not give the serial load's rows (see the table)")


if __name__ == "__main__":
    main()
