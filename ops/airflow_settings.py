"""Apply ``config/airflow_settings.yaml`` (pools, connections, variables) to the Airflow
metadata DB that the environment points at. Idempotent; run after ``airflow db migrate``.

    python -m ops.airflow_settings [path]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ingest.registry import connectors

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "config" / "airflow_settings.yaml"


class PoolSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pool_name: str = Field(min_length=1)
    pool_slot: int = Field(ge=-1)  # -1: unlimited, as Airflow has it
    pool_description: str = ""
    include_deferred: bool = False


class ConnectionSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conn_id: str = Field(min_length=1)
    conn_type: str = "generic"
    conn_host: str | None = None
    conn_schema: str | None = None
    conn_login: str | None = None
    conn_port: int | None = None
    conn_extra: dict[str, Any] = {}


class VariableSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variable_name: str = Field(min_length=1)
    variable_value: str
    description: str | None = None


class AirflowSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pools: list[PoolSetting] = []
    # no password field on purpose: secrets come from AIRFLOW_CONN_* variables
    connections: list[ConnectionSetting] = []
    variables: list[VariableSetting] = []


def read_settings(path: Path = DEFAULT_PATH) -> AirflowSettings:
    """The file's settings, plus the extract pool of every registered platform the file
    does not list (with the slots its connector asks for): a platform needs no edit here."""
    document = yaml.safe_load(path.read_text()) or {}
    settings = AirflowSettings.model_validate(document.get("airflow") or {})
    listed = {pool.pool_name for pool in settings.pools}
    settings.pools += [
        PoolSetting(
            pool_name=connector.pool,
            pool_slot=connector.pool_slots,
            pool_description=f"concurrent {connector.label} extract tasks",
        )
        for connector in connectors().values()
        if connector.pool not in listed
    ]
    return settings


def apply_settings(settings: AirflowSettings) -> list[str]:
    """Write the settings to the metadata DB; returns one line per change, for the log."""
    from airflow.models.connection import Connection
    from airflow.models.pool import Pool
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    done = []
    for pool in settings.pools:
        Pool.create_or_update_pool(
            pool.pool_name, pool.pool_slot, pool.pool_description, pool.include_deferred
        )
        done.append(f"pool {pool.pool_name}: {pool.pool_slot} slot(s)")
    with create_session() as session:
        for conn in settings.connections:
            if session.query(Connection).filter(Connection.conn_id == conn.conn_id).first():
                done.append(f"connection {conn.conn_id}: exists, left as it is")
                continue
            session.add(
                Connection(
                    conn_id=conn.conn_id,
                    conn_type=conn.conn_type,
                    host=conn.conn_host,
                    schema=conn.conn_schema,
                    login=conn.conn_login,
                    port=conn.conn_port,
                    extra=conn.conn_extra or None,
                )
            )
            done.append(f"connection {conn.conn_id}: created")
    for var in settings.variables:
        Variable.set(var.variable_name, var.variable_value, description=var.description)
        done.append(f"variable {var.variable_name}: set")
    return done


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    for line in apply_settings(read_settings(path)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
