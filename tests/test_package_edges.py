"""The packages' edges: ``radar`` (the shared core) imports neither ``ingest`` nor
``transforms``, ``transforms`` does not import ``ingest``, nothing imports the command line
``radar_cli`` (the top layer), and nothing the wheel ships imports the synthetic generator
or the tests, but for ``radar generate`` and ``make demo``'s runner, which import it when
they run."""

from __future__ import annotations

import ast

import pytest

from tests.helpers.paths import ROOT

FORBIDDEN = {
    "radar": {"ingest", "transforms", "ops", "synthetic", "tests", "bench", "radar_cli"},
    "transforms": {"ingest", "ops", "synthetic", "tests", "bench", "radar_cli"},
    "ingest": {"transforms", "ops", "synthetic", "tests", "bench", "radar_cli"},
    "ops": {"synthetic", "tests", "bench", "radar_cli"},
    # the synthetic generator only inside the function of `radar generate` (below)
    "radar_cli": {"ingest", "ops", "tests", "bench"},
}
# the one module of the wheel that may import the generator, and only in a function body
LAZY_SYNTHETIC = "radar_cli/generate.py"
# make demo's runner ages the bundled feed (synthetic.history) when it runs; it reads the
# repository's fixtures/ anyway, which no wheel ships either
DEMO_RUNNER = "ops/demo.py"


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
    if package == "ops":
        # only inside a function: importing ops.demo needs no generator
        assert "synthetic" not in _module_level_imports(ROOT / DEMO_RUNNER)
        crossing[DEMO_RUNNER] = [n for n in crossing[DEMO_RUNNER] if n != "synthetic"]
    assert {path: names for path, names in crossing.items() if names} == {}


def _module_level_imports(path) -> set[str]:
    found = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_cli_imports_the_generator_only_when_radar_generate_runs():
    """The wheel leaves synthetic/ out: ``radar_cli`` imports it at no module's top level,
    and only in ``radar_cli/generate.py``, so every other command works from a wheel."""
    modules = list((ROOT / "radar_cli").rglob("*.py"))
    assert [p for p in modules if "synthetic" in _module_level_imports(p)] == []
    importing = [str(p.relative_to(ROOT)) for p in modules if "synthetic" in _imports(p)]
    assert importing == [LAZY_SYNTHETIC]
