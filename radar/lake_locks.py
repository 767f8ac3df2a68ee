"""Locks that let several processes write one DuckLake without losing or doubling a row.

DuckLake itself detects conflicting commits (two transactions that delete from, or insert
into and delete from, one table: the later commit fails and is redone). Two things it
cannot see need a lock:

- **a key inserted twice.** Two loaders that both find a key new (the same landing file,
  or two files of one platform holding the same account) would both insert it: inserts
  never conflict, and DuckLake has no keys to refuse the second. Every key starts with the
  platform, so a lock per platform and entity, held from before the transaction to its
  commit, makes the loaders of one key space take turns; the next one's snapshot holds
  the last one's rows (merged, not doubled) and its ``meta.loaded_files`` rows (so a file
  committed meanwhile is skipped). Loaders of other platforms go on at the same time.
- **the transforms' watermark.** An incremental model reads the rows whose ``load_id`` is
  above its last watermark. A loader takes its ``load_id`` before it commits, so the
  transforms must not take a watermark while a load holding a smaller id is still open:
  loaders hold the writers' lock shared from taking their id to their commit, and the
  transforms take it exclusively while they take the watermark and their snapshot.

On a Postgres catalog these are session advisory locks on the catalog database, so they
hold across machines and vanish with a process that dies. A local catalog (a DuckDB or
SQLite file) takes one writer at a time anyway: there writers take one ``flock`` beside the
data exclusively, which also vanishes with its process, and the key-space locks are implied.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from radar.warehouse import Lake

_WRITERS = "radar:writers"


def _key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name``."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class LakeLocks:
    """The lake's locks, held by this process until released or the process ends."""

    def __init__(self, lake: Lake | None):
        if lake is None:
            raise ValueError("a lake's locks need the lake: open it with warehouse.connect")
        self.lake = lake
        self._pg = None
        self._fd: int | None = None

    # the writers' lock -------------------------------------------------------------------

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Held by a load from taking its ``load_id`` until its commit (shared)."""
        with self._held(_WRITERS, shared=True):
            yield

    @contextlib.contextmanager
    def watermark(self) -> Iterator[None]:
        """Held by the transforms while they take their watermark and snapshot (exclusive):
        no load is then between its ``load_id`` and its commit."""
        with self._held(_WRITERS, shared=False):
            yield

    # one lock per key space: a platform's rows of one entity -------------------------------

    @contextlib.contextmanager
    def key_space(self, name: str) -> Iterator[None]:
        """Held by a load of ``name`` (``<platform>/<entity>``) until its commit (exclusive;
        on a local catalog implied by the writers' lock)."""
        if self.lake.kind != "postgres":
            yield
            return
        with self._held(f"radar:keys:{name}", shared=False):
            yield

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()  # ends the session: Postgres drops every lock it held
            self._pg = None
        if self._fd is not None:
            os.close(self._fd)  # and so does closing the lock file
            self._fd = None

    def __enter__(self) -> LakeLocks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # backends ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _held(self, name: str, shared: bool) -> Iterator[None]:
        self._lock(name, shared)
        try:
            yield
        finally:
            self._unlock(name, shared)

    def _postgres(self):
        if self._pg is None:
            import psycopg2

            self._pg = psycopg2.connect(self.lake.postgres_dsn, application_name="radar-locks")
            self._pg.autocommit = True
        return self._pg

    def _lock(self, name: str, shared: bool) -> None:
        if self.lake.kind == "postgres":
            suffix = "_shared" if shared else ""
            with self._postgres().cursor() as cur:
                cur.execute(f"select pg_advisory_lock{suffix}(%s)", [_key(name)])
            return
        fcntl.flock(self._local(), fcntl.LOCK_EX)

    def _unlock(self, name: str, shared: bool) -> None:
        if self.lake.kind == "postgres":
            suffix = "_shared" if shared else ""
            with self._postgres().cursor() as cur:
                cur.execute(f"select pg_advisory_unlock{suffix}(%s)", [_key(name)])
            return
        fcntl.flock(self._local(), fcntl.LOCK_UN)

    def _local(self) -> int:
        if self._fd is None:
            folder = Path(self.lake.data_path)
            folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(folder / ".radar-writers.lock", os.O_RDWR | os.O_CREAT, 0o644)
        return self._fd
