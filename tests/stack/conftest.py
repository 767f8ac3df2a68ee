"""The stack tests run the real Airflow services; select them alone with ``-m stack``."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_configure(config):
    config.addinivalue_line("markers", "stack: starts the real Airflow services on 127.0.0.1")


def pytest_collection_modifyitems(items):
    # under pytest-xdist, one worker runs the stacks one after another (each is a whole
    # Airflow deployment), while the other worker runs the rest of the suite
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.xdist_group("stack"))
            item.add_marker(pytest.mark.slow)
