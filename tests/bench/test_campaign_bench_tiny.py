"""The campaign benchmark at a tiny size, so that it cannot rot. No timing is asserted; the
benchmark itself fails when a creator's orders, revenue or clicks differ from the truth."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.campaign_bench import bench, report

pytestmark = pytest.mark.slow


def test_campaign_benchmark_runs_both_paths_and_checks_the_truth(tmp_path: Path):
    run = bench(orders=3_000, clicks=20_000, workdir=tmp_path, repeat=1, campaigns=3, creators=4)
    assert run["generated"]["orders"] == 3_000 and run["generated"]["click_rows"] == 20_000
    assert run["attribute"]["creators_checked"] == 12
    assert run["load"]["rows"]["orders"] == 3_000
    for step in (run["anchor"]["load"], run["load"], run["attribute"]):
        assert step["wall_s"] > 0 and step["peak_rss_mb"] > 0
    assert run["load"]["load_cpu_s"] > 0 and run["attribute"]["run_cpu_s"] > 0
    assert len(run["load_average"]) == 2
    # generated once: a second run reads the cache
    cached = sorted(p.name for p in tmp_path.iterdir())
    assert cached == ["campaigns-3000-20000-3x4"]
    text = report([run])
    assert "| 3,000, 20,000 | load |" in text and "| 3,000, 20,000 | attribute |" in text
    assert "equal the planted truth" in text
    assert "CPU seconds (every thread)" in text
