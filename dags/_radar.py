"""What the radar's DAG files share. Standard library and airflow.sdk only: DAG files
import this at parse time (Airflow puts the DAG folder on sys.path)."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset

START_DATE = pendulum.datetime(2026, 10, 1, tz="UTC")

DEFAULT_ARGS = {
    "owner": "radar",
    "retries": int(os.environ.get("RADAR_TASK_RETRIES", "2")),
    "retry_delay": timedelta(seconds=int(os.environ.get("RADAR_RETRY_DELAY_SECONDS", "30"))),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=2),
}

# new rows committed to core.*; the signals DAG runs on it
WAREHOUSE_CORE = Asset("radar_warehouse_core", uri="file://radar/warehouse/core")

# the one-slot pool every warehouse writer takes (DuckDB allows a single writing process)
WAREHOUSE_POOL = "radar_warehouse"


# every platform with a connector; RADAR_PLATFORMS picks a subset
ALL_PLATFORMS = ["mastodon", "bluesky", "youtube", "instagram", "tiktok"]


def platforms() -> list[str]:
    """``RADAR_PLATFORMS`` as the DAG is parsed: one extract task (and pool) per platform."""
    raw = os.environ.get("RADAR_PLATFORMS", json.dumps(ALL_PLATFORMS)).strip()
    names = json.loads(raw) if raw.startswith("[") else raw.split(",")
    return [n.strip() for n in names if n.strip()]


def platform_pool(platform: str) -> str:
    return f"radar_{platform}"


def per_platform(plan, work, work_name: str) -> tuple[list, list]:
    """Per platform in ``RADAR_PLATFORMS``: ``plan_<platform>`` and a ``<work_name>_<platform>``
    mapped over its batches in the platform's pool. Returns the planned batches and the
    mapped results, one entry per platform each."""
    planned, done = [], []
    for name in platforms():
        batches = plan.override(task_id=f"plan_{name}")(name)
        mapped = work.override(task_id=f"{work_name}_{name}", pool=platform_pool(name))
        done.append(mapped.expand(batch=batches))
        planned.append(batches)
    return planned, done


def _connection(conn_id: str):
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


def mastodon_tokens(instances: list[str]) -> dict[str, str]:
    """Access tokens from Airflow connections, looked up when a task runs.

    ``radar_mastodon__<instance>`` (dots and dashes as ``_``) for one instance, else
    ``radar_mastodon`` for all; the token is the connection's password. No connection
    means public access, which is all the radar needs.
    """

    def password(conn_id: str) -> str | None:
        conn = _connection(conn_id)
        return (conn.password or None) if conn is not None else None

    default = password("radar_mastodon")
    tokens = {}
    for instance in instances:
        token = password("radar_mastodon__" + instance.replace(".", "_").replace("-", "_"))
        if token or default:
            tokens[instance] = token or default
    return tokens


# which field of the Airflow connection ``radar_<platform>`` holds which credential
CONNECTION_FIELDS = {
    "bluesky": {"identifier": "login", "app_password": "password"},
    "youtube": {"api_key": "password"},
    "instagram": {"ig_user_id": "login", "access_token": "password"},
    "tiktok": {"client_key": "login", "client_secret": "password"},
}


def credentials(batch: dict) -> dict[str, str]:
    """The secrets a live batch needs, read from Airflow connections when the task runs,
    never at parse time and never for a fixture batch. They go to the platform client's
    headers or query only; the raw archive, logs and warehouse never see them."""
    if "accounts" not in batch and "tags" not in batch:  # a fixture batch: no network
        return {}
    platform = batch.get("platform")
    if platform == "mastodon":
        accounts = batch.get("accounts") or []
        instances = [batch["instance"]] if batch.get("instance") else []
        instances += sorted({a.lstrip("@").split("@", 1)[1] for a in accounts if "@" in a})
        return mastodon_tokens(instances)
    fields = CONNECTION_FIELDS.get(platform or "")
    conn = _connection(f"radar_{platform}") if fields else None
    if conn is None:
        return {}
    found = {key: getattr(conn, attr) for key, attr in fields.items()}
    return {key: value for key, value in found.items() if value}


def check_batches(planned: list, extracted: list) -> None:
    """Fail the run, naming them, when planned batches have no result: their task failed.
    ``planned`` and ``extracted`` hold one list per platform. A batch a spent daily quota
    stopped is no failure (its profiles are loaded, its posts wait for the next run): it
    is logged as a warning."""
    from airflow.sdk.exceptions import AirflowFailException

    from ingest.runs import failed_batches

    flat_planned = [b for per_platform in planned for b in (per_platform or [])]
    flat_done = [e for per_platform in extracted for e in (per_platform or []) if e]
    for done in flat_done:
        if done.get("stopped"):
            print(f"WARNING {done['platform']} batch stopped early: {done['stopped']}")
    failed = failed_batches(flat_planned, flat_done)
    if failed:
        raise AirflowFailException(f"{len(failed)} batch(es) failed: {failed}")
