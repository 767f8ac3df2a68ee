"""A planted campaign world: seeded campaigns over the synthetic world's accounts, their
orders and clicks exported as a shop and its analytics would (synthetic/campaigns.py),
loaded by the real campaign ingest (terms, landing, loader) and attributed by the real
transform run. The marts must recover each creator's planted orders, cancellations,
revenue net of refunds, clicks, cost and ROI exactly, and the creator planted with the
campaign's highest engagement and no sale must rank last on ROI."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from ingest.campaigns.bulk import BULK_MIN_BYTES
from ingest.campaigns.history import load_terms
from ingest.campaigns.landing import land_exports
from ingest.campaigns.runs import landed_sources
from ingest.campaigns.terms import read_campaigns
from ingest.loader import load_pending
from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from synthetic.campaigns import PlantedCampaigns, plant_campaigns, write_config, write_exports
from synthetic.world import Niche, make_account, posts_for_day
from tests.helpers.core_builder import World, config_with, insert_rows
from transforms.runner import run_transforms

START = date(2026, 2, 2)
SOURDOUGH = Niche("sourdough_baking", ("sourdough", "levain"), ("sourdough", "levain"))


def planted_world(seed: int) -> tuple[PlantedCampaigns, World]:
    """Two overlapping campaigns of four creators each, over 40 synthetic accounts; the
    creators' own posts of the campaign weeks (the world's, organic) and their planted
    sponsored posts, as core rows."""
    accounts = [
        make_account(seed, platform, i, [SOURDOUGH], 30, 1.0)
        for platform in ("mastodon", "bluesky")
        for i in range(20)
    ]
    planted = plant_campaigns(seed, accounts, START, campaigns=2, creators=4, orders=240)
    world, counter = World(), [0]
    first = min(c.start for c in planted.campaigns)
    last = max(c.window_end for c in planted.campaigns)
    creators = {c.account.key: c.account for c in planted.creators}
    for account in creators.values():
        world.account(account.key, platform=account.platform)
        world.accounts[-1]["handle"] = account.handle
        world.snapshot(
            account.key,
            first - timedelta(days=1),
            int(account.followers),
            platform=account.platform,
        )
        day = first.date()
        while day < last.date():
            for post in posts_for_day(account, day, counter):
                add_post(world, post, f"{account.platform}-{post.post_no}")
            day += timedelta(days=1)
    for creator in planted.creators:
        for n, post in enumerate(creator.posts):
            add_post(world, post, f"{creator.campaign}-{creator.account.key}-{n}")
    return planted, world


def add_post(world: World, post, post_id: str) -> None:
    world.post(
        post.author.key,
        post_id,
        post.created_at,
        post.text,
        likes=post.likes,
        comments=post.comments,
        shares=post.shares,
        hashtags=[t.lower() for t in post.hashtags],
        platform=post.author.platform,
    )


def ingest_and_attribute(
    planted, world, tmp_path: Path, bulk_min_bytes: int
) -> tuple[Path, datetime]:
    """The exports and the terms through the campaign ingest, then the transform run;
    exports of ``bulk_min_bytes`` or more land by the DuckDB bulk path."""
    config = config_with(tmp_path)
    write_config(planted, config)
    exports, data = tmp_path / "exports", tmp_path / "data"
    write_exports(planted, exports)
    as_of = planted.last_end + timedelta(days=1)
    settings = RadarSettings()
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        for table, rows in [
            ("core.accounts", world.accounts),
            ("core.account_snapshots", world.snapshots),
            ("core.posts", world.posts),
            ("core.post_metric_snapshots", world.metrics),
        ]:
            insert_rows(conn, table, rows)
        load_terms(conn, read_campaigns(config), planted.first_start)
        landed = land_exports(exports, data / "landing", bulk_min_bytes)
        assert not landed.failed and landed.rejects == 0, landed
        load_pending(conn, data, "planted-1", platforms=landed_sources(data / "landing"))
        # the same exports again: landed once, nothing loaded twice
        again = land_exports(exports, data / "landing", bulk_min_bytes)
        assert again.landed == [] and again.already_landed == len(landed.landed)
        assert load_pending(conn, data, "planted-2").files_loaded == 0
        run_transforms(conn, settings.sql_dir, config, as_of)
    return warehouse, as_of


@pytest.mark.parametrize(
    ("seed", "bulk_min_bytes"),
    [(3, BULK_MIN_BYTES), (11, 0)],
    ids=["careful-path", "bulk-path"],
)
def test_marts_recover_every_planted_creators_returns_exactly(
    seed: int, bulk_min_bytes: int, tmp_path: Path
):
    planted, world = planted_world(seed)
    warehouse, as_of = ingest_and_attribute(planted, world, tmp_path, bulk_min_bytes)
    with connect(warehouse, read_only=True) as conn:
        rows = conn.execute(
            """select campaign, platform, handle, sponsored_posts, orders, cancelled_orders,
                      unconverted_orders, revenue, clicks, cost, roi, roi_rank, sponsored_er
               from marts.campaign_creator_results where as_of = ?""",
            [as_of],
        ).fetchall()
        listed_unknown = conn.execute(
            """select count(*) from marts.campaign_orders
               where as_of = ? and not is_attributed and reason like 'unknown code %'""",
            [as_of],
        ).fetchone()[0]
    found = {(r[0], r[1], r[2]): r[3:] for r in rows}
    expected = {
        (c.campaign, c.platform, c.handle): (
            len(c.posts), c.orders, c.cancelled_orders, 0, c.revenue, c.clicks, c.cost, c.roi
        )
        for c in planted.creators
    }  # fmt: skip
    assert {k: v[:8] for k, v in found.items()} == expected
    # every seller sold and every kind of order was planted: the check is not vacuous
    sellers = [c for c in planted.creators if not c.zero_sales]
    assert all(c.orders > 0 and c.revenue > 0 for c in sellers)
    assert {c.fee_type for c in sellers} == {"flat", "per_post", "commission"}
    assert sum(c.cancelled_orders for c in planted.creators) > 0
    assert listed_unknown == planted.unattributed_in_span > 0
    for campaign in planted.campaigns:
        ranked = {(c.platform, c.handle): found[(campaign.key, c.platform, c.handle)]
                  for c in campaign.creators}  # fmt: skip
        zero = next(c for c in campaign.creators if c.zero_sales)
        rank, er = ranked[(zero.platform, zero.handle)][8:10]
        assert zero.orders == 0 and zero.clicks > 0
        assert rank == len(campaign.creators), f"{zero.handle} ranks {rank} in {campaign.key}"
        assert er == max(r[9] for r in ranked.values()), "the zero-sales creator engages most"
