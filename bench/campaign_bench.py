"""Campaign benchmark: shop and analytics exports → warehouse → attributed campaign marts.

A planted campaign world (``synthetic.campaigns``: 100 campaigns of 10 creators by
default) writes its Shopify orders, GA4 and short-link click exports once, cached under
the work directory with its truth. Then on the same files, each step in a fresh process,
the tries alternated:

- anchor: DuckDB's own ``read_csv`` of the exports into tables (load), then one plain join
  of the orders' codes and the clicks' short links with the creators' (attribute): no
  validation, no landing, no rejects, no UTM, windows, refunds or last touch;
- ours: the campaign_ingest path (terms loaded, each export landed as Parquet with its
  rejects, the loader's exactly-once merge) as load, then the transform run as attribute
  (the campaign models' own seconds, and the whole run's wall time).

Ours is checked against the planted truth: every creator's orders, revenue and clicks must
be what the generator counted, or the benchmark fails.

    python -m bench.campaign_bench --orders 1000000 --clicks 10000000 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import textwrap
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from bench.common import ROOT, finish_step, machine, publish, report_step, start_step

START = date(2026, 3, 2)
CAMPAIGN_MODELS = (
    "intermediate.int_campaign_creators",
    "intermediate.int_campaign_posts",
    "marts.campaign_orders",
    "marts.campaign_creator_results",
    "marts.campaign_results",
    "marts.campaign_shortlist",
)


# --- the steps, each run in its own process by --step ------------------------------------


def cpu_s() -> float:
    """This process's CPU seconds so far, every thread's: on a machine others share, the
    wall time of a step grows with their load, its CPU time much less."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def generate(cache: str, orders: str, clicks: str, campaigns: str, creators: str) -> dict:
    from synthetic.campaigns import plant_campaigns, write_config, write_exports
    from synthetic.world import make_account

    out, n = Path(cache), int(campaigns) * int(creators)
    accounts = [
        make_account(7, platform, i, [], 30, 1.0)
        for platform in ("mastodon", "bluesky")
        for i in range((n + 1) // 2)
    ]
    planted = plant_campaigns(
        7,
        accounts,
        START,
        campaigns=int(campaigns),
        creators=int(creators),
        days=28,
        orders=int(orders),
        clicks=int(clicks),
        stagger_days=1,
    )
    written = write_exports(planted, out / "exports", early_export=False)
    shutil.copytree(ROOT / "config", out / "config")
    write_config(planted, out / "config")
    truth = {
        "as_of": (planted.last_end + timedelta(days=1)).isoformat(),
        "first_start": planted.first_start.isoformat(),
        "written": written,
        "creators": {
            f"{c.campaign}|{c.platform}|{c.handle}": [c.orders, str(c.revenue), c.clicks]
            for c in planted.creators
        },
        "codes": {c.code: f"{c.campaign}|{c.platform}|{c.handle}" for c in planted.creators},
        "links": {c.short_link: f"{c.campaign}|{c.platform}|{c.handle}" for c in planted.creators},
    }
    (out / "truth.json").write_text(json.dumps(truth))
    mb = sum(p.stat().st_size for p in (out / "exports").rglob("*.csv")) / 1e6
    return {**written, "exports_mb": round(mb)}


def anchor(cache: str, db: str) -> dict:
    exports, truth = Path(cache) / "exports", json.loads((Path(cache) / "truth.json").read_text())
    with duckdb.connect(db) as conn:
        started, cpu = time.perf_counter(), cpu_s()
        conn.execute(f"create table orders as select * from read_csv('{exports}/shopify/*.csv')")
        conn.execute(
            f"create table clicks as select * from read_csv('{exports}/short_links/*.csv')"
        )
        conn.execute(
            f"create table ga4 as select * from read_csv('{exports}/ga4/*.csv', comment = '#')"
        )
        load_s, load_cpu_s = time.perf_counter() - started, cpu_s() - cpu
        codes = list(truth["codes"].items())
        links = list(truth["links"].items())
        conn.execute("create table codes (code varchar, creator varchar)")
        conn.executemany("insert into codes values (?, ?)", codes)
        conn.execute("create table links (link varchar, creator varchar)")
        conn.executemany("insert into links values (?, ?)", links)
        started, cpu = time.perf_counter(), cpu_s()
        # the plainest attribution: an order's one code, a click's short link, summed
        conn.execute(
            """create table anchor_results as
               with o as (
                   select c.creator, count(*) as orders, sum("Subtotal") as revenue,
                   from orders join codes as c on upper("Discount Code") = c.code
                   group by all
               ), k as (
                   select l.creator, count(*) as clicks,
                   from clicks
                   join links as l
                       on lower(regexp_replace("Short Link", '^https?://', '')) = l.link
                   group by all
               )
               select * from o full join k using (creator)"""
        )
        attribute_s, attribute_cpu_s = time.perf_counter() - started, cpu_s() - cpu
        rows = conn.execute("select count(*) from orders").fetchone()[0]
    return {
        "load_s": load_s,
        "load_cpu_s": load_cpu_s,
        "attribute_s": attribute_s,
        "attribute_cpu_s": attribute_cpu_s,
        "order_lines": rows,
    }


def ours_load(cache: str, data_dir: str) -> dict:
    from ingest.campaigns.history import load_terms
    from ingest.campaigns.landing import land_exports
    from ingest.campaigns.runs import landed_sources
    from ingest.campaigns.terms import read_campaigns
    from ingest.loader import load_pending
    from radar.settings import RadarSettings
    from radar.warehouse import apply_schema, connect

    cache_dir, data = Path(cache), Path(data_dir)
    truth = json.loads((cache_dir / "truth.json").read_text())
    settings = RadarSettings()
    started, cpu = time.perf_counter(), cpu_s()
    landed = land_exports(cache_dir / "exports", data / "landing")
    land_s, land_cpu_s = time.perf_counter() - started, cpu_s() - cpu
    if landed.failed or landed.rejects:
        raise RuntimeError(f"exports did not land cleanly: {landed}")
    # the terms first, untimed, as the DAG's load_terms task writes them
    with connect(data / "warehouse.duckdb", memory_limit=settings.load_memory_limit) as conn:
        apply_schema(conn, settings.sql_dir)
        config = read_campaigns(cache_dir / "config")
        load_terms(conn, config, datetime.fromisoformat(truth["first_start"]))
    started, cpu = time.perf_counter(), cpu_s()
    with connect(data / "warehouse.duckdb", memory_limit=settings.load_memory_limit) as conn:
        loaded = load_pending(conn, data, "bench", platforms=landed_sources(data / "landing"))
    load_s, merge_cpu_s = time.perf_counter() - started, cpu_s() - cpu
    return {
        "land_s": land_s,
        "merge_s": load_s,
        "load_s": land_s + load_s,
        "land_cpu_s": land_cpu_s,
        "merge_cpu_s": merge_cpu_s,
        "load_cpu_s": land_cpu_s + merge_cpu_s,
        "rows": loaded.rows,
    }


def ours_attribute(cache: str, data_dir: str) -> dict:
    from radar.settings import RadarSettings
    from radar.warehouse import connect
    from transforms.runner import run_transforms

    cache_dir, data = Path(cache), Path(data_dir)
    truth = json.loads((cache_dir / "truth.json").read_text())
    as_of = datetime.fromisoformat(truth["as_of"])
    settings = RadarSettings()
    with connect(data / "warehouse.duckdb") as conn:
        started, cpu = time.perf_counter(), cpu_s()
        summary = run_transforms(conn, settings.sql_dir, cache_dir / "config", as_of)
        run_s, run_cpu_s = time.perf_counter() - started, cpu_s() - cpu
        found = conn.execute(
            """select campaign || '|' || platform || '|' || handle, orders, revenue, clicks
               from marts.campaign_creator_results where as_of = ?""",
            [as_of],
        ).fetchall()
    got = {key: [orders, str(revenue), clicks] for key, orders, revenue, clicks in found}
    wrong = sorted(k for k, v in truth["creators"].items() if got.get(k) != v)
    if wrong or len(got) != len(truth["creators"]):
        first = wrong[0] if wrong else None
        raise RuntimeError(
            f"{len(wrong)} creator(s) differ from the planted truth, e.g. {first}: "
            f"{got.get(first)} against {truth['creators'].get(first)}"
        )
    seconds = {m: summary.seconds.get(m, 0.0) for m in CAMPAIGN_MODELS}
    return {
        "attribute_s": sum(seconds.values()),
        "run_s": run_s,
        "run_cpu_s": run_cpu_s,
        "model_s": seconds,
        "creators_checked": len(got),
        "revenue": str(sum((Decimal(v[1]) for v in got.values()), Decimal(0))),
    }


STEPS = {
    "generate": generate,
    "anchor": anchor,
    "ours_load": ours_load,
    "ours_attribute": ours_attribute,
}


# --- the driver ----------------------------------------------------------------------------


def _run(step: str, *args: str) -> dict:
    started = time.perf_counter()
    result = finish_step(start_step("bench.campaign_bench", step, *args), step)
    return {**result, "wall_s": time.perf_counter() - started}


def cache_for(
    workdir: Path, orders: int, clicks: int, campaigns: int, creators: int
) -> tuple[Path, dict]:
    """The generated exports, written once per size (``done.json`` marks them complete)."""
    cache = workdir / f"campaigns-{orders}-{clicks}-{campaigns}x{creators}"
    done = cache / "done.json"
    if not done.exists():
        shutil.rmtree(cache, ignore_errors=True)
        cache.mkdir(parents=True)
        args = (str(orders), str(clicks), str(campaigns), str(creators))
        result = _run("generate", str(cache), *args)
        done.write_text(json.dumps(result))
    return cache, json.loads(done.read_text())


def _fastest(tries: list[dict], key: str) -> dict:
    best = dict(min(tries, key=lambda r: r[key]))
    best["slowest_s"] = max(r[key] for r in tries)
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in tries)
    best["tries"] = len(tries)
    return best


def bench(
    orders: int,
    clicks: int,
    workdir: Path,
    repeat: int = 1,
    campaigns: int = 100,
    creators: int = 10,
) -> dict:
    cache, generated = cache_for(workdir, orders, clicks, campaigns, creators)
    anchors, loads, attributes = [], [], []
    load_average = [os.getloadavg()[0]]
    for _ in range(repeat):  # alternated, so a slow spell of the machine hits both paths
        run = workdir / f"run-campaigns-{time.time_ns()}"
        run.mkdir()
        try:
            anchors.append(_run("anchor", str(cache), str(run / "anchor.duckdb")))
            loads.append(_run("ours_load", str(cache), str(run / "ours")))
            attributes.append(_run("ours_attribute", str(cache), str(run / "ours")))
        finally:
            shutil.rmtree(run, ignore_errors=True)
        load_average.append(os.getloadavg()[0])
    return {
        "load_average": load_average,
        "orders": orders,
        "clicks": clicks,
        "campaigns": campaigns,
        "creators": campaigns * creators,
        "generated": generated,
        "anchor": {
            "load": _fastest(anchors, "load_s"),
            "attribute": _fastest(anchors, "attribute_s"),
        },
        "load": _fastest(loads, "load_s"),
        "attribute": _fastest(attributes, "attribute_s"),
    }


def report(runs: list[dict]) -> str:
    lines = [
        f"### Campaigns ({machine()}, duckdb {duckdb.__version__})",
        "",
        "| orders, click rows | step | anchor (s) | ours (s) | × anchor | ours peak RSS (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        size = f"{run['orders']:,}, {run['clicks']:,}"
        anchor, load, attr = run["anchor"], run["load"], run["attribute"]
        for step, a, o, rss in (
            ("load", anchor["load"]["load_s"], load["load_s"], load["peak_rss_mb"]),
            ("attribute", anchor["attribute"]["attribute_s"], attr["attribute_s"],
             attr["peak_rss_mb"]),
        ):  # fmt: skip
            lines.append(f"| {size} | {step} | {a:.2f} | {o:.2f} | {o / a:.1f}× | {rss} |")
    lines.append("")
    for run in runs:
        gen, load, attr = run["generated"], run["load"], run["attribute"]
        slow = sorted(attr["model_s"].items(), key=lambda kv: -kv[1])[:3]
        lines.append(
            f"- {run['orders']:,} orders ({gen['order_lines']:,} lines), {gen['click_rows']:,} "
            f"short-link clicks and {gen['ga4_rows']:,} GA4 rows ({gen['exports_mb']:,} MB of "
            f"CSV), {run['campaigns']} campaigns of {run['creators']:,} creators: ours lands "
            f"in {load['land_s']:.1f} s and merges in {load['merge_s']:.1f} s; the campaign "
            f"models take {attr['attribute_s']:.1f} s ("
            + ", ".join(f"{m.split('.')[1]} {s:.1f} s" for m, s in slow)
            + f"), the whole transform run {attr['run_s']:.1f} s; all "
            f"{attr['creators_checked']:,} creators' orders, revenue and clicks equal the "
            "planted truth"
        )
        anchor = run["anchor"]
        lines.append(
            f"- CPU seconds (every thread) of the fastest tries: load ours "
            f"{load['load_cpu_s']:.1f} (landing {load['land_cpu_s']:.1f}, merge "
            f"{load['merge_cpu_s']:.1f}) against the anchor's {anchor['load']['load_cpu_s']:.1f}; "
            f"the transform run {attr['run_cpu_s']:.1f} against the anchor's join "
            f"{anchor['attribute']['attribute_cpu_s']:.2f}; 1-minute load average "
            + ", ".join(f"{a:.1f}" for a in run["load_average"])
            + " (before the run, after each try)"
        )
        tries = load["tries"]
        if tries > 1:
            lines.append(
                f"- fastest of {tries} alternated tries; ours loaded in "
                f"{load['load_s']:.1f}–{load['slowest_s']:.1f} s and attributed in "
                f"{attr['attribute_s']:.1f}–{attr['slowest_s']:.1f} s (peak RSS: the largest)"
            )
    lines.append("")
    # bullets wrapped as the docs are (100 characters)
    return "\n".join(
        textwrap.fill(line, 100, subsequent_indent="  ") if line.startswith("- ") else line
        for line in lines
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.campaign_bench")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--clicks", type=int, default=10_000_000, help="short-link click rows")
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--creators", type=int, default=10, help="per campaign")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=ROOT / "data" / "bench",
        help="the exports are cached here between runs",
    )
    parser.add_argument("--append-to", type=Path, help="markdown file to append the table to")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.step:
        report_step(STEPS[args.step](*rest))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"campaign benchmark at {args.orders:,} orders, {args.clicks:,} clicks…",
        file=sys.stderr,
        flush=True,
    )
    run = bench(args.orders, args.clicks, args.workdir, args.repeat, args.campaigns, args.creators)
    publish(report([run]), args.append_to)


if __name__ == "__main__":
    main()
