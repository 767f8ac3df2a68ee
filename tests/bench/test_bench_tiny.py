"""Every benchmark runs at a tiny size in the suite, so none can rot. No timing is asserted."""

from __future__ import annotations

from pathlib import Path

from bench.transforms_bench import bench, report


def test_transforms_benchmark_runs_end_to_end_at_a_tiny_size(tmp_path: Path):
    results = bench(posts=3_000, days=20, accounts=100, workdir=tmp_path)
    assert [r["step"] for r in results] == [
        "generate",
        "anchor",
        "full",
        "add_day",
        "incremental day",
    ]
    assert all(r["wall_s"] > 0 and r["peak_rss_mb"] > 0 for r in results)
    text = report(results, 3_000, 20, 100)
    assert "| full |" in text and "incremental day / full rebuild" in text
