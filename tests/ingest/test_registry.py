"""Every list of platforms, pool and connection name agrees with the connector registry
(the ``radar.connectors`` entry points), and every platform package has the same shape."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from ingest.live_source import load_sources, sources_model
from ingest.registry import connectors
from radar.platforms import platform_names
from tests.helpers.paths import ROOT

FILE_ROLES = {"__init__.py", "client.py", "models.py", "mapping.py", "settings.py", "source.py"}


def test_the_registry_is_the_project_s_entry_points_each_a_package_of_the_same_shape():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert set(declared["radar.connectors"]) == set(platform_names()) == set(connectors())
    for name, connector in connectors().items():
        assert connector.name == name
        assert declared["radar.connectors"][name] == f"ingest.{name}:connector"
        package = ROOT / "ingest" / name
        assert FILE_ROLES <= {p.name for p in package.glob("*.py")}, name
        assert connector.mappers and connector.fetch and connector.label
    # no platform package sits outside the registry
    packages = {p.parent.name for p in (ROOT / "ingest").glob("*/source.py")}
    assert packages == set(platform_names())


def test_settings_config_and_feeds_name_the_registered_platforms():
    from ingest.runs import configured_platforms
    from radar.settings import RadarSettings

    assert configured_platforms(RadarSettings(platforms=None)) == platform_names()
    sources = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text())
    assert set(platform_names()) <= set(sources), "sources.yaml shows every platform's block"
    assert set(sources["discovery"]) >= set(platform_names())
    loaded = load_sources(ROOT / "config")
    assert set(loaded.tracked()) == set(platform_names())
    assert set(platform_names()) <= set(sources_model().model_fields)
    feeds = {p.name for p in (ROOT / "fixtures" / "demo").iterdir() if p.is_dir()}
    assert feeds <= set(platform_names())


def test_the_airflow_settings_hold_every_platform_s_pool_with_its_connector_s_slots():
    from ops.airflow_settings import read_settings

    applied = {p.pool_name: p.pool_slot for p in read_settings().pools}
    for connector in connectors().values():
        assert applied.get(connector.pool) == connector.pool_slots, connector.name
    radar_pools = {name for name in applied if name.startswith("radar_")}
    shared = {"radar_warehouse", "radar_lake_load"}
    assert radar_pools - shared == {c.pool for c in connectors().values()}
    # the file itself names only the shared pools: the platforms' come from the registry
    document = yaml.safe_load((ROOT / "config" / "airflow_settings.yaml").read_text())
    assert {p["pool_name"] for p in document["airflow"]["pools"]} == shared


def test_the_dags_plan_extract_and_discover_per_registered_platform_in_its_pool(
    monkeypatch: pytest.MonkeyPatch,
):
    from tests.helpers.warehouse_helpers import load_dag

    monkeypatch.delenv("RADAR_PLATFORMS", raising=False)
    for dag_id, work in (("social_ingest", "extract"), ("niche_discovery", "discover")):
        tasks = {t.task_id: t for t in load_dag(dag_id).tasks}
        for connector in connectors().values():
            assert f"plan_{connector.name}" in tasks, (dag_id, connector.name)
            assert tasks[f"{work}_{connector.name}"].pool == connector.pool
        planned = {t.removeprefix("plan_") for t in tasks if t.startswith("plan_")}
        assert planned == set(platform_names())


def test_connection_names_and_the_docs_table_agree_with_the_connectors():
    env = (ROOT / ".env.example").read_text()
    docs = (ROOT / "docs" / "connectors.md").read_text()
    for connector in connectors().values():
        if not (connector.connection_fields or connector.credentials):
            continue
        var = f"AIRFLOW_CONN_{connector.connection_id.upper()}="
        line = next((ln for ln in env.splitlines() if var in ln), None)
        assert line is not None, var
        for attr in ("login", "password"):
            named = attr in connector.connection_fields.values()
            if connector.connection_fields:
                assert (f'"{attr}"' in line) == named, (connector.name, attr)
        assert f"`{connector.connection_id}" in docs, connector.name
    table = [
        [cell.strip() for cell in row.strip("|").split("|")]
        for row in docs.splitlines()
        if re.match(r"^\| [A-Z]", row) and "platform |" not in row
    ]
    rows = {cells[0]: cells[-1] for cells in table}
    assert {c.label: c.budget for c in connectors().values()} == {
        label: rows.get(label) for label in (c.label for c in connectors().values())
    }
    assert set(rows) == {c.label for c in connectors().values()}


def test_an_extract_task_imports_only_its_own_platform_s_connector(tmp_path):
    """An extract task maps one platform: loading the other packages (their models) was a
    fixed cost of every task, and so was httpx (~0.3 CPU s), which only live fetches use.
    Run in a fresh interpreter, since this one has them all."""
    import subprocess
    import sys

    code = f"""
import sys
from datetime import date
import ingest.runs  # what the DAG's extract task imports
from pathlib import Path
from ingest.extract import extract_fixture_batch
feed = Path({str(ROOT / "fixtures" / "demo")!r})
files = sorted(str(p.relative_to(feed)) for p in (feed / "mastodon").glob("*/*/*.jsonl"))
summary = extract_fixture_batch(feed, "mastodon", files, Path({str(tmp_path)!r}),
                                date(2026, 11, 20), "run", "extract")
assert summary.rows["posts"] > 0, summary
others = sorted(m for m in sys.modules
                if m.split(".")[:2] in [["ingest", p] for p in ("bluesky", "youtube",
                                                               "instagram", "tiktok")])
print(others + [m for m in ("httpx", "ingest.http") if m in sys.modules])
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
