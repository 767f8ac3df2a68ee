"""Every DAG file: imports fast, without heavy imports or I/O, and follows the house rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
HEAVY = ["duckdb", "pyarrow", "httpx", "yaml", "ingest", "transforms", "pandas"]

_PROBE = """
import importlib.util, json, sys, time
import airflow.sdk  # the baseline every DAG file pays anyway
before = set(sys.modules)
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("dag_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
elapsed = time.perf_counter() - start
new = sorted({m.split(".")[0] for m in set(sys.modules) - before})
print(json.dumps({"seconds": elapsed, "new_modules": new}))
"""


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_imports_fast_without_heavy_modules_or_io(dag_file: Path, tmp_path: Path):
    env = {**os.environ, "RADAR_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(dag_file)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=env,
    )
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["seconds"] < 1.0, f"{dag_file.name} took {probe['seconds']:.2f}s to import"
    assert not set(HEAVY) & set(probe["new_modules"]), probe["new_modules"]
    assert list(tmp_path.iterdir()) == [], "importing a DAG file must not create files"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) == len(DAG_FILES)


def test_every_dag_follows_the_house_rules(dagbag):
    for dag_id, dag in dagbag.dags.items():
        file_stem = Path(dag.fileloc).stem
        assert dag_id == file_stem, f"{dag_id}: dag_id must match its file name"
        assert dag.tags, f"{dag_id}: no tags"
        assert dag.doc_md, f"{dag_id}: no doc_md"
        assert dag.max_active_runs <= 2, f"{dag_id}: keep max_active_runs low for backfills"
        for task in dag.tasks:
            assert task.owner not in ("", "airflow"), f"{dag_id}.{task.task_id}: no owner"
            assert task.retries >= 2, f"{dag_id}.{task.task_id}: retries < 2"
            assert task.execution_timeout is not None, f"{dag_id}.{task.task_id}: no timeout"
