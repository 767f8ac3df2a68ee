"""The lake benchmarks at a tiny size, both backends, so that neither can rot. No timing is
asserted: only that every step ran, every load was checked against the serial one, and the
reports hold their figures."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_transforms_benchmark_runs_file_and_lake_side_by_side_at_a_tiny_size(tmp_path: Path):
    from bench.transforms_bench import bench, report

    # its own Postgres, started and stopped by the benchmark, as `--backend both` runs it
    results = bench(
        posts=2_000, days=10, accounts=50, workdir=tmp_path, backend="both", volumes=(1,)
    )
    assert [(r["backend"], r["step"]) for r in results] == [
        (backend, step)
        for step in ("generate", "anchor", "full", "add day", "incremental day")
        for backend in ("file", "lake")
    ]
    assert all(r["wall_s"] > 0 and r["peak_rss_mb"] > 0 for r in results)
    text = report(results, 2_000, 10, 50)
    assert "DuckDB file vs DuckLake" in text
    assert "| full |" in text and "lake / file: full" in text
    assert "int_post_facts" in text  # the slowest models of each backend are named


def test_lake_load_benchmark_checks_every_load_against_a_serial_one(tmp_path: Path, catalog_server):
    from bench.lake_load_bench import bench, report

    run = bench(posts=600, workdir=tmp_path, loaders=[1, 2], server=catalog_server)
    configured = [(r["warehouse"], r["loaders"], r["split"]) for r in run["results"]]
    assert configured == [
        ("file", 1, "all"),
        ("lake", 1, "all"),
        ("lake", 2, "shared"),
        ("lake", 2, "batches"),
    ]
    file, lake, shared, batches = run["results"]
    assert run["files"] > 0 and run["rows"] > run["posts"] > 0
    # one loader on the lake gives the serial load's rows
    assert not file["wrong_tries"] and not lake["wrong_tries"]
    assert all(r["files_loaded"] == run["files"] for r in (file, lake))
    assert lake["data_files"] > 0
    # disjoint shares: each loader had files of its own and none left to the other
    assert all(files > 0 for files in batches["files_each"])
    assert batches["files_left_to_others"] == 0
    # two loaders merging different files into one table at once can both insert a key
    # neither saw (see docs/benchmarks.md): when that happens, the benchmark says so
    for concurrent in (shared, batches):
        for wrong in concurrent["wrong_tries"]:
            assert all("distinct keys where the serial load has" in line for line in wrong)
    text = report(run)
    assert "| DuckDB file | 1 |" in text and "| DuckLake | 2 | disjoint: 1 in 2" in text
    assert "rows/s" in text and "| reference |" in text


def test_lake_load_benchmark_names_rows_a_serial_load_would_not_give():
    from bench.lake_load_bench import CHECKED_TABLES, differences, report

    reference = {t: [10, "123", 10] for t in CHECKED_TABLES}
    assert differences(reference, dict(reference)) == []
    doubled = dict(reference) | {"core.posts": [11, "456", 10]}
    assert differences(reference, doubled) == [
        "core.posts: 11 rows with 10 distinct keys where the serial load has 10 with 10"
    ]
    row = {
        "warehouse": "file", "loaders": 1, "split": "all", "wall_s": 2.0, "slowest_s": 2.0,
        "tries": 1, "files_each": [3], "load_s": [1.0], "conflicts_all_tries": {},
        "files_left_to_others": 0, "peak_rss_mb": 100, "wrong_tries": [],
    }  # fmt: skip
    wrong = row | {
        "warehouse": "lake", "loaders": 2, "split": "batches", "wall_s": 1.0, "slowest_s": 1.0,
        "files_each": [1, 2],
        "load_s": [0.5, 0.5], "data_files": 4, "delete_files": 0,
        "wrong_tries": [differences(reference, doubled)],
    }  # fmt: skip
    text = report({"posts": 10, "rows": 30, "files": 3, "landing_mb": 1, "results": [row, wrong]})
    # no throughput for the wrong load, however fast
    assert "| 1.0 | - | - |" in text and "**no**, in 1 of 1 tries: core.posts: 11 rows" in text
