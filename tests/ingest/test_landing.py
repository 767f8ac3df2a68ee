"""Landing files: typed, named by platform/entity/day/run/task, never half-written."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingest import landing
from ingest.batch import MappedBatch
from ingest.loader import pending_files
from radar.canonical import AccountSnapshot, Post

T = datetime(2026, 11, 20, 6)


def _batch() -> MappedBatch:
    batch = MappedBatch("mastodon")
    batch.account_snapshots.append(
        AccountSnapshot(
            platform="mastodon",
            account_id="a@x",
            observed_at=T,
            followers=None,
            follower_precision="hidden",
        )
    )
    batch.posts.append(
        Post(
            platform="mastodon",
            post_id="p",
            account_id="a@x",
            created_at=T,
            hashtags=["küche"],
            kind="original",
            observed_at=T,
        )
    )
    return batch


def test_files_are_laid_out_by_platform_entity_day_run_and_task(tmp_path: Path):
    files = landing.land_batch(
        _batch(), tmp_path, date(2026, 11, 20), "manual__2026-11-21T00:00:00+00:00", "extract-3"
    )
    assert sorted(f.relative_to(tmp_path).as_posix() for f in files) == [
        "mastodon/account_snapshots/dt=2026-11-20/manual__2026-11-21T00_00_00_00_00-extract-3-0000.parquet",
        "mastodon/posts/dt=2026-11-20/manual__2026-11-21T00_00_00_00_00-extract-3-0000.parquet",
    ]
    snapshot = pq.read_table(files[0]).to_pylist()[0]
    assert snapshot["followers"] is None and snapshot["follower_precision"] == "hidden"
    assert pq.read_table(files[1]).column("hashtags").to_pylist() == [["küche"]]


def test_a_crash_mid_write_leaves_no_landing_file(tmp_path: Path, monkeypatch):
    def write_half_then_die(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(landing.pq, "write_table", write_half_then_die)
    with pytest.raises(OSError, match="disk full"):
        landing.land_batch(_batch(), tmp_path, date(2026, 11, 20), "run", "extract-0")
    assert not list(tmp_path.rglob("*.parquet"))
    assert pending_files(tmp_path) == []
