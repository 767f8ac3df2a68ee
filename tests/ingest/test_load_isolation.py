"""One bad record, or one platform's bad landing file, never stops the rest of the load.

The landing files come from the real extract of the bundled demo feed; one of them is then
rewritten as a faulty mapping would have written it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ingest import runs
from ingest.connector import TaskContext
from ingest.loader import load_pending
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from tests.helpers.warehouse_helpers import query

DAY, END = datetime(2026, 11, 20), datetime(2026, 11, 21)


@pytest.fixture
def landed(radar_env: Path) -> RadarSettings:
    for i, batch in enumerate(runs.plan_extract(DAY, END)):
        runs.extract(batch, TaskContext(DAY, END, "run-a", f"extract-{i}"))
    return RadarSettings()


def _rewrite(path: Path, select: str) -> None:
    with duckdb.connect() as conn:
        conn.execute(f"copy ({select.format(path=path)}) to '{path}.new' (format parquet)")
    Path(f"{path}.new").replace(path)


def _load(settings: RadarSettings):
    with connect(settings.warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        return load_pending(conn, settings.data_dir, "run-a")


def _posts_file(settings: RadarSettings, platform: str) -> Path:
    (path,) = sorted((settings.landing_dir / platform / "posts").rglob("*.parquet"))[:1]
    return path


def test_a_post_without_observed_at_becomes_a_reject_and_its_file_loads(landed: RadarSettings):
    path = _posts_file(landed, "mastodon")
    # the first row lost its observation time, as a page without fetched_at gave it
    _rewrite(
        path,
        "select * exclude (file_row_number) replace "
        "(case when file_row_number = 0 then null else observed_at end as observed_at) "
        "from read_parquet('{path}', file_row_number = true, hive_partitioning = false)",
    )

    summary = _load(landed)

    assert summary.failed == []
    rel = path.relative_to(landed.data_dir).as_posix()
    rejects = query(
        landed.warehouse,
        "select platform, entity, source_line, reason from meta.rejects where source_path = ?",
        [rel],
    )
    assert rejects == [("mastodon", "posts", 0, "loader: no value for observed_at")]
    # every post with an observation time loaded, from this file and the others
    with duckdb.connect() as conn:
        expected = conn.execute(
            "select count(distinct post_id) from read_parquet(?, hive_partitioning = false) "
            "where observed_at is not null",
            [str(path.parent / "*.parquet")],
        ).fetchone()[0]
    loaded = query(landed.warehouse, "select count(*) from core.posts where platform = 'mastodon'")
    assert loaded == [(expected,)]
    assert query(landed.warehouse, "select count(*) from meta.loaded_files where path = ?", [rel])
    # every other platform loaded too
    platforms = query(landed.warehouse, "select distinct platform from core.posts order by 1")
    assert len(platforms) == 5


def test_one_platforms_bad_file_fails_that_platform_alone_and_names_the_file(
    landed: RadarSettings,
):
    path = _posts_file(landed, "bluesky")
    # a value no mapping writes: the table's check constraint refuses the whole file
    _rewrite(
        path,
        "select * replace ('bogus' as kind) from read_parquet('{path}', hive_partitioning = false)",
    )

    summary = _load(landed)

    rel = path.relative_to(landed.data_dir).as_posix()
    (failure,) = summary.failed
    assert failure.startswith(f"bluesky posts ({rel}")
    assert "ConstraintException" in failure
    platforms = query(landed.warehouse, "select distinct platform from core.posts order by 1")
    assert [p for (p,) in platforms] == ["instagram", "mastodon", "tiktok", "youtube"]
    # bluesky's files wait, whole, for a load that can take them; the others are recorded
    unloaded = query(
        landed.warehouse,
        "select count(*) from meta.loaded_files where platform = 'bluesky' and entity = 'posts'",
    )
    assert unloaded == [(0,)]
    # a rerun loads nothing twice and still names the file
    again = _load(landed)
    assert again.files_loaded == 0 and len(again.failed) == 1
