"""The loader: the only process that writes canonical rows into the warehouse.

Each landing file is loaded once, in one transaction that also records it in
``meta.loaded_files``; a crash before the commit leaves nothing behind, and the next run
loads the file again. Entities merge on their natural keys, the newest observation winning,
so loading the same rows twice, or out of order, gives the same tables.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from radar.lake_locks import LakeLocks
from radar.warehouse import (
    is_lake_connection,
    lake_of,
    literal_file,
    next_load_id,
    retry_conflicts,
    rollback_quietly,
    table_columns,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MergeSpec:
    table: str
    key: tuple[str, ...]
    # columns that keep the value of the oldest observation (the rest take the newest)
    keep_first: tuple[str, ...] = ()


MERGE_SPECS: dict[str, MergeSpec] = {
    "accounts": MergeSpec("core.accounts", ("platform", "account_id"), ("discovered_via",)),
    "account_snapshots": MergeSpec(
        "core.account_snapshots", ("platform", "account_id", "observed_at")
    ),
    "posts": MergeSpec("core.posts", ("platform", "post_id")),
    "post_metric_snapshots": MergeSpec(
        "core.post_metric_snapshots", ("platform", "post_id", "observed_at")
    ),
    "post_deletions": MergeSpec("core.post_deletions", ("platform", "post_id")),
    "post_disclosures": MergeSpec("core.post_disclosures", ("platform", "post_id", "kind")),
    "account_discoveries": MergeSpec(
        "core.account_discoveries", ("platform", "account_id", "term")
    ),
    # campaign results (ingest/campaigns): the first key is the export's source, which
    # stands where the platform does in the landing path
    "orders": MergeSpec("core.orders", ("source", "order_id")),
    "link_clicks": MergeSpec("core.link_clicks", ("source", "click_key")),
    "rejects": MergeSpec(
        "meta.rejects", ("platform", "entity", "source_path", "source_line", "record_index")
    ),
}
LOAD_ORDER = list(MERGE_SPECS)
# Parquet merged per transaction: large enough that a backfill is a few merges, small
# enough that the staged rows fit the memory limit
LOAD_GROUP_BYTES = 256 * 1024 * 1024


# errors that a landing file's content causes; anything else (I/O, a lock, memory) stops
# the whole load, since every platform's next group would meet it too
_DATA_ERRORS = (
    duckdb.ConstraintException,
    duckdb.ConversionException,
    duckdb.InvalidInputException,
    duckdb.BinderException,
    duckdb.OutOfRangeException,
)


class LandingFileChangedError(RuntimeError):
    """A landing file was loaded before with other content; landing files are immutable."""


@dataclass
class LoadSummary:
    files_loaded: int = 0
    files_skipped: int = 0
    # on the lake: files another loader committed while this one waited for them
    files_left_to_others: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    # groups that could not load, one line each: platform, entity, files and the error
    failed: list[str] = field(default_factory=list)

    @property
    def rows_loaded(self) -> int:
        return sum(n for entity, n in self.rows.items() if entity != "rejects")


def checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pending_files(landing_dir: Path) -> list[tuple[str, str, Path]]:
    """(platform, entity, path) of every landing file, entities in load order."""
    found = []
    for path in landing_dir.glob("*/*/dt=*/*.parquet"):
        entity, platform = path.parent.parent.name, path.parent.parent.parent.name
        if entity in MERGE_SPECS:
            found.append((platform, entity, path))
    return sorted(found, key=lambda f: (LOAD_ORDER.index(f[1]), str(f[2])))


# A key's hash, which picks the keys that need merging: a 64-bit hash groups and joins
# several times faster than the key's strings. Two keys that share a hash are merged like
# repeated keys, which gives the same rows, so a collision costs time, never a wrong row.
KEY_HASH = "hash({keys})"


def _merge_sql(spec: MergeSpec, columns: list[str], load_id: int) -> list[str]:
    """Statements that merge the view ``staged`` into ``spec.table``.

    Per key, the newest observation supplies the values; ``first_seen_at`` and the
    ``keep_first`` columns come from the oldest one, whichever side it is on. Ties on
    ``observed_at`` go to the later file, and within a file to the later row, so loading
    files together gives what loading them one by one in path order gives.

    Most keys of a group are new and seen once (a backfill is nearly all such rows): they
    stream from the landing files straight into the table. Only the ``touched`` keys (by
    their hash: seen twice in the group, or already in the table) are ranked and merged
    with their old row (deleted and re-inserted). Tables with a
    ``load_id`` column get ``load_id`` on every row inserted or merged.
    """
    keys = ", ".join(spec.key)
    key_hash = KEY_HASH.format(keys=keys)
    on = " and ".join(f"t.{k} = i.{k}" for k in spec.key)
    newer = "(t.observed_at is null or i.observed_at >= t.observed_at)"
    older = "(t.first_seen_at is not null and t.first_seen_at <= i.first_in_file)"
    # a row's place in time: observed_at (never NULL: every model and table requires it),
    # then file, then row (unique, so never a tie)
    when = "(observed_at, _file, _row)"
    # arg_min_null: the oldest row's value even when it is NULL, as first_value gave
    firsts = "".join(f", arg_min_null({c}, {when}) as {c}__first" for c in spec.keep_first)
    newest = " and ".join(
        [f"r.{k} = i.{k}" for k in spec.key] + ["i._file = r.newest.file", "i._row = r.newest.row"]
    )
    direct, merged, fresh = [], [], []
    for column in columns:
        if column == "load_id":
            direct.append(str(load_id))
            merged.append(str(load_id))
            fresh.append(str(load_id))
        elif column in spec.key:
            direct.append(column)
            merged.append(f"i.{column}")
            fresh.append(f"i.{column}")
        elif column == "first_seen_at":
            direct.append("observed_at")
            merged.append("least(i.first_in_file, coalesce(t.first_seen_at, i.first_in_file))")
            fresh.append("i.first_in_file")
        elif column in spec.keep_first:
            direct.append(column)
            merged.append(f"case when {older} then t.{column} else i.{column}__first end")
            fresh.append(f"i.{column}__first")
        else:
            direct.append(column)
            merged.append(f"case when {newer} then i.{column} else t.{column} end")
            fresh.append(f"i.{column}")
    names = ", ".join(columns)
    return [
        f"""create or replace temp table touched as
            select {key_hash} as key_hash from staged group by key_hash having count(*) > 1
            union
            select {key_hash} from staged semi join {spec.table} using ({keys})""",
        # per touched key, where its newest row is and what its oldest one holds: a hash
        # aggregate of narrow rows (a window sorted the wide rows, 10x slower for accounts
        # looked up every day), then the newest rows themselves
        f"""create or replace temp table ranked as
            select {keys}, min(observed_at) as first_in_file {firsts},
                   arg_max({{'file': _file, 'row': _row}}, {when}) as newest
            from staged semi join touched on {key_hash} = touched.key_hash
            group by {keys}""",
        f"""create or replace temp table incoming as
            select i.*, r.* exclude ({keys}, newest)
            from staged as i join ranked as r
                 on {newest}""",
        f"""create or replace temp table merged as
            select {", ".join(f"{e} as {c}" for e, c in zip(merged, columns, strict=True))}
            from incoming as i join {spec.table} as t on {on}""",
        f"""insert into {spec.table} ({names})
            select {", ".join(fresh)} from incoming as i anti join merged as t on {on}""",
        f"delete from {spec.table} as t using merged as i where {on}",
        f"insert into {spec.table} by name select * from merged",
        # last, so the merge above never scans the rows inserted here
        f"""insert into {spec.table} ({names})
            select {", ".join(direct)} from staged
            anti join touched on {key_hash} = touched.key_hash""",
        "drop table touched",
        "drop table ranked",
        "drop table incoming",
        "drop table merged",
    ]


@dataclass(frozen=True)
class PendingFile:
    platform: str
    entity: str
    path: Path
    rel_path: str
    digest: str


def load_files(
    conn: duckdb.DuckDBPyConnection,
    entity: str,
    files: list[PendingFile],
    run_id: str,
    before_commit: Callable[[], None] | None = None,
    load_id: int | None = None,
) -> tuple[int, int]:
    """Merge landing files of one entity in one transaction that also records them;
    returns the files and rows it loaded.

    ``load_id`` is taken from ``meta.load_seq`` inside the transaction unless given (the
    lake takes it before, under the writers' lock). Files ``meta.loaded_files`` already
    holds are left out: on the lake another loader may have committed them meanwhile."""
    spec = MERGE_SPECS[entity]
    conn.execute("begin transaction")
    try:
        done = {
            row[0]
            for row in conn.execute(
                "select path from meta.loaded_files where path in (select unnest(?))",
                [[f.rel_path for f in files]],
            ).fetchall()
        }
        files = [f for f in files if f.rel_path not in done]
        if not files:
            conn.execute("commit")
            return 0, 0
        paths = [str(f.path) for f in files]
        readable = [literal_file(p) for p in paths]
        listed = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in readable) + "]"
        extra = ""
        if entity == "rejects":
            extra = ", '" + run_id.replace("'", "''") + "' as run_id"
        # _file and _row, the merge's tie-breaks: the file's path (the files come in path
        # order, and paths compare as strings in DuckDB as in Python) and the row number
        conn.execute(
            f"""create or replace temp view staged as
                select * exclude (filename, file_row_number),
                       filename as _file, file_row_number as _row
                       {extra}
                from read_parquet({listed}, hive_partitioning = false, filename = true,
                                  file_row_number = true)"""
        )
        counts = dict(
            conn.execute(
                "select file_name, sum(row_group_num_rows) from parquet_metadata(?) "
                "where column_id = 0 group by 1",
                [readable],
            ).fetchall()
        )
        diverted = _divert_rows_missing_required_values(conn, spec, entity, files, run_id)
        # one value per load transaction: rows merged here are newer than every transform
        # run so far (see sql/schema/0005_load_ids.sql)
        if load_id is None:
            load_id = next_load_id(conn)
        for statement in _merge_sql(spec, table_columns(conn, spec.table), load_id):
            conn.execute(statement)
        conn.executemany(
            "insert into meta.loaded_files values (?, ?, ?, ?, ?, ?, now()::timestamp)",
            [
                [f.rel_path, f.digest, f.platform, entity, counts.get(str(f.path), 0), run_id]
                for f in files
            ],
        )
        if before_commit is not None:
            before_commit()
        conn.execute("commit")
    except BaseException as exc:
        # never conn.execute("rollback") bare: after a COMMIT that failed (a full disk) no
        # transaction is active, and its error would replace the one that says why
        rollback_quietly(conn, exc)
        raise
    if diverted:
        log.warning("%s: %s row(s) without a required value went to meta.rejects", entity, diverted)
    return len(files), int(sum(counts.values()))


def _divert_rows_missing_required_values(
    conn: duckdb.DuckDBPyConnection,
    spec: MergeSpec,
    entity: str,
    files: list[PendingFile],
    run_id: str,
) -> int:
    """Rows of ``staged`` that lack a value the table requires go to ``meta.rejects``
    (pointing at their landing file and row) and out of ``staged``, so that one bad record
    cannot fail the transaction that loads every other row of the group. Mappings reject
    such records first; this is the loader's own guard. Returns the rows diverted."""
    if entity == "rejects":
        return 0
    staged = {column[0] for column in conn.execute("from staged limit 0").description}
    required = [c for c in table_columns(conn, spec.table, required_only=True) if c in staged]
    if not required:
        return 0
    if _statistics_say_no_nulls(conn, [literal_file(str(f.path)) for f in files], required):
        return 0
    missing = " or ".join(f"{c} is null" for c in required)
    named = ", ".join(f"case when {c} is null then '{c}' end" for c in required)
    bad = conn.execute(f"select count(*) from staged where {missing}").fetchone()[0]
    if not bad:
        return 0
    # the landing file's path relative to the data dir, as meta.loaded_files has it
    data_root = len(str(files[0].path)) - len(files[0].rel_path)
    conn.execute(
        f"""insert into meta.rejects
            select {spec.key[0]}, ?, substr(_file, ?), _row::integer, 0,
                   'loader: no value for ' || concat_ws(', ', {named}),
                   to_json(s)::varchar,
                   coalesce(try_cast(regexp_extract(_file, 'dt=([0-9-]{{10}})', 1) as timestamp),
                            timestamp '1970-01-01'),
                   ?
            from staged as s where {missing}""",
        [entity, data_root + 1, run_id],
    )
    # the group's other rows go on; materialised once, only when a group has bad rows
    conn.execute(f"create or replace temp table staged_kept as from staged where not ({missing})")
    conn.execute("create or replace temp view staged as from staged_kept")
    return bad


def _statistics_say_no_nulls(
    conn: duckdb.DuckDBPyConnection, paths: list[str], required: list[str]
) -> bool:
    """Whether every row group of every file states a null count of 0 for every required
    column: then no row needs diverting, without reading the rows (a scan of every landing
    row was ~8 % of a load). A row group without statistics, or a column missing from
    them, means reading the rows after all."""
    groups, clean = conn.execute(
        """select count(distinct (file_name, row_group_id)),
                  count(*) filter (where path_in_schema in (select unnest(?))
                                   and stats_null_count = 0)
           from parquet_metadata(?)""",
        [required, paths],
    ).fetchone()
    return groups > 0 and clean == groups * len(required)


def _groups(files: list[PendingFile]) -> list[list[PendingFile]]:
    """Consecutive files of one platform and entity, up to LOAD_GROUP_BYTES of Parquet per
    group: a group is one transaction, so one platform's bad file never holds back another
    platform's rows."""
    groups: list[list[PendingFile]] = []
    size = 0
    for f in files:
        length = f.path.stat().st_size
        first = groups[-1][0] if groups else None
        if (
            first is None
            or (first.platform, first.entity) != (f.platform, f.entity)
            or size + length > LOAD_GROUP_BYTES
        ):
            groups.append([])
            size = 0
        groups[-1].append(f)
        size += length
    return groups


def load_pending(
    conn: duckdb.DuckDBPyConnection,
    data_dir: Path,
    run_id: str,
    before_commit: Callable[[], None] | None = None,
    locks: LakeLocks | None = None,
    platforms: list[str] | None = None,
    only: Collection[str] | None = None,
) -> LoadSummary:
    """Load every landing file not loaded yet, a group of one entity per transaction.

    On a DuckLake several loaders may run at once (``locks``: the lake's, by default those
    of the lake ``conn`` was opened on): loaders of different platforms side by side,
    those of one platform's entity in turn; a commit that conflicts with another
    writer's is redone. ``platforms``: only their files; ``only``: only these landing files
    (paths relative to ``data_dir``); all: None."""
    if locks is None and is_lake_connection(conn):
        with LakeLocks(lake_of(conn)) as own:
            return load_pending(conn, data_dir, run_id, before_commit, own, platforms, only)
    landing_dir = data_dir / "landing"
    loaded = dict(conn.execute("select path, checksum from meta.loaded_files").fetchall())
    summary = LoadSummary()
    pending = []
    for platform, entity, path in pending_files(landing_dir):
        if platforms is not None and platform not in platforms:
            continue
        rel_path = path.relative_to(data_dir).as_posix()
        if only is not None and rel_path not in only:
            continue
        digest = checksum(path)
        if rel_path in loaded:
            if loaded[rel_path] != digest:
                raise LandingFileChangedError(
                    f"{rel_path} was loaded with checksum {loaded[rel_path][:12]}… and now "
                    f"has {digest[:12]}…; landing files must never be rewritten"
                )
            summary.files_skipped += 1
            continue
        pending.append(PendingFile(platform, entity, path, rel_path, digest))
    failed_platforms: set[str] = set()
    for group in _groups(pending):
        platform, entity = group[0].platform, group[0].entity
        if platform in failed_platforms:
            continue  # its files wait, whole, for the run that can load them
        try:
            if locks is None:
                files, rows = load_files(conn, entity, group, run_id, before_commit)
            else:
                files, rows = _load_on_lake(conn, locks, entity, group, run_id, before_commit)
                summary.files_left_to_others += len(group) - files
        except _DATA_ERRORS as exc:
            # a platform's bad landing data: the rest of the warehouse still loads
            failed_platforms.add(platform)
            names = ", ".join(f.rel_path for f in group[:3]) + (" …" if len(group) > 3 else "")
            summary.failed.append(f"{platform} {entity} ({names}): {type(exc).__name__}: {exc}")
            log.error("could not load %s %s: %s", platform, entity, summary.failed[-1])
            continue
        summary.files_loaded += files
        summary.rows[entity] = summary.rows.get(entity, 0) + rows
    log.info(
        "loaded %s files (%s skipped as already loaded, %s left to other loaders): %s",
        summary.files_loaded,
        summary.files_skipped,
        summary.files_left_to_others,
        summary.rows,
    )
    return summary


def _load_on_lake(
    conn: duckdb.DuckDBPyConnection,
    locks: LakeLocks,
    entity: str,
    group: list[PendingFile],
    run_id: str,
    before_commit: Callable[[], None] | None,
) -> tuple[int, int]:
    """``load_files`` on a DuckLake. Every key of a table starts with the platform, so one
    platform's rows of one entity are a key space of their own: loaders of the same
    platform and entity take turns (a lock held to the commit), or a key new to both
    would be inserted twice, since inserts never conflict in DuckLake and it has no keys
    to refuse the second. Loaders of other platforms go on at the same time. A file that
    another loader committed meanwhile is found in ``meta.loaded_files`` inside the
    transaction and left out. The ``load_id`` is taken under the writers' lock, and a
    commit that conflicts with another writer's is redone. Returns the files and rows
    it loaded."""
    with locks.key_space(f"{group[0].platform}/{entity}"), locks.writing():
        load_id = next_load_id(conn)
        return retry_conflicts(
            lambda: load_files(conn, entity, group, run_id, before_commit, load_id),
            f"load {entity}",
        )


def record_run_load(
    conn: duckdb.DuckDBPyConnection,
    run_id: str,
    dag_id: str,
    interval_start: datetime,
    interval_end: datetime,
    summary: LoadSummary,
) -> None:
    """The run's row in ``meta.runs``, its counts those of every file ``meta.loaded_files``
    says the run loaded: over all its attempts, including one killed after some groups
    committed (``summary`` holds this attempt's files only, so it is not used for them)."""
    statement = """
        merge into meta.runs as t
        using (
            select ? as run_id, ? as dag_id, ?::timestamp as data_interval_start,
                   ?::timestamp as data_interval_end, now()::timestamp as loaded_at,
                   count(*) as files_loaded,
                   coalesce(sum(row_count) filter (where entity <> 'rejects'), 0) as rows_loaded,
                   coalesce(sum(row_count) filter (where entity = 'rejects'), 0)
                       as rejects_loaded
            from meta.loaded_files where run_id = ?
        ) as s
        on t.run_id = s.run_id
        when matched then update set
            loaded_at = s.loaded_at, files_loaded = s.files_loaded,
            rows_loaded = s.rows_loaded, rejects_loaded = s.rejects_loaded
        when not matched then insert (run_id, dag_id, data_interval_start, data_interval_end,
                                      loaded_at, files_loaded, rows_loaded, rejects_loaded)
            values (s.run_id, s.dag_id, s.data_interval_start, s.data_interval_end,
                    s.loaded_at, s.files_loaded, s.rows_loaded, s.rejects_loaded)"""
    params = [run_id, dag_id, interval_start, interval_end, run_id]
    # MERGE rather than ON CONFLICT: DuckLake has no keys to conflict on
    retry_conflicts(lambda: conn.execute(statement, params), "meta.runs")


def advance_cursors(conn: duckdb.DuckDBPyConnection) -> int:
    """Move each tracked account's cursor to the newest post its own walk landed; never
    backwards. Returns how many cursors there are.

    Derived from ``core.posts`` after the load committed, so a cursor never runs ahead of
    the rows behind it, and recomputing it is harmless. Two rules keep a cursor from
    cutting an account's next walk short (``plan_live_batches`` starts a walk at the
    cursor minus ``lookback_days``, and at ``initial_days`` without one):

    - Only tracked accounts get one: those with a row in ``core.accounts``, which only a
      read of the account's own profile writes (the live planner reads the profiles of
      the accounts it walks: ``config/sources.yaml``'s and ``meta.tracking_queue``'s).
      Authors whose posts a tracked account boosted or reposted, and accounts discovery
      only sighted, have none: their first walk, once tracked, reaches ``initial_days``.
    - Only posts the account's own walk must have landed count: its own posts (not its
      reposts), leaving out those another account reposted. Such a row may have come
      from the reposter's walk alone: before the author was tracked, or while the
      author's own walk was cut by a spent quota (which lands its profile, so it is
      tracked, and drops its posts). Leaving them out can only make a walk reach further
      back.
    """
    retry_conflicts(
        lambda: conn.execute(
            """merge into meta.cursors as t
               using (select p.platform, 'account_posts' as scope, p.account_id as key,
                             max(p.created_at) as newest_seen_at
                      from core.posts as p
                      semi join core.accounts as a
                          on p.platform = a.platform and p.account_id = a.account_id
                      where p.kind <> 'repost'
                          and not exists (
                              select 1 from core.posts as r
                              where r.platform = p.platform
                                  and r.original_post_id = p.post_id
                                  and r.kind = 'repost'
                                  and r.account_id <> p.account_id
                          )
                      group by p.platform, p.account_id) as s
               on t.platform = s.platform and t.scope = s.scope and t.key = s.key
               when matched then update set
                   newest_seen_at = greatest(t.newest_seen_at, s.newest_seen_at),
                   updated_at = now()::timestamp
               when not matched then insert values
                   (s.platform, s.scope, s.key, null, s.newest_seen_at, now()::timestamp)"""
        ),
        "meta.cursors",
    )
    return conn.execute("select count(*) from meta.cursors").fetchone()[0]
