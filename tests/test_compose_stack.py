"""No Docker engine runs in CI, so the compose stack is checked by reading it: services,
shared settings, volumes and the image, against what the DAGs need."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW_SERVICES = {
    "airflow-init": None,
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_celery_stack_has_every_service(compose: dict):
    services = compose["services"]
    assert {"postgres", "redis", *AIRFLOW_SERVICES} <= set(services)
    for name, command in AIRFLOW_SERVICES.items():
        if command is not None:
            assert services[name]["command"] == command, name


def test_every_airflow_container_shares_one_configuration(compose: dict):
    services = compose["services"]
    envs = [services[name]["environment"] for name in AIRFLOW_SERVICES]
    for env in envs:
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        # one JWT secret for all, or Celery workers fail every task
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${AIRFLOW__API_AUTH__JWT_SECRET")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith(
            "http://airflow-apiserver:8080/"
        )
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/radar/dags"
        assert env["RADAR_DATA_DIR"] == "/opt/radar/data"
    assert "postgres" in envs[0]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert envs[0]["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")


def test_data_lives_on_a_shared_volume_and_the_image_is_the_project(compose: dict):
    services = compose["services"]
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["build"] == "." and service["image"] == "micro-influencer-radar:latest"
        assert "radar-data:/opt/radar/data" in service["volumes"]
        assert "./dags:/opt/radar/dags" in service["volumes"]
    assert "radar-data" in compose["volumes"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM apache/airflow:3\.3\.2-python3\.11$", dockerfile, re.M)
    for folder in ("ingest", "transforms", "sql", "config", "fixtures", "dags"):
        assert re.search(rf"^COPY .*\b{folder} \$\{{RADAR_HOME\}}/{folder}$", dockerfile, re.M)
    for setting in (
        "RADAR_SQL_DIR",
        "RADAR_CONFIG_DIR",
        "RADAR_DATA_DIR",
        "AIRFLOW__CORE__DAGS_FOLDER",
    ):
        assert setting in dockerfile


def test_the_jwt_secret_is_documented_in_env_example():
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^AIRFLOW__API_AUTH__JWT_SECRET=", example, re.M)
    assert "REQUIRED for compose" in example
