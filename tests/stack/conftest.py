"""The stack tests run the real Airflow services; select them alone with ``-m stack``."""

from __future__ import annotations

import sys
from pathlib import Path

# the stack tests' shared module (stack_helpers.py); appended, so that `conftest` stays
# tests/conftest.py, as it is for every test module
sys.path.append(str(Path(__file__).parent))


def pytest_configure(config):
    config.addinivalue_line("markers", "stack: starts the real Airflow services on 127.0.0.1")
