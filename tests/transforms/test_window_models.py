"""Window models (``-- materialized: window``): the run computes each once into a temp
table that later models and the data tests read, and leaves a view of the same SQL that
shows an analyst, in a session of their own, the rows of the last run's as-of."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pytest

from bench.transforms_bench import START, generate
from radar.settings import RadarSettings
from radar.warehouse import connect
from transforms.runner import discover_models, materialise, parse_model, run_transforms

DAYS = 40
AS_OF = START + timedelta(days=DAYS)
WINDOWS = [m for m in discover_models(RadarSettings().sql_dir) if m.materialized == "window"]


def _run(path, as_of: datetime):
    settings = RadarSettings()
    with connect(path) as conn:
        summary = run_transforms(conn, settings.sql_dir, settings.config_dir, as_of)
        # the run's copies are gone: the connection reads the views from here on
        temp = conn.execute(
            "select table_name from duckdb_tables() where database_name = 'temp'"
        ).fetchall()
        assert temp == []
    return summary


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("window") / "warehouse.duckdb"
    generate(path, 30, 3000, DAYS)
    with connect(path) as conn:  # as an earlier version left them: tables
        conn.execute("create schema if not exists intermediate")
        for model in WINDOWS:
            conn.execute(f"create table {model.relation} as select 1 as stale")
    # an earlier as-of first: the second run must replace what the views show
    _run(path, AS_OF - timedelta(days=10))
    summary = _run(path, AS_OF)
    return path, summary


def test_the_90_day_window_models_are_window_models():
    assert {m.name for m in WINDOWS} >= {
        "int_own_posts",
        "int_account_daily_growth",
        "int_account_followers",
    }


def test_a_window_model_is_a_view_with_the_rows_of_the_last_run(warehouse):
    path, summary = warehouse
    settings = RadarSettings()
    # a session of its own: no as_of variable set, as an analyst's
    with duckdb.connect(str(path), read_only=True) as conn:
        kinds = dict(
            conn.execute(
                "select table_name, table_type from information_schema.tables "
                "where table_schema = 'intermediate'"
            ).fetchall()
        )
        for model in WINDOWS:
            assert kinds[model.name] == "VIEW"
            shown = conn.execute(f"select * from {model.relation} order by all").fetchall()
            assert shown, model.relation
            assert len(shown) == summary.rows[model.relation]
            # the model's own SQL as of the run's instant gives the same rows
            sql = parse_model("intermediate", settings.sql_dir / f"intermediate/{model.name}.sql")
            conn.execute("set variable as_of = ?::timestamp", [AS_OF])
            expected = conn.execute(f"select * from ({sql.sql}) order by all").fetchall()
            assert shown == expected, model.relation
            # a session's own as_of is the view's, so an analyst can look at another day
            conn.execute("set variable as_of = ?::timestamp", [AS_OF - timedelta(days=20)])
            earlier = conn.execute(f"select * from {model.relation} order by all").fetchall()
            assert earlier != shown, model.relation
            conn.execute("reset variable as_of")


def test_a_table_left_by_an_earlier_version_becomes_the_view(warehouse):
    path, _ = warehouse
    with duckdb.connect(str(path), read_only=True) as conn:
        for model in WINDOWS:
            columns = [r[0] for r in conn.execute(f"describe {model.relation}").fetchall()]
            assert "stale" not in columns, model.relation


def test_later_models_read_the_runs_temp_table_not_the_view(tmp_path):
    """A model reading a window model gets the temp table the run computed (so the window's
    query runs once per run): here the view and the temp table hold different rows."""
    sql = tmp_path / "sql"
    for layer in ("intermediate", "marts"):
        (sql / layer).mkdir(parents=True)
    (sql / "intermediate/int_window.sql").write_text(
        "-- grain: one row\n-- key: n\n-- materialized: window\n"
        "select epoch(getvariable('as_of'))::bigint as n\n"
    )
    (sql / "marts/reader.sql").write_text(
        "-- grain: one row per as_of\n-- key: as_of\n"
        "select getvariable('as_of') as as_of, n from intermediate.int_window\n"
    )
    window = parse_model("intermediate", sql / "intermediate/int_window.sql")
    reader = parse_model("marts", sql / "marts/reader.sql")
    with duckdb.connect() as conn:
        conn.execute("create schema intermediate; create schema marts")
        conn.execute("set variable as_of = timestamp '2026-01-01'")
        materialise(conn, window, "", 0, {}, datetime(2026, 1, 1))
        conn.execute(f"update {window.run_relation} set n = -1")  # only the temp copy
        materialise(conn, reader, "", 0, {window.relation: window.run_relation})
        assert conn.execute("select n from marts.reader").fetchall() == [(-1,)]
        assert conn.execute("select n from intermediate.int_window").fetchall() != [(-1,)]


def test_a_window_model_that_needs_another_variable_is_refused(tmp_path):
    model = tmp_path / "int_x.sql"
    model.write_text(
        "-- grain: one row\n-- key: n\n-- materialized: window\n"
        "select getvariable('since_load') as n\n"
    )
    with pytest.raises(ValueError, match="reads no variable but as_of"):
        parse_model("intermediate", model)


def test_a_post_counted_again_after_as_of_shows_its_counts_from_before(tmp_path):
    """The facts hold a post's newest counts; as of an earlier instant, a post counted again
    since shows the newest counts observed before that instant (or none)."""
    path = tmp_path / "warehouse.duckdb"
    generate(path, 30, 3000, DAYS)
    with connect(path) as conn:
        # each post of days 20-25 counted again two days after its first count, with more likes
        conn.execute(
            """insert into core.post_metric_snapshots
               select platform, post_id, observed_at + interval 2 days, likes + 1000, comments,
                      shares, quotes, views, load_id
               from core.post_metric_snapshots
               where observed_at >= ? and observed_at < ?""",
            [START + timedelta(days=21), START + timedelta(days=26)],
        )
    _run(path, AS_OF)  # the facts now hold the later counts
    as_of = START + timedelta(days=24)
    with duckdb.connect(str(path), read_only=True) as conn:
        conn.execute("set variable as_of = ?::timestamp", [as_of])
        shown = conn.execute(
            "select platform, post_id, likes from intermediate.int_own_posts order by all"
        ).fetchall()
        expected = conn.execute(
            """select p.platform, p.post_id, m.likes
               from core.posts as p
               left join (select platform, post_id, arg_max(likes, observed_at) as likes
                          from core.post_metric_snapshots where observed_at < $as_of
                          group by all) as m using (platform, post_id)
               where p.kind in ('original', 'quote') and p.created_at < $as_of
                   and p.created_at >= $as_of - interval 90 days
               order by all""",
            {"as_of": as_of},
        ).fetchall()
        # posts with counts on both sides of as_of, and posts counted only after it
        straddling, only_after = conn.execute(
            """select count(*) filter (where first_at < $as_of),
                      count(*) filter (where first_at >= $as_of)
               from (select min(observed_at) as first_at from core.post_metric_snapshots
                     group by platform, post_id having max(observed_at) >= $as_of)""",
            {"as_of": as_of},
        ).fetchone()
    assert straddling > 100 and only_after > 10
    assert shown == expected
