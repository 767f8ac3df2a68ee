"""Incremental runs day after day give exactly what a full rebuild of the same data gives.

A planted world is delivered as a stream of loads: each day brings the posts, counts,
follower snapshots and deletions first seen that day, plus late data (a snapshot missed
and loaded days later, a post fetched days after it was made), edits (of the text, and
of the kind: an original fetched again as a reply), new counts of
older posts and snapshots loaded again with corrected counts. One warehouse runs the
transforms after every day's load, incrementally; for each day a second warehouse gets
every load up to then at once and rebuilds from scratch. Every model and every mart
partition must be equal, row for row; a backfill of an earlier day after later loads
must be too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect, is_lake_connection
from tests.helpers.core_builder import config_with, insert_rows
from tests.helpers.planted_world import AS_OF, build_planted_world
from transforms.runner import discover_models, run_transforms

pytestmark = pytest.mark.slow

TABLES = {
    "snapshots": "core.account_snapshots",
    "posts": "core.posts",
    "metrics": "core.post_metric_snapshots",
    "deletions": "core.post_deletions",
}
FIRST_DAY = AS_OF - timedelta(days=6)
LAST_DAY = AS_OF + timedelta(days=1)


@dataclass
class Load:
    arrives: datetime
    table: str
    row: dict | None = None
    edit: tuple[str, str, datetime, str] | None = None  # post_id, new text, observed_at, kind
    recount: tuple[dict, int] | None = None  # a snapshot loaded again, with its new count


def stream_of_loads(seed: int) -> tuple[list[dict], list[Load]]:
    world, _ = build_planted_world(seed)
    rng = random.Random(seed)
    loads = []
    for row in world.snapshots:
        arrives = row["observed_at"]
        if rng.random() < 0.02:  # missed by its run, loaded by a later one
            arrives += timedelta(days=rng.randint(2, 5))
        loads.append(Load(arrives, "snapshots", row))
    for row in world.posts:
        if rng.random() < 0.03:  # fetched days after it was made
            row["first_seen_at"] = row["created_at"] + timedelta(days=rng.randint(1, 4))
        loads.append(Load(row["first_seen_at"], "posts", row))
    for row in world.metrics:
        loads.append(Load(row["observed_at"], "metrics", row))
        if rng.random() < 0.3:  # counted again two days later, with more likes
            later = row | {
                "observed_at": row["observed_at"] + timedelta(days=2),
                "likes": (row["likes"] or 0) + rng.randint(1, 400),
            }
            loads.append(Load(later["observed_at"], "metrics", later))
    for row in rng.sample(world.posts, 12):
        at = row["created_at"] + timedelta(days=rng.uniform(0.5, 6))
        deletion = {**_post_key(row), "first_seen_at": at, "observed_at": at}
        loads.append(Load(at, "deletions", deletion))
    for row in rng.sample(world.snapshots, 15):  # the same snapshot, loaded again corrected
        at = row["observed_at"] + timedelta(days=rng.randint(1, 3))
        loads.append(Load(at, "snapshots", recount=(row, row["followers"] + 777)))
    for row in rng.sample(world.posts, 12):
        at = row["created_at"] + timedelta(days=rng.uniform(0.5, 6))
        text = rng.choice(["tofu scramble for breakfast", "weekend traffic rant"])
        loads.append(Load(at, "posts", edit=(row["post_id"], text, at, row["kind"])))
    for row in rng.sample([r for r in world.posts if r["kind"] == "original"], 6):
        # fetched again as a reply (a thread it was later attached to): no longer own content
        at = row["created_at"] + timedelta(days=rng.uniform(0.5, 4))
        loads.append(Load(at, "posts", edit=(row["post_id"], row["text"], at, "reply")))
    loads.sort(key=lambda load: load.arrives)
    return world.accounts, loads


def _post_key(row: dict) -> dict:
    return {"platform": row["platform"], "post_id": row["post_id"]}


def _new_load_id(conn) -> int:
    """The next ``meta.load_seq`` value inside the open transaction (on a DuckLake the
    sequence is a one-row table; one process writes here, so no lock is needed)."""
    if is_lake_connection(conn):
        conn.execute("update meta.load_seq set value = value + 1")
        return conn.execute("select value from meta.load_seq").fetchone()[0]
    return conn.execute("select nextval('meta.load_seq')").fetchone()[0]


def deliver(conn, loads: list[Load]) -> None:
    """The loads as the loader writes them: each row stamped with a new load_id. Inserts
    between two edits go in one statement per table (row by row takes seconds)."""
    conn.execute("begin transaction")
    pending: dict[str, list[dict]] = {}
    for load in [*loads, None]:
        if load is not None and load.edit is None and load.recount is None:
            pending.setdefault(load.table, []).append(load.row)
            continue
        for table, rows in pending.items():
            load_id = _new_load_id(conn)
            insert_rows(conn, TABLES[table], [{**row, "load_id": load_id} for row in rows])
        pending = {}
        if load is None:
            break
        if load.recount is not None:  # the loader merges it on its key
            row, followers = load.recount
            conn.execute(
                "update core.account_snapshots set followers = ?, load_id = ? "
                "where platform = ? and account_id = ? and observed_at = ?",
                [followers, _new_load_id(conn), row["platform"], row["account_id"],
                 row["observed_at"]],
            )  # fmt: skip
            continue
        post_id, text, at, kind = load.edit
        conn.execute(
            "update core.posts set text = ?, kind = ?, observed_at = ?, "
            "load_id = ? where post_id = ? and observed_at <= ?",
            [text, kind, at, _new_load_id(conn), post_id, at],
        )
    conn.execute("commit")


def snapshot_of_models(conn, as_of: datetime) -> dict[str, list[tuple]]:
    tables = {}
    for model in discover_models(RadarSettings().sql_dir):
        if model.layer == "staging":
            continue
        where = "where as_of = ?" if model.layer == "marts" else ""
        params = [as_of] if model.layer == "marts" else []
        columns = [
            r[0]
            for r in conn.execute(f"describe {model.relation}").fetchall()
            if r[0] not in ("text_hash",)
        ]
        tables[model.relation] = conn.execute(
            f"select {', '.join(columns)} from {model.relation} {where} order by all", params
        ).fetchall()
    return tables


def rebuilt_from_scratch(fresh_warehouse, tmp_path: Path, config, accounts, loads, as_of) -> dict:
    """Every load up to ``as_of`` delivered at once to a new warehouse of the backend under
    test, and every model rebuilt."""
    settings = fresh_warehouse(tmp_path / f"full-{len(list(tmp_path.glob('full-*')))}")
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        insert_rows(conn, "core.accounts", accounts)
        deliver(conn, loads)
        run_transforms(conn, settings.sql_dir, config, as_of)
        return snapshot_of_models(conn, as_of)


def test_daily_incremental_runs_equal_full_rebuilds(
    tmp_path: Path, warehouse_backend, fresh_warehouse
):
    config = config_with(tmp_path)
    settings = RadarSettings()
    accounts, loads = stream_of_loads(seed=11)
    day, delivered = FIRST_DAY, 0
    with connect(warehouse_backend) as conn:
        apply_schema(conn, settings.sql_dir)
        insert_rows(conn, "core.accounts", accounts)
        checked = []
        while day <= LAST_DAY:
            due = [load for load in loads[delivered:] if load.arrives < day]
            deliver(conn, due)
            delivered += len(due)
            summary = run_transforms(conn, settings.sql_dir, config, day)
            got = snapshot_of_models(conn, day)
            want = rebuilt_from_scratch(
                fresh_warehouse, tmp_path, config, accounts, loads[:delivered], day
            )
            for relation, rows in want.items():
                assert got[relation] == rows, f"{relation} as of {day} differs from a rebuild"
            checked.append(summary.rows["intermediate.int_post_facts"])
            day += timedelta(days=1)

        # the first run computes every post; later ones only what their day loaded
        assert checked[0] > 5 * max(checked[1:])
        assert all(n > 0 for n in checked[1:])
        assert sum(len(rows) for rows in got.values()) > 1000  # the marts are not empty

        # a backfill of an earlier day, after every later load
        backfill = FIRST_DAY + timedelta(days=3)
        run_transforms(conn, settings.sql_dir, config, backfill)
        got = snapshot_of_models(conn, backfill)
        # the later loads count at that as_of only where the models say they do (first
        # seen, observed before it), which a rebuild over the same rows decides the same way
        want = rebuilt_from_scratch(
            fresh_warehouse, tmp_path, config, accounts, loads[:delivered], backfill
        )
        for relation, rows in want.items():
            assert got[relation] == rows, f"{relation}: the backfill differs from a rebuild"


def test_an_upstream_change_rebuilds_an_incremental_model(tmp_path: Path):
    """Editing a staging view that int_post_facts reads must not leave facts computed the
    old way: a model's fingerprint covers its lineage, and only its lineage."""
    import shutil

    from transforms.runner import discover_models, lineage_fingerprints

    sql = tmp_path / "sql"
    shutil.copytree(RadarSettings().sql_dir, sql)
    before = lineage_fingerprints(discover_models(sql), "config-a", "")
    view = sql / "staging" / "stg_post_metrics.sql"  # read by the facts, not the term hits
    view.write_text(view.read_text().replace("        views,\n", "        views,  -- edited\n"))
    after = lineage_fingerprints(discover_models(sql), "config-a", "")
    assert after["intermediate.int_post_facts"] != before["intermediate.int_post_facts"]
    assert after["marts.candidates"] != before["marts.candidates"]
    assert after["intermediate.int_post_term_hits"] == before["intermediate.int_post_term_hits"]
    # the config reaches the models whose lineage reads it, and only those
    other_config = lineage_fingerprints(discover_models(sql), "config-b", "")
    assert other_config["intermediate.int_post_facts"] == after["intermediate.int_post_facts"]
    assert (
        other_config["intermediate.int_post_term_hits"] != after["intermediate.int_post_term_hits"]
    )


@pytest.mark.parametrize("warehouse_backend", ["file"], indirect=True)
def test_a_rebuild_writes_incremental_models_in_cluster_order(tmp_path: Path, fresh_warehouse):
    """Kept for years, these tables are read by created_at window: written unordered, every
    row group would span the whole history and no window scan could skip one. (On the
    DuckDB file, whose rowid is the order rows were written in.)"""
    config = config_with(tmp_path)
    accounts, loads = stream_of_loads(seed=3)
    rebuilt_from_scratch(fresh_warehouse, tmp_path, config, accounts, loads, LAST_DAY)
    clustered = [m for m in discover_models(RadarSettings().sql_dir) if m.cluster_by]
    assert {m.name for m in clustered} >= {"int_post_facts", "int_post_term_hits"}
    with connect(RadarSettings().warehouse, read_only=True) as conn:
        for model in clustered:
            order = ", ".join(model.cluster_by)
            out_of_order = conn.execute(
                f"select count(*) from (select ({order}) < lag(({order})) over (order by rowid)"
                f" as back from {model.relation}) where back"
            ).fetchone()[0]
            rows = conn.execute(f"select count(*) from {model.relation}").fetchone()[0]
            assert rows > 100 and out_of_order == 0, model.relation


def test_incremental_headers_on_a_rebuilt_model_are_refused(tmp_path: Path):
    from transforms.runner import parse_model

    model = tmp_path / "some_mart.sql"
    model.write_text(
        "-- grain: one row per post\n-- key: post_id\n-- cluster_by: created_at\n"
        "select 1 as post_id, now() as created_at\n"
    )
    with pytest.raises(ValueError, match="incremental models only"):
        parse_model("marts", model)
    model.write_text(
        model.read_text().replace("-- cluster_by", "-- materialized: incremental\n-- cluster_by")
    )
    assert parse_model("marts", model).cluster_by == ["created_at"]
