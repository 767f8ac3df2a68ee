"""Each signal formula on a tiny world whose expected values are worked out by hand."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers.core_builder import World, build_and_transform, config_with
from tests.helpers.warehouse_helpers import query

AS_OF = datetime(2026, 3, 1)  # windows cross the end of February
EVERY_WINDOW_RATED = {"min_own_posts": {7: 1, 30: 1, 90: 1}}


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


def _one(warehouse: Path, sql: str, params: list | None = None) -> tuple:
    (row,) = query(warehouse, sql, params)
    return row


def test_windows_are_half_open_and_exact_across_a_month_end(warehouse: Path, tmp_path: Path):
    world = World()
    world.account("w")
    world.snapshot("w", datetime(2025, 11, 25), 10_000)
    posts = {  # created_at: likes, each over 10 000 followers
        datetime(2026, 3, 1): 999,  # at as_of: outside every window
        datetime(2026, 2, 28, 23, 59, 59, 999999): 300,  # 7d
        datetime(2026, 2, 22): 100,  # exactly 7 days before: 7d
        datetime(2026, 2, 21, 23, 59, 59): 200,  # 30d
        datetime(2026, 1, 30): 400,  # exactly 30 days before: 30d
        datetime(2026, 1, 29, 23, 59, 59): 500,  # 90d
        datetime(2025, 12, 1): 600,  # exactly 90 days before: 90d
        datetime(2025, 11, 30, 23, 59, 59): 999,  # outside
    }
    for i, (created, likes) in enumerate(posts.items()):
        world.post("w", f"p{i}", created, likes=likes, observed=created)  # counts seen at once
    build_and_transform(
        world, warehouse, config_with(tmp_path, engagement=EVERY_WINDOW_RATED), AS_OF
    )
    row = _one(
        warehouse,
        """
        select own_posts_7d, own_posts_30d, own_posts_90d,
               engagement_rate_7d_mean, engagement_rate_7d_median,
               engagement_rate_30d_mean, engagement_rate_30d_median,
               engagement_rate_90d_mean, engagement_rate_90d_median
        from marts.account_engagement""",
    )
    assert row[:3] == (2, 4, 6)
    assert row[3:] == pytest.approx([0.02, 0.02, 0.025, 0.025, 0.035, 0.035], abs=1e-15)


def test_deleted_posts_stop_counting_from_their_deletion(warehouse: Path, tmp_path: Path):
    world = World()
    world.account("d")
    world.snapshot("d", datetime(2026, 2, 1), 10_000)
    world.post("d", "kept", datetime(2026, 2, 20), likes=100)
    world.post("d", "gone", datetime(2026, 2, 20), likes=300)
    world.post("d", "gone-later", datetime(2026, 2, 21), likes=500)
    world.delete("gone", datetime(2026, 2, 25))
    world.delete("gone-later", datetime(2026, 3, 5))  # after as_of: it still counted then
    build_and_transform(
        world, warehouse, config_with(tmp_path, engagement=EVERY_WINDOW_RATED), AS_OF
    )
    assert _one(
        warehouse, "select own_posts_30d, engagement_rate_30d_mean from marts.account_engagement"
    ) == (2, pytest.approx(0.03))


def test_view_rate_consistency_top_post_share_and_likes_per_comment(
    warehouse: Path, tmp_path: Path
):
    world = World()
    world.account("v")
    world.snapshot("v", datetime(2026, 2, 1), 10_000)
    world.post("v", "q1", datetime(2026, 2, 10), likes=80, comments=10, shares=10, views=1000)
    world.post("v", "q2", datetime(2026, 2, 11), likes=250, comments=30, shares=20, views=3000)
    world.post("v", "q3", datetime(2026, 2, 12), likes=180, comments=0, shares=20)  # no views
    build_and_transform(
        world, warehouse, config_with(tmp_path, engagement=EVERY_WINDOW_RATED), AS_OF
    )
    view_rate, cv, top, lpc, mean = _one(
        warehouse,
        """
        select view_rate_30d, engagement_cv_30d, top_post_share_30d, likes_per_comment_30d,
               engagement_rate_30d_mean
        from marts.account_engagement""",
    )
    assert view_rate == pytest.approx((100 + 300) / (1000 + 3000))  # views only where known
    assert mean == pytest.approx(0.02)  # rates 0.01, 0.03, 0.02
    assert cv == pytest.approx(math.sqrt(0.0002 / 3) / 0.02)  # population sd / mean
    assert top == pytest.approx(300 / 600)
    assert lpc == pytest.approx((80 + 250 + 180) / (10 + 30 + 0 + 1))


def _peer_world(tmp_path: Path) -> World:
    world = World()
    texts = ["sourdough loaf", "sourdough loaf", "sourdough loaf", "tofu bowl", "tofu bowl"]
    for i, text in enumerate(texts, start=1):
        world.account(f"a{i}")
        world.snapshot(f"a{i}", datetime(2026, 2, 1), 20_000)
        world.post(f"a{i}", f"a{i}-post", datetime(2026, 2, 15), text, likes=200 * i)
    return world


def test_tier_benchmarks_percentiles_and_peer_position(warehouse: Path, tmp_path: Path):
    config = config_with(tmp_path, engagement=EVERY_WINDOW_RATED, benchmarks={"min_niche_peers": 3})
    build_and_transform(_peer_world(tmp_path), warehouse, config, AS_OF)  # rates .01 … .05
    benchmarks = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            """
        select niche, peer_count, engagement_rate_p10, engagement_rate_p25,
               engagement_rate_p50, engagement_rate_p75, engagement_rate_p90
        from marts.tier_benchmarks where platform = 'mastodon' and tier = 'micro'""",
        )
    }
    assert set(benchmarks) == {"*", "sourdough_baking"}  # tofu's group of 2 is too small
    assert benchmarks["*"][0] == 5
    assert benchmarks["*"][1:] == pytest.approx([0.014, 0.02, 0.03, 0.04, 0.046])
    assert benchmarks["sourdough_baking"][0] == 3
    assert benchmarks["sourdough_baking"][3] == pytest.approx(0.02)
    positions = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            """
        select account_id, peer_group, peer_count, engagement_percentile, engagement_lift
        from marts.account_peer_position""",
        )
    }
    assert positions["a2"] == (
        "mastodon/micro/sourdough_baking",
        3,
        pytest.approx(2 / 3),
        pytest.approx(0.02 / 0.02),
    )
    assert positions["a5"] == ("mastodon/micro", 5, pytest.approx(1.0), pytest.approx(0.05 / 0.03))


def test_flagged_peers_set_no_peer_median(warehouse: Path, tmp_path: Path):
    world = _peer_world(tmp_path)  # rates .01 … .05, unflagged
    for i, rate in ((6, 0.09), (7, 0.10)):  # follow farms: following 2.5 × followers
        world.account(f"farm{i}")
        world.snapshot(f"farm{i}", datetime(2026, 2, 1), 20_000, following=50_000)
        world.post(
            f"farm{i}", f"farm{i}-post", datetime(2026, 2, 15), "tofu", likes=round(rate * 20_000)
        )
    world.account("small")  # a nano account: a peer of the platform, not of the tier
    world.snapshot("small", datetime(2026, 2, 1), 5_000)
    world.post("small", "small-post", datetime(2026, 2, 15), "tofu", likes=25)  # .005
    config = config_with(tmp_path, engagement=EVERY_WINDOW_RATED)
    build_and_transform(world, warehouse, config, AS_OF)
    positions = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            "select account_id, peer_count, peer_median_rate, engagement_percentile, "
            "engagement_lift from marts.account_peer_position",
        )
    }
    # the score's yardstick: every unflagged rated account of the platform, all tiers:
    # .005, .01, .02, .03, .04, .05 → median .025
    platform = query(
        warehouse,
        "select platform_median_rate, platform_count, platform_lift "
        "from marts.account_peer_position where account_id = 'a3'",
    )
    assert platform == [(pytest.approx(0.025), 6, pytest.approx(0.03 / 0.025))]
    # all seven are peers (count, percentile), but the median is the five unflagged
    # ones': .03, not the .04 of all seven
    assert positions["a3"] == (7, pytest.approx(0.03), pytest.approx(3 / 7), pytest.approx(1.0))
    assert positions["farm7"][1:] == (pytest.approx(0.03), 1.0, pytest.approx(0.10 / 0.03))


def test_authenticity_flags_and_score(warehouse: Path, tmp_path: Path):
    world = World()
    start = AS_OF - timedelta(days=21)

    def history(
        account_id: str,
        followers: int,
        spike_on: int | None = None,
        following: int = 100,
        days: int = 21,
    ) -> None:
        world.account(account_id)
        for day in range(days):
            if day:
                followers += 5_000 if day == spike_on else 100
            world.snapshot(
                account_id, start + timedelta(days=day, hours=6), followers, following=following
            )

    history("steady", 20_000)
    history("spiky", 20_000, spike_on=15)
    # too little history for the robust z (3 growth days), enough for the jump rule
    history("short-spiky", 20_000, spike_on=2, days=4)
    history("liker", 20_000)
    history("follower", 12_000, following=30_000)
    history("erratic", 20_000)
    for account_id in ("steady", "spiky", "short-spiky", "follower"):
        world.post(account_id, f"{account_id}-1", AS_OF - timedelta(days=3), likes=100, comments=10)
    world.post("liker", "liker-1", AS_OF - timedelta(days=3), likes=1_000, comments=0)
    for i, likes in enumerate([18, 18, 18, 1_800]):  # rates .001 ×3 and .1: cv ≈ 1.66
        world.post(
            "erratic",
            f"erratic-{i}",
            AS_OF - timedelta(days=5 + i),
            likes=likes,
            comments=likes // 9,
        )
    build_and_transform(
        world, warehouse, config_with(tmp_path, engagement=EVERY_WINDOW_RATED), AS_OF
    )
    rows = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            """
        select account_id, authenticity_score, flags, spike_gain, max_growth_z_30d,
            robust_z_spike, follower_jump, jump_gain
        from marts.account_authenticity""",
        )
    }
    assert rows["steady"][:2] == (100, [])
    assert rows["spiky"][:3] == (60, ["follower_spike"], 5_000)
    # median daily gain 100, MAD 0 floored to 1: z = (5000 − 100) / 1.4826
    assert rows["spiky"][3] == pytest.approx(4_900 / 1.4826)
    # +5,000 on 20,100 (+24.9 % in a day) is a jump; the spike and the unjudged growth
    # cost 40 + 10
    assert rows["short-spiky"][:2] == (50, ["follower_spike"])
    assert rows["short-spiky"][4:] == (False, True, 5_000)
    assert rows["liker"][:2] == (75, ["likes_without_comments"])
    assert rows["follower"][:2] == (80, ["following_far_above_followers"])
    assert rows["erratic"][:2] == (85, ["erratic_engagement"])
    reasons = _one(
        warehouse, "select flag_reasons from marts.account_authenticity where account_id = 'spiky'"
    )[0]
    assert reasons.startswith("follower spike: +5,000 on 2026-02-23")


def test_niche_velocity_and_topic_stability(warehouse: Path, tmp_path: Path):
    world = World()
    world.account("n")
    world.snapshot("n", datetime(2026, 1, 1), 20_000)
    posts = [
        (datetime(2026, 2, 28), "sourdough crumb"),  # week 0
        (datetime(2026, 2, 27), "sourdough again"),  # week 0
        (datetime(2026, 2, 26), "a walk"),  # week 0
        (datetime(2026, 2, 20), "sourdough starter"),  # week 1
        (datetime(2026, 2, 13), "a film"),  # week 2
        (datetime(2026, 1, 23), "sourdough in january"),  # week 5, outside 30 days
    ]
    for i, (created, text) in enumerate(posts):
        world.post("n", f"n{i}", created, text, likes=100)
    build_and_transform(world, warehouse, config_with(tmp_path), AS_OF)
    row = _one(
        warehouse,
        """
        select niche_posts_7d, niche_posts_30d, niche_posts_90d, own_posts_30d, niche_share,
               mentions_per_day_7d, mentions_per_day_30d, mention_velocity_ratio,
               active_weeks_90d, niche_weeks_90d, topic_stability, is_primary_niche
        from marts.account_niches where niche = 'sourdough_baking'""",
    )
    assert row[:4] == (2, 3, 4, 5)
    assert row[4:8] == pytest.approx([3 / 5, 2 / 7, 3 / 30, (2 / 7) / (3 / 30)])
    assert row[8:] == (4, 3, pytest.approx(3 / 4), True)


def test_trending_terms_rise_over_the_previous_week(warehouse: Path, tmp_path: Path):
    world = World()
    world.account("t")
    world.snapshot("t", datetime(2026, 1, 1), 20_000)
    for i in range(3):
        world.post(
            "t",
            f"new{i}",
            AS_OF - timedelta(days=1 + i),
            "sourdough bake",
            hashtags=["sourdough", "levain"],
        )
    for i in range(2):
        world.post(
            "t", f"old{i}", AS_OF - timedelta(days=9 + i), "sourdough bake", hashtags=["sourdough"]
        )
    world.post("t", "old-crumb", AS_OF - timedelta(days=12), "sourdough bake", hashtags=["crumb"])
    build_and_transform(world, warehouse, config_with(tmp_path), AS_OF)
    rows = query(
        warehouse,
        """
        select term, mentions_7d, mentions_prev_7d, rise, is_trending, trend_rank
        from marts.niche_trending_terms where niche = 'sourdough_baking' order by trend_rank""",
    )
    assert rows == [
        ("levain", 3, 0, 3, True, 1),
        ("sourdough", 3, 2, 1, True, 2),
        ("crumb", 0, 1, -1, False, 3),
    ]


def test_excluded_brand_terms_zero_the_fit_but_keep_the_account_visible(
    warehouse: Path, tmp_path: Path
):
    world = World()
    for account_id, extra in (("clean", "sourdough bake"), ("risky", "crypto giveaway")):
        world.account(account_id)
        world.snapshot(account_id, datetime(2026, 2, 1), 20_000)
        for i in range(5):
            world.post(
                account_id,
                f"{account_id}{i}",
                AS_OF - timedelta(days=2 + i),
                "vegan sourdough loaf",
                likes=300,
            )
        world.post(account_id, f"{account_id}-x", AS_OF - timedelta(days=40), extra, likes=300)
    build_and_transform(world, warehouse, config_with(tmp_path), AS_OF)
    fits = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            """
        select account_id, niche_fit, must_have_fit, excluded_posts_90d, excluded_terms, brand_fit
        from marts.brand_fit where brand = 'green_oven'""",
        )
    }
    assert fits["clean"] == (1.0, 1.0, 0, [], pytest.approx(1.0))
    assert fits["risky"] == (1.0, 1.0, 1, ["crypto"], 0.0)
    candidates = dict(
        query(
            warehouse, "select account_id, reason from marts.candidates where scope = 'green_oven'"
        )
    )
    assert "brand fit 0: excluded terms (crypto) in 1 of its posts" in candidates["risky"]


def test_text_features_are_computed_once_per_post_and_rebuilt_on_config_change(
    warehouse: Path, tmp_path: Path
):
    from radar.settings import RadarSettings
    from radar.warehouse import connect
    from transforms.runner import run_transforms

    world = World()
    world.account("i")
    world.snapshot("i", datetime(2026, 2, 1), 20_000)
    world.post("i", "first", datetime(2026, 2, 20), "sourdough loaf", likes=100)
    config = config_with(tmp_path)
    summary = build_and_transform(world, warehouse, config, AS_OF)
    assert summary.rows["intermediate.int_post_term_hits"] == 2  # sourdough, green_oven
    settings = RadarSettings()
    with connect(warehouse) as conn:
        conn.execute(
            "insert into core.posts (platform, post_id, account_id, created_at, text, "
            "hashtags, mentions, kind, first_seen_at, observed_at, load_id) values "
            "('mastodon', 'second', 'i', '2026-03-01 10:00', 'tofu bowl', [], [], 'original', "
            "'2026-03-01 10:00', '2026-03-01 10:00', nextval('meta.load_seq'))"
        )
        conn.execute("create table marts.left_over as select 1 as x")  # a stale relation
        again = run_transforms(conn, settings.sql_dir, config, AS_OF + timedelta(days=1))
        # only the new post: tofu (niche) and no brand term
        assert again.rows["intermediate.int_post_term_hits"] == 1
        (config / "niches.yaml").write_text(
            (config / "niches.yaml").read_text().replace("tofu,", "tofu, loaf,")
        )
        rebuilt = run_transforms(conn, settings.sql_dir, config, AS_OF + timedelta(days=1))
        # config changed: both posts again, "loaf" now a plant-based keyword too; the
        # per-post facts read no config, so nothing of theirs is computed again
        assert rebuilt.rows["intermediate.int_post_term_hits"] == 4
        assert rebuilt.rows["intermediate.int_post_facts"] == 0
        hits = conn.execute(
            "select post_id, hit_kind, scope, matched_term from intermediate.int_post_term_hits "
            "order by all"
        ).fetchall()
        stale = conn.execute(
            "select count(*) from information_schema.tables where table_name = 'left_over'"
        ).fetchone()
        # an edit (stamped with its load, as the loader does) replaces every earlier hit of
        # the post; a run with nothing loaded since matches nothing
        conn.execute(
            "update core.posts set text = 'a quiet day', observed_at = '2026-03-02 08:00', "
            "load_id = nextval('meta.load_seq') where post_id = 'first'"
        )
        edited = run_transforms(conn, settings.sql_dir, config, AS_OF + timedelta(days=1))
        assert edited.rows["intermediate.int_post_term_hits"] == 1
        idle = run_transforms(conn, settings.sql_dir, config, AS_OF + timedelta(days=1))
        assert idle.rows["intermediate.int_post_term_hits"] == 0
        after_edit = conn.execute(
            "select post_id, hit_kind, scope from intermediate.int_post_term_hits order by all"
        ).fetchall()
    assert hits == [
        ("first", "brand", "green_oven", "sourdough"),
        ("first", "niche", "plant_based_cooking", "loaf"),
        ("first", "niche", "sourdough_baking", "sourdough"),
        ("second", "niche", "plant_based_cooking", "tofu"),
    ]
    assert stale == (0,)
    assert after_edit == [("first", "none", None), ("second", "niche", "plant_based_cooking")]
