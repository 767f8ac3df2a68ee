"""Transform benchmark: full rebuild of every model, then incremental days.

A synthetic warehouse (N posts over D days, daily follower snapshots) is generated straight
into the core tables with DuckDB, then each step runs in its own process so that wall time
and peak memory belong to that step alone. The anchor, in the same run on the same data, is
the plain DuckDB query from DESIGN.md: rolling 30-day ER + daily rollup + hashtag counts.

    python -m bench.transforms_bench --posts 5000000 --days 365 --accounts 20000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

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


def generate(path: Path, accounts: int, posts: int, days: int) -> None:
    """Core tables for ``posts`` posts over ``days`` days, in time order."""
    from ingest.settings import RadarSettings
    from ingest.warehouse import apply_schema, connect

    with connect(path) as conn:
        apply_schema(conn, RadarSettings().sql_dir)
        conn.execute("set variable start_at = ?::timestamp", [START])
        conn.execute("set variable days = ?", [days])
        conn.execute("set variable n_accounts = ?", [accounts])
        conn.execute("set variable n_posts = ?", [posts])
        conn.execute("set variable words = ?", [WORDS])
        conn.execute("set variable tags = ?", [TAGS])
        # one load, as the loader stamps it (see sql/schema/0005_load_ids.sql)
        conn.execute("set variable load_id = nextval('meta.load_seq')")
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


def add_day(
    path: Path, accounts: int, posts: int, days: int, day: int = 0, volume: int = 1
) -> None:
    """What a daily load brings for day ``days + day``: a follower snapshot per account,
    ``volume`` days' worth of new posts with their counts, and fresh counts of the posts
    of the two days before."""
    from ingest.warehouse import connect

    per_day = posts // days * volume
    day_start = START + timedelta(days=days + day)
    prefix = f"new{day}-"
    with connect(path) as conn:
        conn.execute("set variable load_id = nextval('meta.load_seq')")
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


def run_transforms_at(path: Path, as_of: datetime) -> dict:
    from ingest.settings import RadarSettings
    from ingest.warehouse import connect
    from transforms.runner import run_transforms

    settings = RadarSettings()
    with connect(path) as conn:
        summary = run_transforms(conn, settings.sql_dir, settings.config_dir, as_of)
    slowest = sorted(summary.seconds.items(), key=lambda item: -item[1])[:5]
    return {"slowest": [f"{name.split('.')[1]} {seconds:.1f} s" for name, seconds in slowest]}


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


def anchor(path: Path) -> None:
    with duckdb.connect(str(path), read_only=True) as conn:
        conn.execute(ANCHOR_SQL).fetchall()


STEPS = {
    "generate": generate,
    "add_day": add_day,
    "transforms": run_transforms_at,
    "anchor": anchor,
}


def measured(step: str, *args: str) -> dict:
    """Run one step in a fresh process; its wall time and peak RSS."""
    started = time.perf_counter()
    result = finish_step(start_step("bench.transforms_bench", step, *args), step)
    wall = time.perf_counter() - started
    return {"step": step, "wall_s": round(wall, 2), **result}


def _step_main(step: str, args: list[str]) -> None:
    path = Path(args[0])
    if step == "transforms":
        report_step(STEPS[step](path, datetime.fromisoformat(args[1])))
        return
    if step == "anchor":
        STEPS[step](path)
    else:
        STEPS[step](path, *map(int, args[1:]))
    report_step()


def bench(posts: int, days: int, accounts: int, workdir: Path) -> list[dict]:
    path = workdir / "bench.duckdb"
    sizes = [str(path), str(accounts), str(posts), str(days)]
    as_of = START + timedelta(days=days)
    results = [measured("generate", *sizes)]
    results.append(measured("anchor", str(path)))
    results.append(measured("transforms", str(path), as_of.isoformat()) | {"step": "full"})
    # days on top, each loading a different number of days' worth of new posts, so that the
    # report can split a day's cost into the part set by the window and the part per post
    for day, volume in enumerate(DAY_VOLUMES):
        results.append(measured("add_day", *sizes, str(day), str(volume)) | {"step": "add day"})
        next_day = (as_of + timedelta(days=day + 1)).isoformat()
        run = measured("transforms", str(path), next_day)
        results.append(run | {"step": day_step(volume), "volume": volume})
    return results


# an ordinary day first, then days with 4×, no and 16× the new posts
DAY_VOLUMES = (1, 4, 0, 16)


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
    by_step = {r["step"]: r for r in results}
    full, day, floor = by_step["full"], by_step["incremental day"], by_step["anchor"]
    fixed, per_volume = fixed_and_per_volume([r for r in results if "volume" in r])
    lines = [
        f"### Transforms, {posts:,} posts, {accounts:,} accounts, {days} days "
        f"({machine()}, duckdb {duckdb.__version__})",
        "",
        "| step | wall (s) | peak RSS (MB) | slowest models |",
        "|---|---|---|---|",
        *[
            f"| {r['step']} | {r['wall_s']} | {r['peak_rss_mb']} | {slowest} |"
            for r in results
            for slowest in [", ".join(r.get("slowest", []))]
        ],
        "",
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.transforms_bench")
    parser.add_argument("--posts", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--append-to", type=Path, help="markdown file to append the table to")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.step:
        _step_main(args.step, rest)
        return
    with tempfile.TemporaryDirectory(prefix="radar-bench-") as workdir:
        results = bench(args.posts, args.days, args.accounts, Path(workdir))
    text = report(results, args.posts, args.days, args.accounts)
    publish(text, args.append_to)


if __name__ == "__main__":
    main()
