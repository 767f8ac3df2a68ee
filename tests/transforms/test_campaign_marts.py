"""The campaign marts on the worked example of docs/campaigns.md, every value by hand.

Campaign `spring` (brand greenpan, EUR, 1-14 February 2026, attribution window 7 days: orders
and clicks count in [1 Feb, 22 Feb)), as of 1 March 2026. Four creators on Mastodon, 10 000
followers each, so a post's engagement rate is its likes / 10 000:

- anna: flat fee, 300 until 10 Feb then 400 (the version in force at the campaign's end
  counts: 400); code ANNA10, UTM mastodon/social/spring/anna, hashtag #greenspring;
- ben: 100 per post until 8 Feb, then 150; code BEN15, short link grn.to/ben;
- cara: commission, 10 % until 10 Feb, then 20 % plus 5.00 fixed; code CARA5;
- dan: flat 200; hashtag #greenspring, a UTM link open on utm_content (it overlaps
  anna's); high engagement, no sale.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from radar.settings import RadarSettings
from radar.warehouse import connect
from tests.helpers.campaign_world import CampaignWorld, build_campaign_world
from tests.helpers.core_builder import World, config_with
from transforms.runner import run_transforms

AS_OF = datetime(2026, 3, 1)
EVERY_WINDOW_RATED = {"min_own_posts": {7: 1, 30: 1, 90: 1}}
ANNA_UTM = "utm_source=mastodon&utm_medium=social&utm_campaign=spring&utm_content=anna"


def d(text: str) -> Decimal:
    return Decimal(text)


def spring_world() -> tuple[World, CampaignWorld]:
    world = World()
    # creators, and three accounts the shortlist may pick (fay's rate is too high for it)
    for account, followers in [("anna", 10_000), ("ben", 10_000), ("cara", 10_000),
                               ("dan", 10_000), ("eve", 10_000), ("fay", 10_000),
                               ("gil", 10_000)]:  # fmt: skip
        world.account(account)
        world.snapshot(account, datetime(2026, 1, 1), followers)

    def post(account, post_id, at, text, likes, views=None, hashtags=(), mentions=()):
        world.post(
            account, post_id, at, text, likes=likes, views=views,
            hashtags=["vegan", *hashtags],  # every post is in plant-based cooking
        )  # fmt: skip
        world.posts[-1]["mentions"] = list(mentions)

    feb = lambda day, *hms: datetime(2026, 2, day, *hms)  # noqa: E731
    # anna: sponsored a1 (hashtag), a2 (code), a6 (brand mention, the window's last second);
    # organic a3, a4, a7 (false friends only); a5 is the first second after the window
    post("anna", "a1", feb(3, 9), "Spring cooking", 300, views=10_000, hashtags=["GreenSpring"])
    post("anna", "a2", feb(5, 9), "use code anna10 at checkout!", 500, views=20_000)
    post("anna", "a3", feb(6, 9), "Sunday soup", 100)
    post("anna", "a4", feb(8, 9), "my pasta", 300)
    post("anna", "a5", feb(15), "#greenspring again", 200)
    post("anna", "a6", feb(14, 23, 59, 59), "thanks!", 100, mentions=["@greenpan@shop.social"])
    post("anna", "a7", feb(7, 9), "#greenspringtime, ANNA100 and @greenpanda", 200)
    # ben: b1 before his fee changes (100), b2 after (150); b3 organic
    post("ben", "b1", feb(2, 9), "new pan! grn.to/ben", 200)
    post("ben", "b2", feb(9, 9), "link: https://grn.to/ben/", 400, hashtags=["ad"])
    post("ben", "b3", feb(10, 9), "dinner, see grn.to/benny", 100)
    post("cara", "c1", feb(4, 9), "code CARA5 for 5 % off", 50)
    post("dan", "d1", feb(3, 9), "so good #greenspring", 2000)
    # disclosed, but without the campaign's evidence: paid by someone else, not organic
    post("dan", "d2", feb(10, 9), "paid partnership with another shop", 100)
    for account, likes in [("eve", 300), ("fay", 800), ("gil", 80)]:
        for day in (10, 12, 14):
            post(account, f"{account}{day}", feb(day, 9), "lentils tonight", likes)

    c = CampaignWorld()
    # first planned to end on 12 Feb, extended to the 14th on the 9th at noon
    spring = dict(brand="greenpan", label="Spring pans", budget=d("2000.00"))
    c.campaign("spring", date(2026, 2, 1), date(2026, 2, 12), **spring, valid_to=feb(9, 12))
    c.campaign("spring", date(2026, 2, 1), date(2026, 2, 14), **spring, valid_from=feb(9, 12))
    c.brand_handle("spring", "@greenpan")
    c.creator("spring", "anna", "flat", "300.00", valid_to=feb(10), account_id="anna")
    c.creator("spring", "anna", "flat", "400.00", valid_from=feb(10), account_id="anna")
    c.creator("spring", "@Ben", "per_post", "100.00", valid_to=feb(8))
    c.creator("spring", "@Ben", "per_post", "150.00", valid_from=feb(8))
    c.creator("spring", "cara", "commission", commission_rate=0.10, valid_to=feb(10))
    c.creator("spring", "cara", "commission", "5.00", 0.20, valid_from=feb(10))
    c.creator("spring", "dan", "flat", "200.00")
    # ANNA10 written again from 10 Feb (a reload): two versions, one code
    c.track("spring", "anna", "code", code="ANNA10", valid_to=feb(10))
    c.track("spring", "anna", "code", code="ANNA10", valid_from=feb(10))
    c.track("spring", "anna", "utm", utm_source="mastodon", utm_medium="social",
            utm_campaign="spring", utm_content="anna")  # fmt: skip
    c.track("spring", "anna", "hashtag", hashtag="#greenspring")
    c.track("spring", "@Ben", "code", code="BEN15")
    c.track("spring", "@Ben", "code", code="BEN20", valid_from=feb(20))
    c.track("spring", "@Ben", "short_link", short_link="https://grn.to/ben")
    c.track("spring", "cara", "code", code="CARA5")
    c.track("spring", "dan", "hashtag", hashtag="greenspring")
    # a UTM link without utm_content: it matches anna's links too (a tie: anna by name)
    c.track("spring", "dan", "utm", utm_source="mastodon", utm_medium="social",
            utm_campaign="spring")  # fmt: skip
    c.rate("USD", "EUR", 0.9, date(2026, 2, 1))
    c.rate("USD", "EUR", 0.8, date(2026, 2, 12))  # after o7's day: not its rate
    shop = "https://shop.example/pans"
    c.order("o1", feb(5, 10), "100.00", ["ANNA10"])
    c.order("o2", feb(6, 10), "80.00", landing_url=f"{shop}?{ANNA_UTM}")
    c.order("o3", feb(7, 10), "50.00", ["anna10"], landing_url=f"{shop}?{ANNA_UTM}")
    c.order("o4", feb(8, 10), "120.00", ["BEN15"], landing_url=f"{shop}?{ANNA_UTM}")
    c.order("o5", feb(9, 10), "300.00", ["ANNA10"], refunded="50.00",
            observed=feb(20))  # fmt: skip
    c.order("o6", feb(10, 10), "60.00", ["ANNA10"], cancelled_at=feb(11))
    c.order("o7", feb(11, 10), "110.00", ["BEN15"], currency="USD")
    c.order("o8", feb(12, 10), "100.00", ["BEN15"], currency="GBP")
    c.order("o9", feb(21, 23, 59, 59), "40.00", ["CARA5"])
    c.order("o10", feb(22), "30.00", ["CARA5"])
    c.order("o11", feb(5, 10), "70.00", ["CARA5", "SPRING5"])
    c.order("o12", feb(6, 10), "25.00", ["WINTER99"])
    c.order("o13", feb(13, 10), "90.00", landing_url="https://grn.to/ben?x=1")
    c.order("o14", datetime(2026, 1, 31, 23, 59, 59), "45.00", ["ANNA10"])
    c.order("o15", feb(6, 11), "15.00", landing_url=f"{shop}?utm_source=newsletter")
    c.order("o16", feb(10, 12), "35.00", ["BEN20"])  # before BEN20 is in force
    anna_utm = dict(utm_source="mastodon", utm_medium="social", utm_campaign="spring")
    c.click("k1", date(2026, 2, 3), 40, **anna_utm, utm_content="anna", sessions=35)
    c.click("k2", date(2026, 2, 21), 10, **anna_utm, utm_content="anna", sessions=9)
    c.click("k3", date(2026, 2, 22), 99, **anna_utm, utm_content="anna", sessions=99)
    c.click("k4", date(2026, 2, 5), 25, short_link="grn.to/ben")
    c.click("k5", date(2026, 1, 31), 7, short_link="grn.to/ben")
    c.click("k6", date(2026, 2, 4), 12, **anna_utm, utm_content="someone")  # only dan's
    return world, c


@pytest.fixture(scope="module")
def spring(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("spring")
    world, campaigns = spring_world()
    warehouse = tmp / "warehouse.duckdb"
    config = config_with(tmp, engagement=EVERY_WINDOW_RATED)
    build_campaign_world(world, campaigns, warehouse, config, AS_OF)
    return warehouse


def rows_by(warehouse: Path, sql: str, key: str) -> dict:
    """Each row as a dict, by the value of its ``key`` column."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        cursor = conn.execute(sql)
        names = [c[0] for c in cursor.description]
        rows = cursor.fetchall()
    return {row[names.index(key)]: dict(zip(names, row, strict=True)) for row in rows}


def test_each_order_is_attributed_once_by_code_link_or_both(spring: Path):
    orders = rows_by(spring, "select * from marts.campaign_orders", "order_id")
    attributed = {
        o: (r["handle"], r["matched_by"], r["revenue"]) for o, r in orders.items() if r["handle"]
    }
    assert attributed == {
        "o1": ("anna", "code", d("100.00")),
        "o2": ("anna", "link", d("80.00")),
        "o3": ("anna", "code+link", d("50.00")),  # both matched: counted once
        "o4": ("ben", "code", d("120.00")),  # anna's link too: the code is the last touch
        "o5": ("anna", "code", d("250.00")),  # 300 - 50 refunded
        "o6": ("anna", "code", d("0.00")),  # cancelled
        "o7": ("ben", "code", d("99.00")),  # USD 110 at 0.9, the rate of its day
        "o8": ("ben", "code", None),  # GBP: no rate, not converted, still listed
        "o9": ("cara", "code", d("40.00")),  # the attribution span's last second
        "o11": ("cara", "code", d("70.00")),
        "o13": ("ben", "link", d("90.00")),  # the short link in the landing URL
    }
    assert orders["o4"]["lost_to_last_touch"] == ["mastodon:anna (link)", "mastodon:dan (link)"]
    assert "last touch over mastodon:anna (link), mastodon:dan (link)" in orders["o4"]["reason"]
    assert orders["o2"]["lost_to_last_touch"] == ["mastodon:dan (link)"]
    assert orders["o6"]["is_cancelled"] and "cancelled" in orders["o6"]["reason"]
    assert orders["o1"]["reason"] == "code ANNA10 of mastodon:anna (campaign spring)"
    assert "also unknown code SPRING5" in orders["o11"]["reason"]
    assert orders["o5"]["net_amount"] == d("250.00") and orders["o5"]["refunded"] == d("50.00")
    assert orders["o7"]["fx_rate"] == pytest.approx(0.9)
    assert orders["o7"]["fx_valid_from"] == date(2026, 2, 1)
    assert not orders["o8"]["is_converted"]
    assert "no GBP→EUR rate on or before 2026-02-12: not converted" in orders["o8"]["reason"]


def test_orders_that_go_to_no_one_say_why(spring: Path):
    orders = rows_by(spring, "select * from marts.campaign_orders", "order_id")
    missed = {o: r["reason"] for o, r in orders.items() if not r["is_attributed"]}
    assert missed == {
        "o10": "code CARA5 of campaign spring used outside its attribution span "
        "[2026-02-01, 2026-02-22)",  # the span's first second out
        "o12": "unknown code WINTER99",
        "o16": "code BEN20 of campaign spring not in force at the order time",
        "o14": "code ANNA10 of campaign spring used outside its attribution span "
        "[2026-02-01, 2026-02-22)",  # the last second before the campaign
    }
    assert "o15" not in orders  # no code and no tracked link: not a campaign order


def test_sponsored_posts_carry_their_evidence(spring: Path):
    posts = rows_by(spring, "select * from intermediate.int_campaign_posts", "post_id")
    evidence = {p: r["evidence"] for p, r in posts.items() if r["is_sponsored"]}
    assert evidence == {
        "a1": ["hashtag:#greenspring"],
        "a2": ["code:ANNA10"],
        "a6": ["mention:@greenpan"],  # 23:59:59 on the last day: in
        "b1": ["link:grn.to/ben"],
        "b2": ["link:grn.to/ben", "hashtag:#ad"],  # the campaign's evidence, then C's
        "c1": ["code:CARA5"],
        "d1": ["hashtag:#greenspring"],
    }
    organic = sorted(p for p, r in posts.items() if r["is_organic"])
    assert organic == ["a3", "a4", "a7", "b3"]  # a7 and b3: false friends only
    assert posts["d2"]["disclosure_evidence"] == ["phrase:paid partnership"]
    assert not posts["d2"]["is_sponsored"] and not posts["d2"]["is_organic"]
    assert posts["b2"]["campaign_evidence"] == ["link:grn.to/ben"]
    assert "a5" not in posts  # midnight after the last day: out


def test_creator_results_by_hand(spring: Path):
    results = rows_by(spring, "select * from marts.campaign_creator_results", "handle")
    got = {h: {k: r[k] for k in EXPECTED_CREATORS["anna"]} for h, r in results.items()}
    assert got == EXPECTED_CREATORS
    assert results["ben"]["unconverted_orders"] == 1
    assert "GBP 100.00 of order o8" in results["ben"]["notes"]
    assert results["anna"]["cost_rule"] == "flat 400.00 (terms of 2026-02-10 00:00:00)"
    assert results["ben"]["cost_rule"] == "1 posts × 100.00 + 1 posts × 150.00"
    assert results["cara"]["cost_rule"] == (
        "commission fixed part 5.00 (terms of 2026-02-10 00:00:00)"
        " + 10.0 % of 70.00 + 20.0 % of 40.00"
    )
    assert "[2026-02-01, 2026-02-22)" in results["anna"]["attribution_rule"]


EXPECTED_CREATORS = {
    "anna": {
        "sponsored_posts": 3, "sponsored_engagements": 900, "sponsored_views": 30_000,
        "sponsored_er": d("0.03"), "organic_posts": 3, "organic_er": d("0.02"),
        "paid_performance": d("1.5"), "clicks": 50, "orders": 4, "cancelled_orders": 1,
        "revenue": d("480.00"), "cost": d("400.00"), "cpe": d("0.444444"), "cpc": d("8"),
        "cpa": d("100"), "cpm": d("13.333333"), "roas": d("1.2"), "roi": d("0.2"),
        "roi_rank": 3,
    },
    "ben": {
        "sponsored_posts": 2, "sponsored_engagements": 600, "sponsored_views": None,
        "sponsored_er": d("0.03"), "organic_posts": 1, "organic_er": d("0.01"),
        "paid_performance": d("3"), "clicks": 25, "orders": 4, "cancelled_orders": 0,
        "revenue": d("309.00"), "cost": d("250.00"), "cpe": d("0.416667"), "cpc": d("10"),
        "cpa": d("62.5"), "cpm": None, "roas": d("1.236"), "roi": d("0.236"),
        "roi_rank": 2,
    },
    "cara": {
        "sponsored_posts": 1, "sponsored_engagements": 50, "sponsored_views": None,
        "sponsored_er": d("0.005"), "organic_posts": 0, "organic_er": None,
        "paid_performance": None, "clicks": 0, "orders": 2, "cancelled_orders": 0,
        "revenue": d("110.00"), "cost": d("20.00"), "cpe": d("0.4"), "cpc": None,
        "cpa": d("10"), "cpm": None, "roas": d("5.5"), "roi": d("4.5"),
        "roi_rank": 1,
    },
    "dan": {
        "sponsored_posts": 1, "sponsored_engagements": 2000, "sponsored_views": None,
        "sponsored_er": d("0.2"), "organic_posts": 0, "organic_er": None,
        "paid_performance": None, "clicks": 12, "orders": 0, "cancelled_orders": 0,
        "revenue": d("0.00"), "cost": d("200.00"), "cpe": d("0.1"), "cpc": d("16.666667"),
        "cpa": None, "cpm": None, "roas": d("0"), "roi": d("-1"),
        "roi_rank": 4,
    },
}  # fmt: skip


def test_campaign_totals_and_ranking(spring: Path):
    (row,) = rows_by(spring, "select * from marts.campaign_results", "campaign").values()
    assert {k: row[k] for k in EXPECTED_CAMPAIGN} == EXPECTED_CAMPAIGN
    assert row["ranking"].startswith("1. mastodon:cara (ROI 4.5 = (110.00 - 20.00)")
    assert [part.split(" (")[0] for part in row["ranking"].split("; ")] == [
        "1. mastodon:cara", "2. mastodon:ben", "3. mastodon:anna", "4. mastodon:dan",
    ]  # fmt: skip


EXPECTED_CAMPAIGN = {
    "creators": 4, "sponsored_posts": 7, "sponsored_engagements": 3550,
    "sponsored_views": 30_000, "clicks": 87, "orders": 10, "cancelled_orders": 1,
    "unconverted_orders": 1, "unattributed_orders": 2, "revenue": d("899.00"),
    "cost": d("870.00"), "budget_used": d("0.435"), "roas": d("1.033333"),
    "roi": d("0.033333"), "best_creator": "mastodon:cara",
}  # fmt: skip


def test_next_shortlist_looks_like_the_best_performers(spring: Path):
    shortlist = rows_by(spring, "select * from marts.campaign_shortlist", "account_id")
    assert {a: (r["like_handle"], r["er_ratio"]) for a, r in shortlist.items()} == {
        "eve": ("ben", d("1.285714")),  # 0.03 / (0.07 / 3); anna (rank 3) also fits
        "gil": ("cara", d("1.6")),  # 0.008 / 0.005
    }


CAMPAIGN_MARTS = [
    "marts.campaign_orders",
    "marts.campaign_creator_results",
    "marts.campaign_results",
    "marts.campaign_shortlist",
]


def mart_rows(warehouse: Path, as_of: datetime) -> dict[str, list]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {
            mart: conn.execute(
                f"select * from {mart} where as_of = ? order by all", [as_of]
            ).fetchall()
            for mart in CAMPAIGN_MARTS
        }


def test_mid_campaign_as_of_sees_only_what_was_known_and_reruns_change_nothing(tmp_path: Path):
    """As of 9 February: anna's flat fee is still 300, o5 and the later posts and clicks
    are not there yet; a rerun of that day, and a run of a later one, leave it as it was."""
    world, campaigns = spring_world()
    warehouse = tmp_path / "warehouse.duckdb"
    config = config_with(tmp_path, engagement=EVERY_WINDOW_RATED)
    early = datetime(2026, 2, 9)
    build_campaign_world(world, campaigns, warehouse, config, early)
    results = rows_by(warehouse, "select * from marts.campaign_creator_results", "handle")
    anna = {k: results["anna"][k] for k in ("sponsored_posts", "sponsored_er", "organic_er",
                                             "paid_performance", "clicks", "orders", "revenue",
                                             "cost", "cpc", "roi")}  # fmt: skip
    assert anna == {
        "sponsored_posts": 2, "sponsored_er": d("0.04"), "organic_er": d("0.02"),
        "paid_performance": d("2"), "clicks": 40, "orders": 3, "revenue": d("230.00"),
        "cost": d("300.00"), "cpc": d("7.5"), "roi": d("-0.233333"),
    }  # fmt: skip
    assert results["anna"]["cost_rule"] == "flat 300.00 (terms of 2026-01-15 00:00:00)"
    # the campaign's terms then: the first version, ending on 12 Feb
    assert "[2026-02-01, 2026-02-20)" in results["anna"]["attribution_rule"]
    assert (results["ben"]["per_post_fees"], results["ben"]["orders"]) == (d("100.00"), 1)
    before = mart_rows(warehouse, early)
    settings = RadarSettings()
    with connect(warehouse) as conn:
        run_transforms(conn, settings.sql_dir, config, early)
        run_transforms(conn, settings.sql_dir, config, AS_OF)
    assert mart_rows(warehouse, early) == before
