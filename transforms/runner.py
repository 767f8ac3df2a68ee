"""Runs the SQL models in ``sql/<layer>/`` in dependency order, as of one instant.

Each model file starts with a header that states its contract and its data tests::

    -- grain: one row per account
    -- key: platform, account_id          (unique, checked)
    -- not_null: platform, account_id     (checked)
    -- check: followers is null or followers >= 0   (every row must satisfy it)
    -- test_where: observed_at >= …       (optional: the rows the tests look at)
    -- materialized: incremental          (optional, see below; or ``window``)
    -- replace_by: platform, post_id      (incremental: the key whose rows a new row replaces)
    -- cluster_by: created_at             (incremental: the order new rows are written in)
    -- rebuild_slices: (select list(…) …)  (incremental: bounds of a rebuild's slices)
    -- let: posts_from = (select min(…) …)  (optional: a variable set before the model runs)

Layers materialise differently: ``staging`` models are views over ``core``;
``intermediate`` models are tables rebuilt for the run's as-of; ``marts`` keep one
partition per ``as_of`` (delete + insert), so a backfill adds history instead of
overwriting it. A ``window`` model (intermediate: rows for the run's as-of only, replaced
every run) is computed once into a temporary table that the later models and its data
tests read (no write to the warehouse file), and kept as a view of the same SQL whose
``getvariable('as_of')`` falls back to the run's as-of, written into the view: an
analyst's session sees the rows the last run used. An ``incremental`` model keeps its rows
(its table is declared in ``sql/schema``); its SQL selects only rows for new or changed
inputs, which replace rows with the same key (written in ``cluster_by`` order, so that the
row groups of a table kept for years stay narrow in the column that window queries filter
on, and their scans skip the rest), and it is rebuilt whole when what it reads changes:
its SQL, a model upstream of it, a macro it or they call, or the rows of a ``config.``
table it or they read (not a setting only other models read, nor ``sources.yaml``, which
feeds no table). Its SQL finds new inputs by ``load_id > getvariable('since_load')`` (NULL
on a rebuild: every row). A ``let`` line sets a variable from a scalar query before the
model's SQL runs: a constant there lets DuckDB skip row groups, which a subquery in the
SQL itself would not.
Everything, config tables included, runs in one transaction: a failing data test leaves
the warehouse as it was.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

from radar.descriptions import Relation, apply_comments, load_descriptions
from radar.lake_locks import LakeLocks
from radar.warehouse import (
    is_lake_connection,
    lake_of,
    next_load_id,
    retry_conflicts,
    rollback_quietly,
    table_columns,
)
from transforms.config import ConfigTable, config_tables, write_config_tables

log = logging.getLogger(__name__)

LAYERS = ("staging", "intermediate", "marts")
_HEADER = re.compile(
    r"^--\s*(grain|key|not_null|check|test_where|materialized|replace_by|cluster_by|let"
    r"|rebuild_slices):"
    r"\s*(.+?)\s*$"
)
_REFERENCE = re.compile(r"\b(staging|intermediate|marts)\.(\w+)\b")
_VARIABLE = re.compile(r"getvariable\(\s*'(\w+)'\s*\)", re.IGNORECASE)
MATERIALIZATIONS = (None, "incremental", "window")


@dataclass
class Model:
    layer: str
    name: str
    path: Path
    sql: str
    grain: str = ""
    key: list[str] = field(default_factory=list)
    not_null: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    test_where: str | None = None
    materialized: str | None = None
    replace_by: list[str] = field(default_factory=list)
    cluster_by: list[str] = field(default_factory=list)
    # a scalar expression: ascending bounds of cluster_by's first column (see docs/models.md)
    rebuild_slices: str | None = None
    lets: list[tuple[str, str]] = field(default_factory=list)
    depends_on: set[str] = field(default_factory=set)

    @property
    def relation(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def run_relation(self) -> str:
        """What the run's later models and data tests read: a window model's temp table."""
        return f"temp.main.{self.name}" if self.materialized == "window" else self.relation


class DataTestError(RuntimeError):
    """One or more data tests failed; the transaction was rolled back."""


def parse_model(layer: str, path: Path) -> Model:
    sql = path.read_text(encoding="utf-8")
    model = Model(layer=layer, name=path.stem, path=path, sql=sql.strip().rstrip(";"))
    for line in sql.splitlines():
        match = _HEADER.match(line.strip())
        if match is None:
            continue
        kind, value = match.groups()
        if kind in ("grain", "test_where", "materialized", "rebuild_slices"):
            setattr(model, kind, value)
        elif kind == "let":
            name, _, expression = value.partition("=")
            if not name.strip().isidentifier() or not expression.strip():
                raise ValueError(f"{path}: a let line reads `-- let: name = (select …)`")
            model.lets.append((name.strip(), expression.strip()))
        elif kind in ("replace_by", "cluster_by"):
            setattr(model, kind, [c.strip() for c in value.split(",")])
        elif kind == "check":
            model.checks.append(value)
        else:
            getattr(model, kind).extend(c.strip() for c in value.split(","))
    if not model.grain or not model.key:
        raise ValueError(f"{path}: every model states its grain and key in its header")
    if model.materialized not in MATERIALIZATIONS:
        raise ValueError(f"{path}: unknown materialization {model.materialized!r}")
    if model.materialized == "window":
        # its view must give the run's rows in any session, where only as_of has a fallback
        variables = {v.lower() for v in _VARIABLE.findall(sql)} - {"as_of"}
        if model.layer != "intermediate" or model.lets or variables:
            raise ValueError(
                f"{path}: a window model is an intermediate model that reads no variable "
                "but as_of and has no let line"
            )
    if model.materialized != "incremental" and (model.replace_by or model.cluster_by):
        # a rebuilt table would silently ignore them; say so instead
        raise ValueError(f"{path}: replace_by and cluster_by apply to incremental models only")
    if model.rebuild_slices and not model.cluster_by:
        raise ValueError(f"{path}: rebuild_slices slices by cluster_by, which it needs")
    model.depends_on = {f"{s}.{n}" for s, n in _REFERENCE.findall(sql)} - {model.relation}
    return model


def discover_models(sql_dir: Path) -> list[Model]:
    """All models, each after the models it reads from."""
    models = {
        m.relation: m
        for layer in LAYERS
        for path in sorted((sql_dir / layer).glob("*.sql"))
        for m in [parse_model(layer, path)]
    }
    for model in models.values():
        missing = model.depends_on - set(models)
        if missing:
            raise ValueError(f"{model.path}: reads unknown models {sorted(missing)}")
    order = TopologicalSorter({r: m.depends_on for r, m in models.items()}).static_order()
    return [models[r] for r in order]


def drop_orphans(conn: duckdb.DuckDBPyConnection, models: list[Model]) -> list[str]:
    """Drop relations in the model schemas that no model produces any more.

    The runner owns ``staging``, ``intermediate`` and ``marts``: a renamed or deleted
    model must not leave a stale table behind that still looks current.
    """
    known = {m.relation for m in models}
    found = conn.execute(
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_catalog = current_database() "
        "and table_schema in ('staging', 'intermediate', 'marts')"
    ).fetchall()
    dropped = []
    for schema, name, kind in found:
        if f"{schema}.{name}" not in known:
            log.warning("dropping %s.%s: no model in sql/%s produces it", schema, name, schema)
            conn.execute(f'drop {"view" if kind == "VIEW" else "table"} "{schema}"."{name}"')
            dropped.append(f"{schema}.{name}")
    return dropped


# `config.x` in a model or macro: the config tables it reads (and the config macros it
# calls). Case-insensitive and quote-tolerant, and comments count too: a name that is
# only mentioned costs an extra rebuild, a read that is missed would cost a wrong result
_CONFIG_REFERENCE = re.compile(r'\bconfig"?\s*\.\s*"?(\w+)', re.IGNORECASE)
# the name a CREATE MACRO statement defines, after any comments before it
_MACRO_NAME = re.compile(
    r"create\s+(?:or\s+replace\s+)?(?:temp(?:orary)?\s+)?(?:macro|function)\s+"
    r'(?:if\s+not\s+exists\s+)?(?:"?\w+"?\s*\.\s*)*"?(\w+)',
    re.IGNORECASE,
)
_LEADING_COMMENTS = re.compile(r"(?:\s+|;|--[^\n]*|/\*.*?\*/)*", re.DOTALL)


def split_macros(sql: str) -> tuple[dict[str, str], str]:
    """The statements of ``sql/macros``: each macro's statement by its name (lowercase,
    without its schema), and every other statement (``create schema …``), which every
    model's fingerprint includes."""
    macros: dict[str, str] = {}
    others = []
    for statement in duckdb.extract_statements(sql):
        text = statement.query
        match = _MACRO_NAME.match(text, _LEADING_COMMENTS.match(text).end())
        if match is None:
            others.append(text)
        else:  # one name in two schemas: a call of either name counts as a call of both
            name = match.group(1).lower()
            macros[name] = f"{macros[name]}\0{text}" if name in macros else text
    return macros, "\0".join(others)


def reads(sql: str, macros: dict[str, str]) -> tuple[list[str], list[str]]:
    """The macros ``sql`` calls (a name followed by a parenthesis, in any schema) and the
    macros they call, recursively; and the ``config.`` names that it or they mention (the
    config tables they read, and names of config macros). ``macros``: from ``split_macros``."""
    called: set[str] = set()
    pending = [sql]
    while pending:
        text = pending.pop()
        for name in macros.keys() - called:
            if re.search(rf'\b{re.escape(name)}"?\s*\(', text, re.IGNORECASE):
                called.add(name)
                pending.append(macros[name])
    texts = [sql, *(macros[name] for name in called)]
    config = {name.lower() for text in texts for name in _CONFIG_REFERENCE.findall(text)}
    return sorted(called), sorted(config)


def lineage_fingerprints(
    models: list[Model], config: Mapping[str, str] | str, macros: str
) -> dict[str, str]:
    """Per model, a digest of its SQL and of what it reads: the models upstream of it
    (their digests, so recursively), the macros it calls (and those they call), and the
    contents of the ``config.`` tables it or those macros read (``config``: a digest per
    table, from ``ConfigTable.digest``; or one digest for every table). Only what a model
    reads: a setting of the marts leaves the text models' fingerprints as they were.
    An incremental model whose fingerprint changes is rebuilt whole."""
    definitions, shared = split_macros(macros)
    digests: dict[str, str] = {}
    for model in models:  # in dependency order, so every upstream digest is known
        called, config_names = reads(model.sql, definitions)
        parts = [
            model.sql,
            *(definitions[name] for name in called),
            shared,
            *(digests[r] for r in sorted(model.depends_on)),
            # a name that is no table (a config macro's) adds a constant
            *(
                f"config.{name}={config if isinstance(config, str) else config.get(name, '')}"
                for name in config_names
            ),
        ]
        digests[model.relation] = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return digests


def reading_windows(sql: str, windows: Mapping[str, str]) -> str:
    """``sql`` reading each window model (``windows``: relation -> run relation) from the
    run's temp table instead of its view."""
    if not windows:
        return sql
    return _REFERENCE.sub(lambda m: windows.get(m.group(0), m.group(0)), sql)


def window_view_sql(model: Model, as_of: datetime) -> str:
    """The window model's SQL for its view: ``as_of`` where the session sets none."""
    fallback = f"coalesce(getvariable('as_of'), timestamp '{as_of.isoformat(sep=' ')}')"
    return _VARIABLE.sub(lambda _: fallback, model.sql)


def _drop_unless(conn: duckdb.DuckDBPyConnection, relation: str, kind: str) -> None:
    """Drop ``relation`` if it exists as the other kind (``kind``: 'VIEW' or 'BASE TABLE'):
    a model whose materialization changed would otherwise fail its `create or replace`."""
    schema, name = relation.split(".")
    found = conn.execute(
        "select table_type from information_schema.tables where table_catalog = "
        "current_database() and table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    if found is not None and found[0] != kind:
        conn.execute(f"drop {'view' if found[0] == 'VIEW' else 'table'} {relation}")


def _materialise_incremental(
    conn: duckdb.DuckDBPyConnection, model: Model, fingerprint: str, watermark: int, sql: str
) -> None:
    if not table_columns(conn, model.relation):
        raise ValueError(
            f"{model.path}: an incremental model's table must be declared in sql/schema"
        )
    known = conn.execute(
        "select fingerprint, load_watermark from meta.transform_state where model = ?",
        [model.relation],
    ).fetchone()
    since_load = known[1] if known is not None else None
    rebuilt = known is None or known[0] != fingerprint
    if rebuilt:
        log.info("%s: its lineage changed, rebuilding it whole", model.relation)
        since_load = None
        # emptied by re-creation: a delete of every row would hold them all in memory
        conn.execute(
            f"create or replace table {model.relation} as "
            f"select * from {model.relation} where false"
        )
    # the model's SQL reads only core rows loaded after its last run (NULL: every row)
    conn.execute("set variable since_load = ?::bigint", [since_load])
    # and no slice bounds but a sliced rebuild's (reset: a NULL that compares with any type)
    conn.execute("reset variable slice_from")
    conn.execute("reset variable slice_until")
    set_lets(conn, model)
    # unordered, each row group would span all the new rows' history
    order = f" order by {', '.join(model.cluster_by)}" if model.cluster_by else ""
    if rebuilt:
        _rebuild_in_slices(conn, model, sql, order)
    else:
        # a regular table, not a temp one: temp tables cannot spill past the memory limit
        incoming = incoming_relation(model)
        conn.execute(f"create or replace table {incoming} as {sql}")
        # rows of a re-computed input (an edited post) replace all of its earlier rows
        on = " and ".join(f"t.{k} = i.{k}" for k in model.replace_by or model.key)
        conn.execute(f"delete from {model.relation} as t using {incoming} as i where {on}")
        conn.execute(f"insert into {model.relation} by name select * from {incoming}{order}")
    # MERGE rather than ON CONFLICT: DuckLake has no keys to conflict on
    conn.execute(
        """merge into meta.transform_state as t
           using (select ? as model, ? as fingerprint, now()::timestamp as at,
                         ?::bigint as load_watermark) as s
           on t.model = s.model
           when matched then update set
               rebuilt_at = if(t.fingerprint = s.fingerprint, t.rebuilt_at, s.at),
               fingerprint = s.fingerprint,
               updated_at = s.at,
               load_watermark = s.load_watermark
           when not matched then insert (model, fingerprint, rebuilt_at, updated_at,
                                         load_watermark)
               values (s.model, s.fingerprint, s.at, s.at, s.load_watermark)""",
        [model.relation, fingerprint, watermark],
    )


def _rebuild_in_slices(conn: duckdb.DuckDBPyConnection, model: Model, sql: str, order: str) -> None:
    """Write every row of a rebuild once, straight from the model's query into its emptied
    table, in ``cluster_by`` order (no ``__incoming`` copy: the data tests read the table).
    With ``rebuild_slices`` the query runs once per slice of the first ``cluster_by``
    column, ``slice_from`` <= value < ``slice_until`` (NULL: unbounded), so that each
    slice's query and sort fit in memory: the 13 M term hits of 5 M posts, sorted at
    once, ran out of memory under the 2 GB limit."""
    conn.execute(f"drop table if exists {incoming_relation(model)}")
    bounds = 0
    if model.rebuild_slices:
        conn.execute(f"set variable rebuild_bounds = {model.rebuild_slices}")
        bounds = conn.execute("select len(getvariable('rebuild_bounds'))").fetchone()[0] or 0
    for n in range(bounds + 1):
        # the first slice has no lower bound and the last no upper one (reset: NULL)
        for name, index in (("slice_from", n), ("slice_until", n + 1)):
            if 1 <= index <= bounds:
                conn.execute(f"set variable {name} = getvariable('rebuild_bounds')[{index}]")
            else:
                conn.execute(f"reset variable {name}")
        conn.execute(f"insert into {model.relation} by name select * from ({sql}\n){order}")


def set_lets(
    conn: duckdb.DuckDBPyConnection, model: Model, windows: Mapping[str, str] | None = None
) -> None:
    for name, expression in model.lets:
        conn.execute(f"set variable {name} = {reading_windows(expression, windows or {})}")


def materialise(
    conn: duckdb.DuckDBPyConnection,
    model: Model,
    fingerprint: str,
    watermark: int,
    windows: Mapping[str, str] | None = None,
    as_of: datetime | None = None,
) -> None:
    """Build ``model`` (``windows``: the window models built so far, by relation, read from
    their temp tables; ``as_of``: the run's, which a window model's view falls back to)."""
    sql = reading_windows(model.sql, windows or {})
    if model.materialized == "incremental":
        _materialise_incremental(conn, model, fingerprint, watermark, sql)
        return
    set_lets(conn, model, windows)
    if model.layer == "staging":
        conn.execute(f"create or replace view {model.relation} as {sql}")
        return
    if model.materialized == "window":
        if as_of is None:
            raise ValueError(f"{model.path}: a window model's view needs the run's as_of")
        # temp: no WAL, no checkpoint, no compression of rows that only this run reads
        conn.execute(f"create or replace temp table {model.name} as {sql}")
        _drop_unless(conn, model.relation, "VIEW")
        # the view reads the other windows' views: it stands alone after the run
        conn.execute(f"create or replace view {model.relation} as {window_view_sql(model, as_of)}")
        return
    if model.layer == "intermediate":
        _drop_unless(conn, model.relation, "BASE TABLE")
        conn.execute(f"create or replace table {model.relation} as {sql}")
        return
    existing = table_columns(conn, model.relation) or None
    new = [r[0] for r in conn.execute(f"describe {sql}").fetchall()]
    if existing is not None and existing != new:
        # the model changed shape; marts are derived, so rebuild rather than fail
        log.warning("%s changed columns; dropping its old partitions", model.relation)
        conn.execute(f"drop table {model.relation}")
        existing = None
    if existing is None:
        conn.execute(f"create table {model.relation} as {sql}")
    else:
        conn.execute(f"delete from {model.relation} where as_of = getvariable('as_of')")
        conn.execute(f"insert into {model.relation} by name {sql}")


def incoming_relation(model: Model) -> str:
    return f"{model.layer}.{model.name}__incoming"


def _tested_rows(conn: duckdb.DuckDBPyConnection, model: Model) -> str:
    """The rows a model's data tests look at: this run's rows, not the whole history."""
    if model.materialized == "incremental":
        # a day's new rows are in their copy; a rebuild, which has none, wrote the table
        incoming = incoming_relation(model)
        return f"(select * from {incoming if table_columns(conn, incoming) else model.relation})"
    conditions = []
    if model.layer == "marts":
        conditions.append("as_of = getvariable('as_of')")
    if model.test_where:
        conditions.append(f"({model.test_where})")
    where = f"where {' and '.join(conditions)}" if conditions else ""
    return f"(select * from {model.run_relation} {where})"


def data_test_failures(conn: duckdb.DuckDBPyConnection, model: Model) -> tuple[list[str], int]:
    """What the model's data tests find wrong in its tested rows, and how many rows that is."""
    rel = _tested_rows(conn, model)
    failures = []
    keys = ", ".join(model.key)
    tests = [(f"{column} is null", f"rows with NULL {column}") for column in model.not_null]
    tests += [(f"not coalesce(({c}), false)", f"rows break `{c}`") for c in model.checks]
    # every test in one scan (a scan per test cost seconds on large tables). Equal keys hash
    # equal, so as many distinct key hashes as rows proves the key unique, and counting one
    # integer is cheaper than grouping the key's strings; only when the counts differ (a
    # duplicate, or two keys of one hash) does the exact grouping run
    rows, hashes, *counts = conn.execute(
        f"select count(*), count(distinct hash({keys}))"
        f"{''.join(f', count_if({condition})' for condition, _ in tests)} from {rel}"
    ).fetchone()
    if rows != hashes:
        dupes = conn.execute(
            f"select count(*) from (select {keys} from {rel} group by all having count(*) > 1)"
        ).fetchone()[0]
        if dupes:
            failures.append(f"{model.relation}: {dupes} duplicated keys ({keys})")
    failures.extend(
        f"{model.relation}: {count} {what}"
        for count, (_, what) in zip(counts, tests, strict=True)
        if count
    )
    return failures, rows


@dataclass
class TransformSummary:
    as_of: datetime
    models: list[str]
    rows: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)
    # the part of ``seconds`` spent in the model's data tests
    test_seconds: dict[str, float] = field(default_factory=dict)


def run_transforms(
    conn: duckdb.DuckDBPyConnection,
    sql_dir: Path,
    config_dir: Path,
    as_of: datetime,
    locks: LakeLocks | None = None,
) -> TransformSummary:
    """Rebuild every model as of ``as_of`` (naive UTC) and run its data tests.

    On a DuckLake (``locks``: the lake's, by default those of the lake ``conn`` was opened
    on) the watermark is taken while no load is between its ``load_id`` and its commit, and
    a commit that conflicts with another writer's is redone from the newest snapshot."""
    lake = is_lake_connection(conn)
    if lake and locks is None:
        with LakeLocks(lake_of(conn)) as own:
            return run_transforms(conn, sql_dir, config_dir, as_of, own)
    models = discover_models(sql_dir)
    macros = [f.read_text(encoding="utf-8") for f in sorted((sql_dir / "macros").glob("*.sql"))]
    # read once: the tables written are the ones fingerprinted
    tables = config_tables(config_dir)
    fingerprints = lineage_fingerprints(
        models, {name: table.digest for name, table in tables.items()}, "\n;\n".join(macros)
    )
    grains = {m.relation: f"Grain: {m.grain}. Key: {', '.join(m.key)}." for m in models}
    descriptions = load_descriptions(sql_dir, grains)

    def attempt() -> TransformSummary:
        watermark = None
        if lake:
            with locks.watermark():
                watermark = next_load_id(conn)
                conn.execute("begin transaction")
                # the first read fixes the snapshot: every load with a smaller id is in it
                conn.execute("select count(*) from meta.loaded_files").fetchone()
        else:
            conn.execute("begin transaction")
        try:
            summary = _run_models(
                conn, models, fingerprints, macros, tables, as_of, watermark, descriptions
            )
            conn.execute("commit")
        except BaseException as exc:
            rollback_quietly(conn, exc)  # after a failed COMMIT none is open: keep its error
            raise
        return summary

    summary = retry_conflicts(attempt, "transforms")
    log.info("transforms as of %s: rows %s; seconds %s", as_of, summary.rows, summary.seconds)
    return summary


def _run_models(
    conn: duckdb.DuckDBPyConnection,
    models: list[Model],
    fingerprints: dict[str, str],
    macros: list[str],
    tables: dict[str, ConfigTable],
    as_of: datetime,
    watermark: int | None,
    descriptions: Mapping[str, Relation],
) -> TransformSummary:
    """Every model and its data tests, inside the caller's transaction."""
    write_config_tables(conn, tables)
    for macro in macros:
        conn.execute(macro)
    conn.execute("set variable as_of = ?::timestamp", [as_of])
    if watermark is None:
        # every row loaded before this point has a smaller load_id (see 0005_load_ids.sql)
        watermark = next_load_id(conn)
    for layer in LAYERS:
        conn.execute(f"create schema if not exists {layer}")
    drop_orphans(conn, models)
    failures, rows, seconds, test_seconds = [], {}, {}, {}
    windows: dict[str, str] = {}
    for model in models:
        started = time.perf_counter()
        materialise(conn, model, fingerprints[model.relation], watermark, windows, as_of)
        if model.materialized == "window":
            windows[model.relation] = model.run_relation
        tested = time.perf_counter()
        found, tested_rows = data_test_failures(conn, model)
        failures.extend(found)
        done = time.perf_counter()
        seconds[model.relation] = round(done - started, 3)
        test_seconds[model.relation] = round(done - tested, 3)
        if model.layer != "staging":  # the summary leaves out views over all history
            rows[model.relation] = tested_rows
    for model in models:
        if model.materialized == "incremental":
            conn.execute(f"drop table if exists {incoming_relation(model)}")
        elif model.materialized == "window":  # the view stays; the run's copy goes
            conn.execute(f"drop table if exists {model.run_relation}")
    if failures:
        raise DataTestError("data tests failed:\n  " + "\n  ".join(failures))
    # `create or replace` (views, rebuilt tables, config tables) drops their comments
    apply_comments(conn, descriptions, ("config", *LAYERS))
    return TransformSummary(
        as_of=as_of,
        models=[m.relation for m in models],
        rows=rows,
        seconds=seconds,
        test_seconds=test_seconds,
    )
