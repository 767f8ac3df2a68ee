"""A warehouse killed while it is created or migrated opens again (issue 15, finding 1).

DuckDB 1.5 writes ``alter table … alter column … set default nextval(…)`` to its
write-ahead log but cannot replay it: a process killed between such a migration's commit
and the next checkpoint left a warehouse that failed to open with "Failure while replaying
WAL file … GetDefaultDatabase with no default database set". These tests kill real
processes with SIGKILL: right after each migration's commit, and at random instants while
a fresh warehouse is created and migrated.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from radar.warehouse import apply_schema, connect, schema_files

ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = ROOT / "sql"

# 0005 added load_id with these ALTERs at first, which DuckDB cannot replay. Warehouses that
# applied them keep their tables; a fresh one must end with the very same schema.
ALTERS = """
create sequence meta.load_seq;
alter table core.posts add column load_id bigint;
alter table core.posts alter column load_id set default nextval('meta.load_seq');
alter table core.post_metric_snapshots add column load_id bigint;
alter table core.post_metric_snapshots alter column load_id set default nextval('meta.load_seq');
alter table core.account_snapshots add column load_id bigint;
alter table core.account_snapshots alter column load_id set default nextval('meta.load_seq');
alter table core.post_deletions add column load_id bigint;
alter table core.post_deletions alter column load_id set default nextval('meta.load_seq');
"""


def _0005_with_alters(text: str) -> str:
    """0005 with its re-created tables replaced by the ALTERs it first held."""
    start = text.index("create sequence meta.load_seq;")
    last = "alter table core.post_deletions__v5 rename to post_deletions;"
    end = text.index(last) + len(last)
    return text[:start] + ALTERS + text[end:]


# applies the schema through radar.warehouse.apply_schema; SIGKILLs itself right after
# the COMMIT of migration number argv[2] (0: never), or is killed from outside
_CHILD = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from radar.warehouse import apply_schema, connect

class KillAfterCommit:
    def __init__(self, conn, nth):
        self.conn, self.nth, self.commits = conn, nth, 0
    def execute(self, *args):
        result = self.conn.execute(*args)
        if args[0] == "commit":
            self.commits += 1
            if self.commits == self.nth:
                os.kill(os.getpid(), signal.SIGKILL)
        return result

print("ready", flush=True)
sys.stdin.readline()
conn = connect(Path(sys.argv[1]), memory_limit="256MB")
apply_schema(KillAfterCommit(conn, int(sys.argv[2])), Path(sys.argv[3]))
conn.close()
print("done", flush=True)
sys.stdin.readline()  # a kill from now on lands after the work: the parent can tell
"""


def _child(warehouse: Path, kill_after_commit: int = 0) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(warehouse), str(kill_after_commit), str(SQL_DIR)]
        + [str(ROOT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"  # imports done
    return process


def _catalog(conn: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """Every table, column (type, default, nullability), constraint and sequence."""
    here = "database_name = current_database()"
    return {
        "columns": conn.execute(
            "select schema_name, table_name, column_index, column_name, data_type, "
            f"column_default, is_nullable from duckdb_columns() where {here} order by all"
        ).fetchall(),
        "constraints": conn.execute(
            "select schema_name, table_name, constraint_type, constraint_text, expression, "
            f"constraint_column_names from duckdb_constraints() where {here} order by all"
        ).fetchall(),
        "tables": conn.execute(
            f"select schema_name, table_name, sql from duckdb_tables() where {here} order by all"
        ).fetchall(),
        "sequences": conn.execute(
            f"select schema_name, sequence_name, sql from duckdb_sequences() where {here} "
            "order by all"
        ).fetchall(),
    }


def _reopens_and_finishes(warehouse: Path, expected: dict[str, list]) -> None:
    with connect(warehouse, memory_limit="256MB") as conn:  # raises if the WAL cannot replay
        assert apply_schema(conn, SQL_DIR) == schema_files(SQL_DIR)[-1][0]
        assert _catalog(conn) == expected


@pytest.fixture(scope="module")
def fresh_catalog(tmp_path_factory) -> dict[str, list]:
    with connect(tmp_path_factory.mktemp("clean") / "w.duckdb", memory_limit="256MB") as conn:
        apply_schema(conn, SQL_DIR)
        return _catalog(conn)


# one commit per migration, then the one that writes the schema's comments
@pytest.mark.parametrize("nth", range(1, len(schema_files(SQL_DIR)) + 2))
def test_killed_right_after_each_migration_commits_it_opens(
    tmp_path: Path, nth: int, fresh_catalog: dict
):
    warehouse = tmp_path / "w.duckdb"
    process = _child(warehouse, kill_after_commit=nth)
    process.communicate("go\n", timeout=60)
    assert process.returncode == -signal.SIGKILL
    _reopens_and_finishes(warehouse, fresh_catalog)


def test_killed_at_random_instants_while_created_and_migrated_it_opens(
    tmp_path: Path, fresh_catalog: dict
):
    """Kills spread over the whole creation and migration of a fresh warehouse: after each,
    it opens, the migrations finish, and the schema is the one an uninterrupted run gives."""
    # how long creating and migrating takes, from "go" to "done": the median of three, as
    # the first run pays for cold caches
    spans = []
    for n in range(3):
        timed = _child(tmp_path / f"timed{n}.duckdb")
        began = time.monotonic()
        timed.stdin.write("go\n")
        timed.stdin.flush()
        assert timed.stdout.readline().strip() == "done"
        spans.append(time.monotonic() - began)
        timed.communicate("\n", timeout=60)
    span = sorted(spans)[1]
    rng = random.Random(15)
    kills = int(os.environ.get("RADAR_SCHEMA_KILLS", "12"))
    during_work = 0
    for i in range(kills):
        warehouse = tmp_path / f"w{i}.duckdb"
        process = _child(warehouse)
        process.stdin.write("go\n")
        process.stdin.flush()
        time.sleep(rng.uniform(0, span))
        process.send_signal(signal.SIGKILL)
        out, _ = process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL
        during_work += "done" not in out
        if warehouse.exists():
            _reopens_and_finishes(warehouse, fresh_catalog)
            assert not list(tmp_path.glob(f".w{i}.duckdb.new-*"))  # removed on reopening
    # the kills must hit the work, not only its end, for the test to mean anything
    assert during_work >= kills // 3


def _v4_with_rows(path: Path, schema_dir: Path) -> None:
    """A warehouse at schema v4 holding one row in each table that 0005 changes."""
    v4 = schema_dir / "v4" / "schema"
    v4.mkdir(parents=True)
    for version, file in schema_files(SQL_DIR):
        if version <= 4:
            (v4 / file.name).write_text(file.read_text())
    with connect(path, memory_limit="256MB") as conn:
        assert apply_schema(conn, v4.parent) == 4
        conn.execute(
            "insert into core.posts values ('mastodon', 'p1', 'a1', '2026-11-19', null, 'tofu', "
            "'en', ['vegan'], [], null, 'original', null, null, '2026-11-20', '2026-11-20')"
        )
        conn.execute(
            "insert into core.post_metric_snapshots values "
            "('mastodon', 'p1', '2026-11-20', 5, 1, null, null, null)"
        )
        conn.execute(
            "insert into core.account_snapshots values "
            "('mastodon', 'a1', '2026-11-20', 20000, 10, 5, 'exact')"
        )
        conn.execute(
            "insert into core.post_deletions values ('bluesky', 'p2', '2026-11-20', '2026-11-20')"
        )
        conn.execute("insert into meta.transform_state values ('m', 'f', now(), now())")


def test_0005_gives_the_schema_and_rows_its_alters_gave(tmp_path: Path):
    """A v4 warehouse with rows, migrated by 0005 as it is and by the ALTERs it first
    held: the same tables, columns, defaults, constraints, dependencies and rows."""
    altered_sql, current_sql = tmp_path / "altered", tmp_path / "current"
    for sql_dir in (altered_sql, current_sql):
        (sql_dir / "schema").mkdir(parents=True)
    for version, file in schema_files(SQL_DIR):
        if version > 5:  # v10 drops the defaults both ways made: compared below
            continue
        text = file.read_text()
        (current_sql / "schema" / file.name).write_text(text)
        if file.name.startswith("0005_"):
            text = _0005_with_alters(text)
        (altered_sql / "schema" / file.name).write_text(text)
    results = []
    for name, sql_dir in (("altered", altered_sql), ("current", current_sql)):
        warehouse = tmp_path / f"{name}.duckdb"
        _v4_with_rows(warehouse, tmp_path / f"{name}-dirs")
        with connect(warehouse, memory_limit="256MB") as conn:
            apply_schema(conn, sql_dir)
            rows = {
                table: conn.execute(f"select * from {table}").fetchall()
                for table in (
                    "core.posts",
                    "core.post_metric_snapshots",
                    "core.account_snapshots",
                    "core.post_deletions",
                )
            }
            conn.execute(
                "insert into core.posts (platform, post_id, account_id, created_at, kind, "
                "first_seen_at, observed_at) values ('m', 'p9', 'a', now(), 'reply', now(), now())"
            )
            stamped = conn.execute("select load_id from core.posts where post_id = 'p9'").fetchall()
            dependencies = conn.execute(
                """with names as (
                       select table_oid as oid, schema_name || '.' || table_name as name
                       from duckdb_tables()
                       union all
                       select sequence_oid, schema_name || '.' || sequence_name
                       from duckdb_sequences())
                   select a.name, b.name, deptype from duckdb_dependencies() as d
                   join names as a on a.oid = d.objid join names as b on b.oid = d.refobjid
                   order by all"""
            ).fetchall()
            results.append((_catalog(conn), rows, stamped, dependencies))
    assert results[0] == results[1]
    catalog, rows, stamped, _ = results[1]
    assert all(row[-1] is None for table in rows.values() for row in table)  # load_id NULL
    assert stamped == [(1,)]  # the default still takes the sequence's next value


def test_0010_keeps_every_row_and_load_id_and_drops_the_defaults(tmp_path: Path):
    """A v9 warehouse whose four load_id tables hold rows (stamped by a load and by the
    v5 default), migrated to v10: the same rows, load_ids included, no nextval default
    left, and every column of the four tables commented (which a default prevented)."""
    v9 = tmp_path / "v9" / "schema"
    v9.mkdir(parents=True)
    for version, file in schema_files(SQL_DIR):
        if version <= 9:
            (v9 / file.name).write_text(file.read_text())
    warehouse = tmp_path / "w.duckdb"
    tables = ("core.posts", "core.post_metric_snapshots", "core.account_snapshots",
              "core.post_deletions")  # fmt: skip
    with connect(warehouse, memory_limit="256MB") as conn:
        assert apply_schema(conn, v9.parent) == 9
        conn.execute(
            "insert into core.posts (platform, post_id, account_id, created_at, kind, "
            "first_seen_at, observed_at) values ('m', 'p1', 'a', '2026-11-19', 'reply', "
            "'2026-11-20', '2026-11-20'), ('m', 'p2', 'a', '2026-11-19', 'original', "
            "'2026-11-20', '2026-11-21')"
        )
        conn.execute(
            "insert into core.post_metric_snapshots values "
            "('m', 'p1', '2026-11-20', 5, 1, null, null, null, 41)"
        )
        conn.execute(
            "insert into core.account_snapshots values "
            "('m', 'a', '2026-11-20', 20000, 10, 5, 'exact', 42)"
        )
        conn.execute("insert into core.post_deletions values ('m', 'p3', '2026-11-20', now(), 43)")
        before = {t: conn.execute(f"select * from {t} order by all").fetchall() for t in tables}
        defaults = conn.execute(
            "select count(*) from duckdb_columns() where column_default ilike 'nextval(%'"
        ).fetchone()[0]
        assert defaults == 4
    assert [row[-1] for row in before["core.posts"]] == [1, 2]  # the v5 default's values
    with connect(warehouse, memory_limit="256MB") as conn:
        assert apply_schema(conn, SQL_DIR) >= 10
        after = {t: conn.execute(f"select * from {t} order by all").fetchall() for t in tables}
        assert after == before
        assert conn.execute(
            "select count(*) from duckdb_columns() where column_default ilike 'nextval(%'"
        ).fetchone() == (0,)
        undescribed = conn.execute(
            "select table_name, column_name from duckdb_columns() "
            "where schema_name = 'core' and coalesce(comment, '') = '' "
            "and table_name in ('posts', 'post_metric_snapshots', 'account_snapshots', "
            "'post_deletions')"
        ).fetchall()
        assert undescribed == []
        # a row inserted by hand without a load_id is NULL: loads always stamp their own
        conn.execute(
            "insert into core.posts (platform, post_id, account_id, created_at, kind, "
            "first_seen_at, observed_at) values ('m', 'p9', 'a', now(), 'reply', now(), now())"
        )
        assert conn.execute("select load_id from core.posts where post_id = 'p9'").fetchone() == (
            None,
        )
