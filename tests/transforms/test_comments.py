"""The warehouse describes itself: every table and column carries a COMMENT from
sql/*/descriptions.yml, through incremental runs, rebuilds and on a DuckLake, and
docs/data-model.md says the same."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from radar.descriptions import (
    REFERENCE_BEGIN,
    REFERENCE_END,
    load_descriptions,
    pending_comments,
    reference_markdown,
)
from radar.warehouse import Lake, apply_schema, connect
from tests.helpers.paths import DEMO_INTERVAL, ROOT
from transforms.descriptions import model_grains
from transforms.runner import run_transforms

SQL_DIR = ROOT / "sql"
CONFIG_DIR = ROOT / "config"
DATA_MODEL = ROOT / "docs" / "data-model.md"
SCHEMAS = ("meta", "core", "config", "staging", "intermediate", "marts")
AS_OF = DEMO_INTERVAL[1]


def comments(conn: duckdb.DuckDBPyConnection) -> tuple[dict, dict]:
    """Table and view comments by relation; column comments by (relation, column)."""
    marks = ", ".join("?" for _ in SCHEMAS)
    relations = dict(
        conn.execute(
            f"""select schema_name || '.' || table_name, comment from duckdb_tables()
                where database_name = current_database() and schema_name in ({marks})
                union all
                select schema_name || '.' || view_name, comment from duckdb_views()
                where database_name = current_database() and schema_name in ({marks})""",
            [*SCHEMAS, *SCHEMAS],
        ).fetchall()
    )
    columns = {
        (relation, column): comment
        for relation, column, comment in conn.execute(
            f"""select schema_name || '.' || table_name, column_name, comment
                from duckdb_columns()
                where database_name = current_database() and schema_name in ({marks})""",
            list(SCHEMAS),
        ).fetchall()
    }
    return relations, columns


def undescribed(conn: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = SCHEMAS) -> list[str]:
    relations, columns = comments(conn)
    relations = {r: text for r, text in relations.items() if r.split(".")[0] in schemas}
    columns = {k: text for k, text in columns.items() if k[0].split(".")[0] in schemas}
    missing = [r for r, text in relations.items() if not (text or "").strip()]
    missing += [f"{r}.{c}" for (r, c), text in columns.items() if not (text or "").strip()]
    return sorted(missing)


def sequenced(conn: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r
        for (r,) in conn.execute(
            "select distinct schema_name || '.' || table_name from duckdb_columns() "
            "where database_name = current_database() and column_default ilike 'nextval(%'"
        ).fetchall()
    }


def test_every_table_and_column_of_the_demo_warehouse_has_a_comment(demo_run):
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as conn:
        # DuckDB 1.5 cannot replay a column comment on a table with a nextval default from
        # its write-ahead log: schema v10 dropped the last of them, none may come back
        assert sequenced(conn) == set()
        assert undescribed(conn) == []
        relations, columns = comments(conn)
    assert {r.split(".")[0] for r in relations} == set(SCHEMAS)
    # the source describes nothing the warehouse lacks: a renamed column leaves no stale text
    descriptions = load_descriptions(SQL_DIR)
    lake_only = {"meta.load_seq"}  # a sequence on a DuckDB file, a table on a DuckLake
    assert sorted(set(descriptions) - set(relations) - lake_only) == []
    stale = [
        f"{r}.{c}"
        for r, entry in descriptions.items()
        for c in entry.columns
        if (r, c) not in columns and r not in lake_only
    ]
    assert stale == []
    # a model's table comment carries its grain and key from its header
    assert "Grain: one row per as-of instant per scope" in relations["marts.candidates"]
    assert "Key: as_of, scope_type, scope, platform, account_id." in relations["marts.candidates"]
    # the score's parts and the rates say what they are
    parts = {c: columns[("marts.candidates", c)] for c in ("fit_part", "engagement_part")}
    assert "niche_share / candidates.full_niche_share" in parts["fit_part"]
    assert "ln(platform_lift)" in parts["engagement_part"]
    assert "target_posts_30d" in columns[("marts.candidates", "activity_part")]
    assert "authenticity_score / 100" in columns[("marts.candidates", "authenticity_part")]
    rates = [key for key in columns if re.search(r"(^|_)rate(_|$)", key[1])]
    assert rates
    for key in rates:
        if key[1] in ("rated_posts_before_jump", "rated_posts_after_jump"):
            continue
        if key in NOT_FRACTIONS:  # exchange rates: currency per currency
            continue
        assert re.search(r"fraction|percentile|rate|/|\d = \d+ ?%", columns[key]), key


def test_the_data_model_doc_carries_the_generated_reference():
    document = DATA_MODEL.read_text(encoding="utf-8")
    start, end = document.index(REFERENCE_BEGIN), document.index(REFERENCE_END)
    generated = document[start : end + len(REFERENCE_END)]
    expected = reference_markdown(load_descriptions(SQL_DIR, model_grains(SQL_DIR)))
    assert generated == expected, "python -m transforms.descriptions --write"


def test_every_warehouse_table_has_a_hand_written_section_in_the_data_model(demo_run):
    document = DATA_MODEL.read_text(encoding="utf-8")
    hand_written = document[: document.index(REFERENCE_BEGIN)]
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as conn:
        relations, _ = comments(conn)
    assert sorted(r for r in relations if f"`{r}`" not in hand_written) == []


def run(conn: duckdb.DuckDBPyConnection) -> None:
    run_transforms(conn, SQL_DIR, CONFIG_DIR, AS_OF)


def test_comments_survive_incremental_runs_and_rebuilds(demo_run, tmp_path: Path):
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_run.warehouse, path)
    conn = connect(path)
    try:
        apply_schema(conn, SQL_DIR)
        # a second run rebuilds views, intermediate and config tables, and writes the
        # comments again; the incremental tables keep theirs
        run(conn)
        assert undescribed(conn) == []
        # a rebuild re-creates an incremental table from its own columns
        conn.execute("delete from meta.transform_state")
        run(conn)
        assert undescribed(conn) == []
        # a mart whose columns changed is dropped and created again
        conn.execute("alter table marts.candidates add column stale_column integer")
        run(conn)
        assert undescribed(conn) == []
        # and with every comment in place, nothing is left to write
        everything = load_descriptions(SQL_DIR, model_grains(SQL_DIR))
        assert pending_comments(conn, everything, SCHEMAS) == []
    finally:
        conn.close()


def test_apply_schema_describes_a_new_warehouse_before_any_transform(tmp_path: Path):
    conn = connect(tmp_path / "warehouse.duckdb")
    try:
        apply_schema(conn, SQL_DIR)
        # the incremental tables the migrations declare are described by the transforms
        assert undescribed(conn, ("meta", "core")) == []
        relations, _ = comments(conn)
        assert "core.posts" in relations and "meta.runs" in relations
        # an edited description reaches the warehouse at the next apply_schema
        conn.execute("comment on column core.accounts.bio is 'outdated'")
        apply_schema(conn, SQL_DIR)
        _, columns = comments(conn)
        assert columns[("core.accounts", "bio")] != "outdated"
        # the tables whose load_id lost its nextval default in v10 are described too
        assert "latest observation" in columns[("core.posts", "observed_at")]
        assert "load transaction" in columns[("core.post_deletions", "load_id")]
    finally:
        conn.close()


def test_a_ducklake_carries_the_comments_it_can(tmp_path: Path):
    lake = Lake.parse(f"ducklake:duckdb:{tmp_path / 'catalog.ducklake'}", str(tmp_path / "files"))
    conn = connect(lake)
    try:
        apply_schema(conn, SQL_DIR)
        run(conn)
        missing = undescribed(conn)
        views = {
            f"{schema}.{name}"
            for schema, name in conn.execute(
                "select schema_name, view_name from duckdb_views() "
                "where database_name = current_database() and not internal"
            ).fetchall()
        }
        # the staging models and the window models of intermediate
        assert {v.split(".")[0] for v in views} == {"staging", "intermediate"}
        # DuckLake has no comments on a view's columns: those, and only those, are missing
        assert missing and all(m.rsplit(".", 1)[0] in views for m in missing)
    finally:
        conn.close()
    with pytest.raises(duckdb.Error, match="not a table"):
        conn = connect(lake)
        try:
            conn.execute("comment on column staging.stg_posts.text is 'x'")
        finally:
            conn.close()


# docs/data-model.md, "Fractions, ratios and percentages": a rate, share, fit, score part
# or percentile is a fraction (0.02 = 2 %), a lift a ratio; percentages only in `*_pct`
FRACTION_NAME = re.compile(r"(^|_)(rate|share|fit|part|percentile)(_|$)")
RATIO_NAME = re.compile(r"(^|_)lift(_|$)")
SAYS_FRACTION = re.compile(r"\bfraction\b|\b0?\.\d+ = \d+ ?%")
SAYS_RATIO = re.compile(r"\bratio\b|\b\d\.\d+ = \d+ ?% above")
# exchange rates are prices, not shares of anything (campaign currencies)
NOT_FRACTIONS = {("core.fx_rates", "rate"), ("marts.campaign_orders", "fx_rate")}
# fractions by construction: never above 1 (a rate, engagements per follower, may be)
BOUNDED = re.compile(r"(^|_)(share|fit|part|percentile)(_|$)")
NUMERIC = ("DOUBLE", "FLOAT", "REAL", "DECIMAL")


def numeric_columns(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str | None]]:
    marks = ", ".join("?" for _ in SCHEMAS)
    return [
        (relation, column, comment)
        for relation, column, kind, comment in conn.execute(
            f"""select schema_name || '.' || table_name, column_name, data_type, comment
                from duckdb_columns()
                where database_name = current_database() and schema_name in ({marks})""",
            list(SCHEMAS),
        ).fetchall()
        if kind.startswith(NUMERIC)
    ]


def test_rates_and_shares_are_fractions_and_say_so(demo_run):
    """Every rate, share, fit, part or percentile column of the live warehouse says in its
    COMMENT that it is a fraction (a lift: a ratio), and holds values like one; a `*_pct`
    column holds percentages (none in the warehouse today: the exports have them)."""
    unclear, percent_like, named_pct = [], [], []
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as conn:
        for relation, column, comment in numeric_columns(conn):
            if (relation, column) in NOT_FRACTIONS:
                continue
            if column.endswith("_pct"):
                named_pct.append(f"{relation}.{column}")
                low, high = conn.execute(
                    f"select min({column}), max({column}) from {relation}"
                ).fetchone()
                assert high is None or (0 <= low and high <= 100 and high > 1), column
                continue
            says = SAYS_RATIO if RATIO_NAME.search(column) else SAYS_FRACTION
            if not (FRACTION_NAME.search(column) or RATIO_NAME.search(column)):
                continue
            if not says.search(comment or ""):
                unclear.append(f"{relation}.{column}: {comment}")
            # a value above 1 (or 100 % written as 100) is a percentage in a fraction's name
            high = conn.execute(f"select max(abs({column})) from {relation}").fetchone()[0]
            limit = 1 if BOUNDED.search(column) else 0.5
            if high is not None and high > limit and not RATIO_NAME.search(column):
                percent_like.append(f"{relation}.{column}: max {high}")
        checked = [c for r, c, _ in numeric_columns(conn) if FRACTION_NAME.search(c)]
    assert unclear == []
    assert percent_like == []
    assert len(checked) > 40 and named_pct == []


def test_the_exports_name_and_print_percentages_as_such(demo_run):
    """The CSV export's percentages end in `_pct` and are the marts' fractions × 100; its
    other rate-like columns stay fractions; the HTML report prints each ER with a `%`."""
    import csv

    exports = demo_run.data_dir / "exports"
    with (exports / "candidates-2026-11-21.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as conn:
        marts = {
            (scope, account): (rate, peer)
            for scope, account, rate, peer in conn.execute(
                """select scope, account_id, engagement_rate_30d_mean, peer_median_rate
                   from marts.candidates where as_of = ?""",
                [AS_OF],
            ).fetchall()
        }
    assert rows and len(rows) == len(marts)
    percents = [c for c in rows[0] if c.endswith("_pct")]
    assert {"er_30d_pct", "peer_median_er_pct", "follower_growth_30d_pct"} <= set(percents)
    for row in rows:
        rate, peer = marts[(row["scope"], row["account_id"])]
        assert float(row["er_30d_pct"]) == pytest.approx(100 * rate, abs=0.006)
        assert float(row["peer_median_er_pct"]) == pytest.approx(100 * peer, abs=0.006)
        for column in row:
            if FRACTION_NAME.search(column) and not column.endswith("_pct") and row[column]:
                assert 0 <= float(row[column]) <= 1, (column, row[column])
    assert max(float(row["er_30d_pct"]) for row in rows) > 1  # percent, not a fraction

    html = (exports / "candidates-2026-11-21.html").read_text()
    printed = re.findall(r'<tr class="candidate">.*?<td class="num">([\d.]+)%</td>', html, re.S)
    assert len(printed) == len(rows)
    expected = sorted(100 * rate for rate, _ in marts.values())
    assert sorted(float(p) for p in printed) == pytest.approx(expected, abs=0.006)
