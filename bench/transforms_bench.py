"""Transform benchmark: full rebuild of every model, then incremental days.

A synthetic warehouse (N posts over D days, daily follower snapshots) is generated straight
into the core tables with DuckDB, then each step runs in its own process so that wall time
and peak memory belong to that step alone. The anchor, in the same run on the same data, is
the plain DuckDB query from DESIGN.md: rolling 30-day ER + daily rollup + hashtag counts.

``--backend lake`` runs the same steps on a DuckLake (catalog in a Postgres the benchmark
starts on 127.0.0.1 and stops by PID, Parquet files under its work dir); ``--backend both``
runs the two side by side, step by step alternated, each with its own warehouse of the same
data, and ``--repeat N`` keeps each step's fastest of N such tries.

    python -m bench.transforms_bench --posts 5000000 --days 365 --accounts 20000
    python -m bench.transforms_bench --posts 5000000 --days 365 --accounts 20000 --backend both
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from bench import lake_catalog
from bench.common import finish_step, machine, publish, report_step, start_step

START = datetime(2025, 3, 1)
WORDS = [
    "tofu bowl",
    "sourdough loaf",
    "monstera cutting",
    "trail run",
    "lentil soup",
    "levain",
    "repotting day",
    "ultramarathon",
    "vegan chili",
    "coffee",
    "match day",
    "new phone",
    "tempeh",
    "crumb shot",
    "pothos",
    "vert",
    "Sauerteigbrot",
    "receta vegana",
]
TAGS = ["vegan", "sourdough", "houseplants", "trailrunning", "bread", "plantbased", "news"]


def generate(path, accounts: int, posts: int, days: int) -> None:
    """Core tables for ``posts`` posts over ``days`` days, in time order (``path``: a
    DuckDB file or a ``Lake``)."""
    from radar.settings import RadarSettings
    from radar.warehouse import apply_schema, connect

    with connect(path) as conn:
        apply_schema(conn, RadarSettings().sql_dir)
        conn.execute("set variable start_at = ?::timestamp", [START])
        conn.execute("set variable days = ?", [days])
        conn.execute("set variable n_accounts = ?", [accounts])
        conn.execute("set variable n_posts = ?", [posts])
        conn.execute("set variable words = ?", [WORDS])
        conn.execute("set variable tags = ?", [TAGS])
        # one load, as the loader stamps it (see sql/schema/0005_load_ids.sql)
        _take_load_id(conn)
        conn.execute("""
            insert into core.accounts
            select if(i % 2 = 0, 'mastodon', 'bluesky'), 'acct' || i, 'acct' || i, null, null,
                   null, null, false, 'active', null, null, 'bench',
                   getvariable('start_at'), getvariable('start_at')
            from range(getvariable('n_accounts')) as t(i)""")
        conn.execute("""
            insert into core.account_snapshots
            select if(a % 2 = 0, 'mastodon', 'bluesky'), 'acct' || a,
                   getvariable('start_at') + to_days(d::integer) + interval 6 hours,
                   ((2000 + hash(a) % 150000) * (1 + 0.001 * d))::bigint, 300, 1000, 'exact',
                   getvariable('load_id')
            from range(getvariable('n_accounts')) as a(a),
                 range(getvariable('days')) as d(d)""")
        conn.execute("""
            insert into core.posts
            select platform, 'post' || j, 'acct' || a, created_at, null,
                   list_element(getvariable('words'), 1 + (hash(j) % 18)::integer) || ' ' ||
                   list_element(getvariable('words'), 1 + (hash(j + 1) % 18)::integer),
                   'en', [list_element(getvariable('tags'), 1 + (hash(j + 2) % 7)::integer)],
                   [], null,
                   case when j % 20 = 0 then 'repost' when j % 20 = 1 then 'reply'
                        else 'original' end,
                   if(j % 20 = 0, 'post' || (j - 1), null), null, created_at, created_at,
                   getvariable('load_id')
            from (
                select j, (hash(j) % getvariable('n_accounts'))::bigint as a,
                       if(a % 2 = 0, 'mastodon', 'bluesky') as platform,
                       getvariable('start_at') + to_microseconds(
                           (j::hugeint * getvariable('days') * 86400000000
                            // getvariable('n_posts'))::bigint
                       ) as created_at
                from range(getvariable('n_posts')) as t(j)
            )""")
        conn.execute("""
            insert into core.post_metric_snapshots
            select p.platform, p.post_id, p.created_at + interval 1 day,
                   (hash(p.post_id) % 900)::bigint, (hash(p.post_id || 'c') % 60)::bigint,
                   (hash(p.post_id || 's') % 40)::bigint, 0, null, getvariable('load_id')
            from core.posts as p where p.kind <> 'repost'""")


def _take_load_id(conn: duckdb.DuckDBPyConnection) -> None:
    """``load_id`` := the next value of ``meta.load_seq``, taken as a load takes it: on the
    lake (no sequences) from its one-row table, outside a transaction."""
    from radar.warehouse import next_load_id

    conn.execute("set variable load_id = ?::bigint", [next_load_id(conn)])


def add_day(path, accounts: int, posts: int, days: int, day: int = 0, volume: int = 1) -> None:
    """What a daily load brings for day ``days + day``: a follower snapshot per account,
    ``volume`` days' worth of new posts with their counts, and fresh counts of the posts
    of the two days before."""
    from radar.warehouse import connect

    per_day = posts // days * volume
    day_start = START + timedelta(days=days + day)
    prefix = f"new{day}-"
    with connect(path) as conn:
        _take_load_id(conn)
        conn.execute(
            """
            insert into core.account_snapshots
            select if(a % 2 = 0, 'mastodon', 'bluesky'), 'acct' || a, ?::timestamp,
                   ((2000 + hash(a) % 150000) * (1 + 0.001 * ?))::bigint, 300, 1000, 'exact',
                   getvariable('load_id')
            from range(?) as a(a)""",
            [day_start + timedelta(hours=6), days + day, accounts],
        )
        conn.execute(
            """
            insert into core.post_metric_snapshots
            select platform, post_id, $1::timestamp, 130, 14, 6, 0, null, getvariable('load_id')
            from core.posts as p
            where created_at >= $2::timestamp and created_at < $3::timestamp
                and not exists (select 1 from core.post_metric_snapshots as m
                                where m.post_id = p.post_id and m.observed_at = $1::timestamp)""",
            [day_start + timedelta(hours=12), day_start - timedelta(days=2), day_start],
        )
        conn.execute(
            """
            insert into core.posts
            select if(a % 2 = 0, 'mastodon', 'bluesky'), ? || j, 'acct' || a, created_at,
                   null, 'sourdough loaf and tofu bowl', 'en', ['sourdough'], [], null,
                   'original', null, null, created_at, created_at, getvariable('load_id')
            from (select j, (hash(j) % ?)::bigint as a,
                         ?::timestamp + to_microseconds(j * 86400000000 // ?) as created_at
                  from range(?) as t(j))""",
            [prefix, accounts, day_start, per_day, per_day],
        )
        conn.execute(
            """
            insert into core.post_metric_snapshots
            select platform, post_id, created_at + interval 1 hour, 120, 12, 6, 0, null,
                   getvariable('load_id')
            from core.posts where starts_with(post_id, ?)""",
            [prefix],
        )


def run_transforms_at(path, as_of: datetime) -> dict:
    from radar.settings import RadarSettings
    from radar.warehouse import Lake, connect
    from transforms.runner import run_transforms

    settings = RadarSettings()
    started, cpu = time.perf_counter(), time.process_time()
    with connect(path) as conn:
        connected = time.perf_counter()
        before = _lake_snapshot(conn) if isinstance(path, Lake) else None
        summary = run_transforms(conn, settings.sql_dir, settings.config_dir, as_of)
        ran = time.perf_counter()
        written = _lake_files_since(conn, before) if before is not None else {}
    slowest = sorted(summary.seconds.items(), key=lambda item: -item[1])[:5]
    return {
        "slowest": [f"{name.split('.')[1]} {seconds:.1f} s" for name, seconds in slowest],
        # the models and their tests; the rest of the run is config tables, locks, commit
        "models_s": round(sum(summary.seconds.values()), 2),
        "tests_s": round(sum(summary.test_seconds.values()), 2),
        # every model's seconds (its tests' part in test_seconds), for --results-json
        "seconds": summary.seconds,
        "test_seconds": summary.test_seconds,
        "run_s": round(ran - connected, 2),
        "connect_s": round(connected - started, 2),
        # every thread's CPU: on a shared machine the figure that others' work moves least
        "cpu_s": round(time.process_time() - cpu, 2),
        **written,
    }


# the catalog's own tables, as the ducklake extension attaches them beside the lake
_LAKE_METADATA = "__ducklake_metadata_warehouse"


def _lake_snapshot(conn: duckdb.DuckDBPyConnection) -> int:
    return conn.execute(
        f"select max(snapshot_id) from {_LAKE_METADATA}.ducklake_snapshot"
    ).fetchone()[0]


def _lake_files_since(conn: duckdb.DuckDBPyConnection, snapshot: int) -> dict:
    """The Parquet data and delete files the lake's commits after ``snapshot`` added."""
    data, deletes = (
        conn.execute(
            f"select count(*) from {_LAKE_METADATA}.{table} where begin_snapshot > ?",
            [snapshot],
        ).fetchone()[0]
        for table in ("ducklake_data_file", "ducklake_delete_file")
    )
    return {"data_files": data, "delete_files": deletes}


ANCHOR_SQL = """
with posts as (
    select p.account_id, p.created_at, m.likes + m.comments + m.shares as engagements,
           p.hashtags
    from core.posts as p join core.post_metric_snapshots as m using (platform, post_id)
    where p.kind = 'original'
),
rolling as (
    select account_id, created_at,
           avg(engagements) over (partition by account_id order by created_at
               range between interval 30 days preceding and current row) as er_30d
    from posts
),
daily as (select account_id, created_at::date as day, count(*) as n, avg(er_30d) as er
          from rolling group by all),
tags as (select tag, count(*) from (select unnest(hashtags) as tag from posts) group by tag)
select (select count(*) from daily), (select count(*) from tags)
"""


def anchor(path) -> dict:
    from radar.warehouse import Lake, connect

    cpu = time.process_time()
    if isinstance(path, Lake):
        # as the file's: read-only, DuckDB's own memory limit
        conn = connect(path, read_only=True, memory_limit="")
    else:
        conn = duckdb.connect(str(path), read_only=True)
    with conn:
        conn.execute(ANCHOR_SQL).fetchall()
    return {"cpu_s": round(time.process_time() - cpu, 2)}


STEPS = {
    "generate": generate,
    "add_day": add_day,
    "transforms": run_transforms_at,
    "anchor": anchor,
}


def measured(step: str, *args: str, env: dict[str, str] | None = None) -> dict:
    """Run one step in a fresh process (``env``: added to its environment); its wall time
    and peak RSS."""
    load = os.getloadavg()[0]  # others' work on a shared machine: noted beside the figures
    started = time.perf_counter()
    with lake_catalog.environment(env or {}):
        proc = start_step("bench.transforms_bench", step, *args)
    result = finish_step(proc, step)
    wall = time.perf_counter() - started
    return {"step": step, "wall_s": round(wall, 2), "load_1m": round(load, 2), **result}


def _step_main(step: str, args: list[str]) -> None:
    path = lake_catalog.target(args[0])
    if step == "transforms":
        report_step(STEPS[step](path, datetime.fromisoformat(args[1])))
        return
    if step == "anchor":
        report_step(STEPS[step](path))
        return
    STEPS[step](path, *map(int, args[1:]))
    report_step()


# an ordinary day first, then days with 4×, no and 16× the new posts
DAY_VOLUMES = (1, 4, 0, 16)
BACKENDS = ("file", "lake")


def steps(posts: int, days: int, accounts: int, volumes=DAY_VOLUMES) -> list[tuple]:
    """The benchmark's steps in order: (name, step, its arguments after the warehouse,
    extra fields of its result)."""
    sizes = [str(accounts), str(posts), str(days)]
    as_of = START + timedelta(days=days)
    planned = [
        ("generate", "generate", sizes, {}),
        ("anchor", "anchor", [], {}),
        ("full", "transforms", [as_of.isoformat()], {}),
    ]
    # days on top, each loading a different number of days' worth of new posts, so that the
    # report can split a day's cost into the part set by the window and the part per post
    for day, volume in enumerate(volumes):
        planned.append(("add day", "add_day", [*sizes, str(day), str(volume)], {}))
        next_day = (as_of + timedelta(days=day + 1)).isoformat()
        planned.append((day_step(volume), "transforms", [next_day], {"volume": volume}))
    return planned


def bench(
    posts: int,
    days: int,
    accounts: int,
    workdir: Path,
    backend: str = "file",
    repeat: int = 1,
    server: lake_catalog.CatalogServer | None = None,
    volumes: tuple[int, ...] = DAY_VOLUMES,
) -> list[dict]:
    """Every step on each backend (``both``: the file's and the lake's, alternated step by
    step, each on its own warehouse of the same data), ``repeat`` times from a new
    warehouse; each step's fastest try, with ``backend`` and the slowest try's time.
    The lake's catalog lives in ``server`` when given, else in a Postgres started here."""
    backends = BACKENDS if backend == "both" else (backend,)
    planned = steps(posts, days, accounts, volumes)
    tries: list[list[dict]] = []
    with contextlib.ExitStack() as stack:
        if "lake" in backends:
            server = stack.enter_context(lake_catalog.running(server))
        for attempt in range(repeat):
            folder = workdir / f"try-{attempt}"
            folder.mkdir()
            where = {}
            for name in backends:
                if name == "file":
                    where[name] = (str(folder / "bench.duckdb"), None)
                else:
                    lake = server.lake(folder / "lake")
                    where[name] = (lake_catalog.LAKE_ARG, lake_catalog.lake_env(lake))
            results = []
            for label, step, args, extra in planned:
                for name in backends:
                    warehouse, env = where[name]
                    run = measured(step, warehouse, *args, env=env)
                    results.append(run | {"step": label, "backend": name, **extra})
                    print(
                        f"  try {attempt + 1}/{repeat} {name:4} {label}: {run['wall_s']} s",
                        file=sys.stderr,
                        flush=True,
                    )
            tries.append(results)
            shutil.rmtree(folder, ignore_errors=True)  # 5 M posts: GBs per backend
    return _fastest(tries)


def _fastest(tries: list[list[dict]]) -> list[dict]:
    """Per step (the same place in every try), the fastest try, with the slowest try's
    wall time and the largest peak RSS: on a shared machine a step's best time is its own
    cost, the rest is noise."""
    best = []
    for same in zip(*tries, strict=True):
        row = dict(min(same, key=lambda r: r["wall_s"]))
        row["slowest_s"] = max(r["wall_s"] for r in same)
        row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in same)
        row["tries"] = len(same)
        best.append(row)
    return best


def day_step(volume: int) -> str:
    if volume == 1:
        return "incremental day"
    return "incremental day, no new posts" if volume == 0 else f"incremental day, {volume}× posts"


def fixed_and_per_volume(days: list[dict]) -> tuple[float, float]:
    """Least-squares line through (new posts in days' worth, wall): the part of a day that
    does not depend on its new posts, and the cost of each day's worth of posts."""
    xs = [d["volume"] for d in days]
    ys = [d["wall_s"] for d in days]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mean_x) ** 2 for x in xs
    )
    return mean_y - slope * mean_x, slope


def report(results: list[dict], posts: int, days: int, accounts: int) -> str:
    if len({r.get("backend", "file") for r in results}) > 1:
        return report_side_by_side(results, posts, days, accounts)
    on_lake = results[0].get("backend") == "lake"
    by_step = {r["step"]: r for r in results}
    full, day, floor = by_step["full"], by_step["incremental day"], by_step["anchor"]
    fixed, per_volume = fixed_and_per_volume([r for r in results if "volume" in r])
    lines = [
        f"### Transforms, {posts:,} posts, {accounts:,} accounts, {days} days "
        f"{'on a DuckLake ' if on_lake else ''}({machine()}, duckdb {duckdb.__version__})",
        "",
        "| step | wall (s) | CPU (s) | in models / their data tests (s) | peak RSS (MB) "
        "| slowest models |",
        "|---|---|---|---|---|---|",
        *[
            f"| {r['step']} | {_seconds(r)} | {r.get('cpu_s', '')} | {models} "
            f"| {r['peak_rss_mb']} | {slowest} |"
            for r in results
            for slowest in [", ".join(r.get("slowest", []))]
            for models in [f"{r['models_s']} / {r['tests_s']}" if "tests_s" in r else ""]
        ],
        "",
        f"- load average (1 min) at the steps' starts: {_load_range(results)}"
        + (
            f"; each step the fastest of {results[0]['tries']} tries (the slowest in brackets)"
            if results[0].get("tries", 1) > 1
            else ""
        ),
        f"- full rebuild of every model / anchor query: {full['wall_s'] / floor['wall_s']:.1f}×",
        f"- incremental day / full rebuild: {day['wall_s'] / full['wall_s']:.2f}× "
        f"(the new day is {1 / days:.1%} of the posts)",
        f"- a day with 4× the posts / an ordinary day: "
        f"{by_step['incremental day, 4× posts']['wall_s'] / day['wall_s']:.2f}×",
        f"- a day's cost, fitted over the days with {', '.join(map(str, DAY_VOLUMES))} days' "
        f"worth of new posts ({posts // days:,} posts each): {fixed:.1f} s whatever the new "
        f"posts + {per_volume:.2f} s per day's worth",
        "",
    ]
    return "\n".join(lines)


def report_side_by_side(results: list[dict], posts: int, days: int, accounts: int) -> str:
    """The file's and the lake's steps side by side, with the ratio lake / file."""
    file = [r for r in results if r["backend"] == "file"]
    lake = [r for r in results if r["backend"] == "lake"]
    tries = file[0].get("tries", 1)
    lines = [
        f"### Transforms, DuckDB file vs DuckLake, {posts:,} posts, {accounts:,} accounts, "
        f"{days} days ({machine()}, duckdb {duckdb.__version__}, {_ducklake_version()})",
        "",
        "| step | file (s) | lake (s) | lake / file | in models, file / lake (s) | "
        "lake: Parquet data / delete files written | "
        "peak RSS file / lake (MB) | slowest models, file | slowest models, lake |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for f, k in zip(file, lake, strict=True):
        models = f"{f['models_s']} / {k['models_s']}" if "models_s" in f else ""
        files = f"{k['data_files']:,} / {k['delete_files']:,}" if "data_files" in k else ""
        lines.append(
            f"| {f['step']} | {_seconds(f)} | {_seconds(k)} | "
            f"{k['wall_s'] / f['wall_s']:.2f}× | {models} | {files} | "
            f"{f['peak_rss_mb']:,} / {k['peak_rss_mb']:,} | "
            f"{', '.join(f.get('slowest', [])[:3])} | {', '.join(k.get('slowest', [])[:3])} |"
        )
    lines.append("")
    by = {name: {r["step"]: r for r in rows} for name, rows in (("file", file), ("lake", lake))}
    ratios = ", ".join(
        f"{step} {by['lake'][step]['wall_s'] / by['file'][step]['wall_s']:.2f}×"
        for step in ("full", "incremental day")
        if step in by["file"]
    )
    lines.append(f"- lake / file: {ratios}")
    for name in BACKENDS:
        steps_of = by[name]
        full_s = steps_of["full"]["wall_s"]
        parts = [f"full rebuild / anchor {full_s / steps_of['anchor']['wall_s']:.1f}×"]
        if "incremental day" in steps_of:
            parts.append(
                "incremental day / full rebuild "
                f"{steps_of['incremental day']['wall_s'] / full_s:.2f}×"
            )
        outside = [
            f"{step} {steps_of[step]['wall_s'] - steps_of[step]['models_s']:.1f} s"
            for step in ("full", "incremental day")
            if step in steps_of
        ]
        parts.append(
            "outside the models (process start, connect, config tables, lock, commit): "
            + ", ".join(outside)
        )
        days_run = [r for r in (file if name == "file" else lake) if "volume" in r]
        if len({d["volume"] for d in days_run}) > 1:
            fixed, per_volume = fixed_and_per_volume(days_run)
            parts.append(f"a day fitted as {fixed:.1f} s + {per_volume:.2f} s per day's worth")
        lines.append(f"- {name}: " + "; ".join(parts))
    if tries > 1:
        lines.append(
            f"- each step: the fastest of {tries} alternated tries (the slowest in brackets), "
            "each try on new warehouses; peak RSS: the largest try"
        )
    lines.append("")
    return "\n".join(lines)


def _load_range(results: list[dict]) -> str:
    loads = [r["load_1m"] for r in results if "load_1m" in r]
    return f"{min(loads):.1f}-{max(loads):.1f}" if loads else "not recorded"


def _seconds(row: dict) -> str:
    if row.get("tries", 1) > 1 and row["slowest_s"] > row["wall_s"]:
        return f"{row['wall_s']} ({row['slowest_s']})"
    return str(row["wall_s"])


def _ducklake_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"ducklake extension {version('duckdb_extension_ducklake')}"
    except PackageNotFoundError:
        return "ducklake extension"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.transforms_bench")
    parser.add_argument("--posts", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument(
        "--backend",
        choices=("file", "lake", "both"),
        default="file",
        help="the DuckDB file, a DuckLake on a Postgres the benchmark starts, or both side "
        "by side, step by step alternated",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every step this many times (each try on new warehouses) and keep its fastest",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where the warehouses go (default: a temporary folder, removed at the end)",
    )
    parser.add_argument("--append-to", type=Path, help="markdown file to append the table to")
    parser.add_argument("--results-json", type=Path, help="also write the raw results here")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.step:
        _step_main(args.step, rest)
        return
    parent = args.workdir
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="radar-bench-", dir=parent) as workdir:
        results = bench(
            args.posts,
            args.days,
            args.accounts,
            Path(workdir),
            backend=args.backend,
            repeat=args.repeat,
        )
    if args.results_json:
        args.results_json.write_text(json.dumps(results, indent=1))
    text = report(results, args.posts, args.days, args.accounts)
    publish(text, args.append_to)


if __name__ == "__main__":
    main()
