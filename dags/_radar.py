"""What the radar's DAG files share. Standard library and airflow.sdk only: DAG files
import this at parse time (Airflow puts the DAG folder on sys.path)."""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta

import pendulum
from airflow.sdk import Asset

# early, so that no feed day is older than the DAGs: Airflow creates no task for a run
# before start_date, and the run would report success having done nothing
START_DATE = pendulum.datetime(2000, 1, 1, tz="UTC")

# whole UTC days by default; a run covers one interval of this schedule
INGEST_CRON = os.environ.get("RADAR_INGEST_CRON", "0 0 * * *")

DEFAULT_ARGS = {
    "owner": "radar",
    "retries": int(os.environ.get("RADAR_TASK_RETRIES", "2")),
    "retry_delay": timedelta(seconds=int(os.environ.get("RADAR_RETRY_DELAY_SECONDS", "30"))),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=2),
}

# new rows committed to core.*; the signals DAG runs on it
WAREHOUSE_CORE = Asset("radar_warehouse_core", uri="file://radar/warehouse/core")
# new campaign terms, orders or clicks committed; the signals DAG runs on it too
CAMPAIGN_RESULTS = Asset("radar_campaign_results", uri="file://radar/warehouse/campaigns")

# the one-slot pool every writer of a DuckDB file takes (one writing process at a time)
WAREHOUSE_POOL = "radar_warehouse"
# on a DuckLake with a Postgres catalog, the per-platform loads that may run at once
LAKE_LOAD_POOL = "radar_lake_load"


def concurrent_loads() -> bool:
    """As the DAG is parsed: whether the warehouse takes several writers at once (a
    DuckLake with a Postgres catalog). Then each platform loads in its own task.

    Read from the environment, as ``platforms()`` is: importing the settings would import
    DuckDB into every parse (``ingest.runs.concurrent_loads`` is the same rule)."""
    return os.environ.get("RADAR_WAREHOUSE", "").strip().startswith("ducklake:postgres:")


def warehouse_pool() -> str:
    """The pool of a task that writes the warehouse: the one-slot pool on a DuckDB file
    (or a lake with a local catalog); on a shared lake, Airflow's default pool (writers
    coordinate through the lake's locks and conflict retries)."""
    return "default_pool" if concurrent_loads() else WAREHOUSE_POOL


def platforms() -> list[str]:
    """``RADAR_PLATFORMS`` as the DAG is parsed, else every registered platform: one
    extract task (and pool) per platform. The registry's names are its entry points',
    read without importing a connector (``radar.platforms``, standard library only)."""
    from radar.platforms import platform_names

    raw = os.environ.get("RADAR_PLATFORMS", "").strip()
    if not raw:
        return platform_names()
    names = json.loads(raw) if raw.startswith("[") else raw.split(",")
    return [n.strip() for n in names if n.strip()]


def interval_starting_at(start: datetime, cron: str = INGEST_CRON) -> tuple[datetime, datetime]:
    """The interval of ``cron`` that starts at ``start``."""
    from ingest.schedule import interval_starting_at

    return interval_starting_at(start, cron)


def run_interval(context, cron: str = INGEST_CRON) -> tuple[datetime, datetime]:
    """The data interval a run covers: the one that starts at its logical date.

    Scheduled runs and backfills have it as their data interval already. A manual run
    (``airflow dags trigger --logical-date``, the REST API, ``dags test``, ``make demo``)
    would otherwise get the interval ending when it was triggered (CLI) or ending at the
    date (REST API, ``dags test``). So a date names the same interval everywhere: the one
    that starts on it (for the daily default, that day)."""
    run_type = getattr(context["dag_run"].run_type, "value", context["dag_run"].run_type)
    logical = context.get("logical_date")
    if run_type == "manual" and logical is not None:
        return interval_starting_at(logical, cron)
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None:  # a manual run without a logical date: the last interval
        from croniter import croniter

        end = croniter(cron, context["dag_run"].run_after).get_prev(datetime)
        start = croniter(cron, end).get_prev(datetime)
    return start, end


def fail_fast(step: Callable) -> Callable:
    """Run a task body so that an error no retry can fix (``radar.errors.PermanentError``:
    bad config, unknown source, missing feed, a foreign lock on the warehouse) fails the
    task at once, and every failure leaves one ``RADAR FAILED`` line naming its cause."""

    @functools.wraps(step)
    def run(*args, **kwargs):
        from airflow.sdk.exceptions import AirflowFailException

        from radar.errors import PermanentError, one_line

        ti = kwargs.get("ti")
        name = step.__name__ if ti is None else ti.task_id
        if ti is not None and ti.map_index >= 0:
            name += f"[{ti.map_index}]"
        try:
            return step(*args, **kwargs)
        except PermanentError as exc:
            print(f"RADAR FAILED {name} (not retried): {one_line(exc)}")
            raise AirflowFailException(one_line(exc)) from exc
        except Exception as exc:
            cause = f"{type(exc).__name__}: {one_line(exc)}"
            print(f"RADAR FAILED {name} (retried while tries remain): {cause}")
            raise

    return run


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


def credentials(batch) -> dict[str, str]:
    """The secrets a live batch needs, read from Airflow connections when the task runs,
    never at parse time and never for a fixture batch: the fields its connector names of
    the connection ``radar_<platform>`` (or what the connector's own lookup returns, e.g.
    Mastodon's token per instance). They go to the platform client's headers or query
    only; the raw archive, logs and warehouse never see them."""
    from ingest.connector import FixtureBatch, as_batch
    from ingest.registry import connector

    batch = as_batch(batch)
    if isinstance(batch, FixtureBatch):  # no network
        return {}
    found = connector(batch.platform)
    if found.credentials is not None:
        return found.credentials(batch, _connection)
    conn = _connection(found.connection_id) if found.connection_fields else None
    if conn is None:
        return {}
    values = {key: getattr(conn, attr) for key, attr in found.connection_fields.items()}
    return {key: value for key, value in values.items() if value}


def to_xcom(batches: list) -> list[dict]:
    """Planned batches as the JSON XCom carries (``ingest.connector.Batch``)."""
    return [batch.model_dump(mode="json") for batch in batches]


def extract_batch(batch: dict, context, cron: str = INGEST_CRON) -> dict:
    """A mapped extract task's body: its batch, for this run, task and try."""
    from ingest.connector import TaskContext, as_batch
    from ingest.runs import extract

    batch = as_batch(batch)
    ti = context["ti"]
    start, end = run_interval(context, cron)
    print(f"extracting {batch.describe()} ({batch.kind})")
    task = TaskContext(
        interval_start=start,
        interval_end=end,
        run_id=context["run_id"],
        task=f"{ti.task_id}-{ti.map_index}",
        attempt=ti.try_number,
        credentials=credentials(batch),
    )
    return extract(batch, task)


def summarize_run(
    context, planned: list, extracted: list, loaded: dict | None, work_name: str = "extract"
) -> list[str]:
    """The run's summary, logged; fails the run, naming them, when any task of it failed.

    The last task of a run, with ``all_done``: the load and the signals go on with what
    arrived when one platform fails, but the run's final state must show every failure.
    ``planned`` and ``extracted`` hold one list per platform of ``platforms()``. A batch a
    spent daily quota stopped is no failure (its profiles are loaded, its posts wait for
    the next run): it is a warning. A platform that planned nothing says why."""
    from airflow.sdk.exceptions import AirflowFailException

    from ingest.runs import empty_plan_reason, failed_batches

    start, end = run_interval(context)
    lines, problems = [f"run {context['run_id']}: interval {start} → {end}"], []
    for name, batches, done in zip(platforms(), planned, extracted, strict=True):
        # one slice reads a mapped task's results at once; iterating would ask for one past
        # the end, which Airflow logs as "XCom not found" on every successful run
        done = [e for e in (done[:] if done else []) if e]
        if batches is None:
            problems.append(f"plan_{name} failed")
            continue
        if not batches:
            lines.append(f"nothing planned: {empty_plan_reason(name, start, end)}")
        for stopped in [d["stopped"] for d in done if d.get("stopped")]:
            logging.getLogger("radar.run").warning("%s batch stopped early: %s", name, stopped)
        problems.extend(f"{work_name}_{name} failed: {b}" for b in failed_batches(batches, done))
    if loaded is None:
        problems.append("load failed: nothing of this run reached the warehouse")
    else:
        lines.append(f"loaded {loaded['files_loaded']} file(s): {loaded['rows']}")
        # the other platforms loaded and signals ran on them; this platform's files wait
        problems.extend(f"load of {failed}" for failed in loaded.get("failed", []))
    failed_tasks = _failed_tasks(context)
    problems.extend(
        f"task {t} {state}"
        for t, state in failed_tasks
        if not t.startswith(("plan_", f"{work_name}_", "load"))
    )
    for line in lines:
        print(line)
    if problems:
        for problem in problems:
            print(f"RADAR FAILED {problem}")
        raise AirflowFailException(f"{len(problems)} problem(s): " + "; ".join(problems))
    return lines


def _failed_tasks(context) -> list[tuple[str, str]]:
    """(task id, state) of this run's tasks that failed or never ran because of a failure."""
    ti = context["ti"]
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
    return sorted(
        (task, str(state))
        for task, state in states.items()
        if str(state) in ("failed", "upstream_failed")
    )
