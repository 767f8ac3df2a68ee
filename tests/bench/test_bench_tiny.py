"""Every benchmark runs at a tiny size in the suite, so none can rot. No timing is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.transforms_bench import bench, report

pytestmark = pytest.mark.slow


def test_transforms_benchmark_runs_end_to_end_at_a_tiny_size(tmp_path: Path):
    results = bench(posts=3_000, days=20, accounts=100, workdir=tmp_path)
    assert [r["step"] for r in results] == [
        "generate",
        "anchor",
        "full",
        "add day",
        "incremental day",
        "add day",
        "incremental day, 4× posts",
        "add day",
        "incremental day, no new posts",
        "add day",
        "incremental day, 16× posts",
    ]
    assert all(r["wall_s"] > 0 and r["peak_rss_mb"] > 0 for r in results)
    # the anchor and every transforms run say the CPU they took, beside their wall time
    timed = [r for r in results if r["step"] == "anchor" or "volume" in r or r["step"] == "full"]
    assert len(timed) == 6 and all(r["cpu_s"] > 0 for r in timed)
    text = report(results, 3_000, 20, 100)
    assert "| full |" in text and "incremental day / full rebuild" in text
    assert "int_post_facts" in text  # the slowest models of each run are named
    assert "per day's worth" in text


def test_ingest_benchmark_runs_all_three_paths_at_a_tiny_size(tmp_path: Path):
    from bench.ingest_bench import bench as ingest_bench
    from bench.ingest_bench import report as ingest_report

    run = ingest_bench(posts=600, workdir=tmp_path, with_dlt=True, workers=2)
    paths = [r["path"].split(" ")[0] for r in run["results"]]
    assert paths == ["floor:", "same-work", "ours", "dlt"]
    # every path put the same statuses in its tables: a boost is one status everywhere
    # (ours keys it as a repost row; the original it carries is its author's post)
    floor, same_work, ours, dlt = (r["posts"] for r in run["results"])
    assert floor == same_work == ours == dlt > run["posts"] > 0
    assert all(r["wall_s"] > 0 and r["peak_rss_mb"] > 0 for r in run["results"])
    text = ingest_report([run])
    assert "faster than dlt" in text and "× floor" in text and "× same-work" in text

    repeated = ingest_bench(posts=600, workdir=tmp_path, with_dlt=False, workers=2, repeat=2)
    floor, same_work, ours = repeated["results"]
    assert floor["tries"] == same_work["tries"] == ours["tries"] == 2
    assert 0 < ours["wall_s"] <= ours["slowest_s"] and ours["posts"] == run["results"][2]["posts"]
    assert "fastest of 2 alternated tries" in ingest_report([repeated])


def test_extract_benchmark_stays_inside_the_rate_limit_at_a_tiny_size(tmp_path: Path):
    from bench.extract_bench import report as extract_report
    from bench.extract_bench import run as extract_run

    # 4 accounts × 5 pages = 20 requests against 8 per 0.4 s: the client must wait twice
    result = extract_run(limit=8, window=0.4, accounts=4, pages=5, workdir=tmp_path)
    assert result["requests"] == 20
    assert result["http_429"] == 0
    assert result["waited_s"] > 0
    assert (tmp_path / "raw" / "statuses.jsonl.gz").exists()
    assert "utilisation" in extract_report(result, 8, 0.4)


def test_demo_benchmark_times_the_readme_command(tmp_path: Path):
    from bench.demo_bench import bench as demo_bench
    from bench.demo_bench import report as demo_report

    times = demo_bench(runs=1, workdir=tmp_path)
    assert len(times) == 1 and times[0] > 0
    assert "make demo" in demo_report(times)
