"""Seeds the core tables directly, for transform tests whose worlds are computed by hand."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import yaml

from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect, next_load_id, table_columns
from transforms.runner import run_transforms

T0 = datetime(2026, 1, 1)


@dataclass
class World:
    """Rows for the core tables; defaults fill what a test does not care about."""

    accounts: list[dict] = field(default_factory=list)
    snapshots: list[dict] = field(default_factory=list)
    posts: list[dict] = field(default_factory=list)
    metrics: list[dict] = field(default_factory=list)
    deletions: list[dict] = field(default_factory=list)

    def account(self, account_id: str, platform: str = "mastodon", status: str = "active"):
        self.accounts.append(
            {
                "platform": platform,
                "account_id": account_id,
                "handle": account_id,
                "status": status,
                "discovered_via": "tracked",
                "first_seen_at": T0,
                "observed_at": T0,
            }
        )

    def snapshot(
        self,
        account_id: str,
        at: datetime,
        followers: int | None,
        following: int | None = 100,
        platform: str = "mastodon",
    ):
        self.snapshots.append(
            {
                "platform": platform,
                "account_id": account_id,
                "observed_at": at,
                "followers": followers,
                "following": following,
                "posts_count": 100,
                "follower_precision": "hidden" if followers is None else "exact",
            }
        )

    def post(
        self,
        account_id: str,
        post_id: str,
        created: datetime,
        text: str = "",
        *,
        likes: int | None = 0,
        comments: int | None = 0,
        shares: int | None = 0,
        views: int | None = None,
        hashtags: list[str] | None = None,
        kind: str = "original",
        observed: datetime | None = None,
        platform: str = "mastodon",
    ):
        self.posts.append(
            {
                "platform": platform,
                "post_id": post_id,
                "account_id": account_id,
                "created_at": created,
                "text": text,
                "hashtags": hashtags or [],
                "mentions": [],
                "kind": kind,
                "first_seen_at": created,
                "observed_at": observed or created,
                "original_post_id": "x" if kind == "repost" else None,
            }
        )
        self.metrics.append(
            {
                "platform": platform,
                "post_id": post_id,
                "observed_at": observed or created + timedelta(hours=1),
                "likes": likes,
                "comments": comments,
                "shares": shares,
                "quotes": 0,
                "views": views,
            }
        )

    def delete(self, post_id: str, at: datetime, platform: str = "mastodon"):
        self.deletions.append(
            {"platform": platform, "post_id": post_id, "first_seen_at": at, "observed_at": at}
        )


def insert_rows(conn, table: str, rows: list[dict]) -> None:
    """Rows in one Arrow scan per set of columns: row by row, a world takes seconds.
    Into a table with ``load_id``, rows that bring none are stamped with a new
    ``meta.load_seq`` value, one per call, as a load stamps what it merges."""
    if any("load_id" not in row for row in rows) and "load_id" in table_columns(conn, table):
        load_id = next_load_id(conn)
        rows = [row if "load_id" in row else {**row, "load_id": load_id} for row in rows]
    shapes: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        shapes.setdefault(tuple(row), []).append(row)
    for same_columns in shapes.values():
        batch = pa.Table.from_pylist(same_columns)  # noqa: F841  (scanned by name below)
        conn.execute(f"insert into {table} by name select * from batch")


def config_with(tmp_path: Path, **overrides: dict) -> Path:
    """A copy of the shipped config with ``scoring.yaml`` sections updated."""
    config = tmp_path / "config"
    if not config.exists():
        shutil.copytree(RadarSettings().config_dir, config)
    scoring_path = config / "scoring.yaml"
    scoring = yaml.safe_load(scoring_path.read_text())
    for section, values in overrides.items():
        scoring[section].update(values)
    scoring_path.write_text(yaml.safe_dump(scoring, sort_keys=False))
    return config


def build_and_transform(world: World, warehouse: Path, config_dir: Path, as_of: datetime):
    settings = RadarSettings()
    with connect(warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        insert_rows(conn, "core.accounts", world.accounts)
        insert_rows(conn, "core.account_snapshots", world.snapshots)
        insert_rows(conn, "core.posts", world.posts)
        insert_rows(conn, "core.post_metric_snapshots", world.metrics)
        insert_rows(conn, "core.post_deletions", world.deletions)
        return run_transforms(conn, settings.sql_dir, config_dir, as_of)
