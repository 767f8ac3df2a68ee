"""The packages' edges: ``radar`` (the shared core) imports neither ``ingest`` nor
``transforms``, ``transforms`` does not import ``ingest``, and nothing the wheel ships
imports the synthetic generator or the tests."""

from __future__ import annotations

import ast

import pytest

from tests.helpers.paths import ROOT

FORBIDDEN = {
    "radar": {"ingest", "transforms", "ops", "synthetic", "tests", "bench"},
    "transforms": {"ingest", "ops", "synthetic", "tests", "bench"},
    "ingest": {"transforms", "ops", "synthetic", "tests", "bench"},
    "ops": {"synthetic", "tests", "bench"},
}


def _imports(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_only_across_its_allowed_edges(package: str):
    crossing = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: names for path, names in crossing.items() if names} == {}
