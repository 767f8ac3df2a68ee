"""The runner's data tests: one scan per model finds every broken key, NULL and check."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from transforms.runner import Model, data_test_failures


def _model(**header) -> Model:
    return Model(layer="intermediate", name="t", path=Path("t.sql"), sql="", **header)


@pytest.fixture
def conn():
    with duckdb.connect() as conn:
        conn.execute("create schema intermediate")
        yield conn


def _table(conn: duckdb.DuckDBPyConnection, rows: list[tuple]) -> None:
    conn.execute("create or replace table intermediate.t (platform varchar, id varchar, n int)")
    if rows:
        conn.executemany("insert into intermediate.t values (?, ?, ?)", rows)


def test_unique_keys_pass_and_the_rows_are_counted(conn):
    _table(conn, [("a", str(i), i) for i in range(5000)] + [("b", "1", 1)])
    model = _model(key=["platform", "id"], not_null=["n"], checks=["n >= 0"])
    assert data_test_failures(conn, model) == ([], 5001)


@pytest.mark.parametrize(
    ("rows", "dupes"),
    [
        ([("a", "1", 1), ("a", "1", 2), ("a", "2", 3)], 1),
        # NULLs count as equal, as in a GROUP BY
        ([("a", None, 1), ("a", None, 2), (None, None, 3), (None, None, 4)], 2),
        ([("a", "1", 1)] * 3 + [("b", "1", 1)] * 2, 2),
    ],
)
def test_duplicated_keys_are_found(conn, rows, dupes):
    _table(conn, rows)
    failures, tested = data_test_failures(conn, _model(key=["platform", "id"]))
    assert failures == [f"intermediate.t: {dupes} duplicated keys (platform, id)"]
    assert tested == len(rows)


def test_nulls_and_checks_are_counted_in_the_same_scan(conn):
    _table(conn, [("a", "1", None), ("a", "2", -1), ("a", "3", 5)])
    model = _model(key=["id"], not_null=["n"], checks=["n >= 0"])
    assert data_test_failures(conn, model) == (
        ["intermediate.t: 1 rows with NULL n", "intermediate.t: 2 rows break `n >= 0`"],
        3,
    )


def test_an_empty_table_passes(conn):
    _table(conn, [])
    assert data_test_failures(conn, _model(key=["platform", "id"], not_null=["n"])) == ([], 0)
