"""The stack tests run the real Airflow services; select them alone with ``-m stack``."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line("markers", "stack: starts the real Airflow services on 127.0.0.1")
