"""Landing zone: immutable Parquet files, one per platform, entity, day, run and task.

``data/landing/<platform>/<entity>/dt=<day>/<run>-<task>-<n>.parquet``. Each file is
written under a temporary name and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import os
import re
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from ingest.batch import MappedBatch
from radar.canonical import ENTITIES

_SCALARS: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    bool: pa.bool_(),
    datetime: pa.timestamp("us"),
    date: pa.date32(),
    # money, as the warehouse keeps it (DECIMAL(18, 2))
    Decimal: pa.decimal128(18, 2),
}


def _arrow_type(annotation: object) -> pa.DataType:
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _arrow_type(inner)
    if origin is list:
        return pa.list_(_arrow_type(typing.get_args(annotation)[0]))
    if origin is typing.Literal or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return pa.string()
    return _SCALARS[annotation]  # type: ignore[index]


@cache
def arrow_schema(model: type[BaseModel]) -> pa.Schema:
    return pa.schema(
        [pa.field(name, _arrow_type(f.annotation)) for name, f in model.model_fields.items()]
    )


def safe_name(value: str) -> str:
    """Run ids hold ``:`` and ``+``; keep file names portable."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value).strip("_")


def write_parquet_atomic(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def land_batch(
    batch: MappedBatch, landing_dir: Path, day: date, run_id: str, task: str, part: int = 0
) -> list[Path]:
    """Write every non-empty entity of ``batch``; returns the files written."""
    written = []
    for entity, rows in batch.rows().items():
        if not rows:
            continue
        schema = arrow_schema(ENTITIES[entity])
        table = pa.Table.from_pylist([row.model_dump() for row in rows], schema=schema)
        name = f"{safe_name(run_id)}-{safe_name(task)}-{part:04d}.parquet"
        path = landing_dir / batch.platform / entity / f"dt={day.isoformat()}" / name
        write_parquet_atomic(table, path)
        written.append(path)
    return written


def attempt_name(task: str, attempt: int) -> str:
    """``task`` for the first try, ``task-tryN`` after: a retried or cleared task lands
    new files instead of rewriting ones the loader may already have taken."""
    return task if attempt <= 1 else f"{task}-try{attempt}"
