"""Issue #21, finding 7: a keyword inside a mention, an address or a link is no hit; a
Bluesky post's time is the earlier of its createdAt and indexedAt. Hand-built worlds on
real DuckDB, every expected value worked out below."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from radar.settings import RadarSettings
from tests.helpers.core_builder import World, build_and_transform, config_with
from tests.helpers.feed_builder import iso, page_line, write_pages
from tests.helpers.warehouse_helpers import query, run_pipeline
from transforms.config import _word_form

AS_OF = datetime(2026, 3, 1)
EVERY_WINDOW_RATED = {"min_own_posts": {7: 1, 30: 1, 90: 1}}


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture(scope="module")
def word_text():
    """``config.word_text`` as the runner creates it (every file of sql/macros; the
    settings table that ``config.setting`` reads is empty here)."""
    conn = duckdb.connect()
    conn.execute("create schema config")
    conn.execute("create table config.settings (name varchar, value double)")
    for path in sorted((RadarSettings().sql_dir / "macros").glob("*.sql")):
        conn.execute(path.read_text())
    yield lambda text: conn.execute("select config.word_text(?)", [text]).fetchone()[0]
    conn.close()


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("@emeka_seedlings sent seedlings", " sent seedlings "),
        ("thanks @Emeka_Seedlings!", " thanks "),
        ("cc @monstera@plants.social, @pothos-pal.bsky.social.", " cc "),
        ("ask hello@seedlings.example or @ＳＥＥＤＬＩＮＧＳ", " ask or "),
        ("see https://seedlings.example/grow?a=1 or HTTPS://Seedlings.example/#x", " see or "),
        ("at://did:plc:x/app.bsky.feed.post/3k\u00a0seedlings", " seedlings "),
        # what stays: hashtags, words next to an @ that names nobody, dotted words
        (
            "#Seedlings @ home, seedlings@ node.js e.g. 3.5/5",
            " seedlings home seedlings node js e g 3 5 5 ",
        ),
        ("🌱seedlings", " seedlings "),
        (None, "  "),
    ],
)
def test_word_text_drops_mentions_addresses_and_links(word_text, text, words):
    assert word_text(text) == words


def test_terms_come_out_as_config_py_reads_them(word_text):
    """No niche keyword or brand term can hold a mention or a link (config.py refuses @
    and :), so the SQL and its Python twin agree on every shipped term."""
    config = RadarSettings().config_dir
    niches = yaml.safe_load((config / "niches.yaml").read_text())["niches"]
    brands = yaml.safe_load((config / "brands.yaml").read_text())["brands"]
    terms = [t for niche in niches.values() for t in niche.get("keywords", [])]
    terms += [
        t
        for b in brands.values()
        for t in b.get("must_have_terms", []) + b.get("excluded_terms", [])
    ]
    terms += ["node.js", "www.example/path", "it's", "plant-based/vegan"]
    assert len(terms) > 40
    for term in terms:
        assert word_text(term).strip() == _word_form(term), term


def _references_world() -> World:
    """Two houseplant-ish accounts, 20 000 followers each, four own posts in 30 days.

    ``ref`` names houseplant keywords only inside mentions, an address and links: no hit.
    ``own`` says them itself, next to mentions: 3 of its 4 posts are in the niche."""
    world = World()
    for account in ("ref", "own"):
        world.account(account)
        world.snapshot(account, datetime(2026, 1, 1), 20_000)
    ref_posts = [
        "Big thanks to @monstera_mum for the cutting!",
        "cc @pothos@plants.social and @repotting-help.bsky.social",
        "Care guide: https://example.com/monstera-care or https://plants.example/pothos",
        "Questions? Write to monstera@example.org or hi @Sourdough_Sam",
    ]
    for i, text in enumerate(ref_posts):
        world.post("ref", f"ref-{i}", datetime(2026, 2, 10 + i), text, likes=100)
    world.post("own", "own-0", datetime(2026, 2, 10), "@monstera_mum my monstera has a new leaf")
    world.post("own", "own-1", datetime(2026, 2, 11), "Repotting day with @pothos@plants.social")
    # the hashtag still counts, the handle next to it does not
    world.post("own", "own-2", datetime(2026, 2, 12), "Look, @pothos_fan!", hashtags=["monstera"])
    world.post("own", "own-3", datetime(2026, 2, 13), "Coffee first")
    return world


def test_keywords_in_mentions_addresses_and_links_are_no_hits(warehouse: Path, tmp_path: Path):
    config = config_with(tmp_path, engagement=EVERY_WINDOW_RATED)
    build_and_transform(_references_world(), warehouse, config, AS_OF)

    hits = {}
    for post_id, kind, scope, term in query(
        warehouse,
        "select post_id, hit_kind, scope, matched_term from intermediate.int_post_term_hits",
    ):
        hits.setdefault(post_id, set()).add((kind, scope, term))
    none = {("none", None, None)}
    # monstera, pothos, repotting (niche) and sourdough (a brand's must-have term) are
    # each named only inside a mention, an address or a link
    assert {p: h for p, h in hits.items() if p.startswith("ref")} == {
        f"ref-{i}": none for i in range(4)
    }
    assert {p: h for p, h in hits.items() if p.startswith("own")} == {
        "own-0": {("niche", "houseplants", "monstera")},
        "own-1": {("niche", "houseplants", "repotting")},
        "own-2": {("niche", "houseplants", "#monstera")},
        "own-3": none,
    }

    niches = {
        account: rest
        for account, *rest in query(
            warehouse,
            """select account_id, niche_posts_30d, own_posts_30d, niche_share
               from marts.account_niches where niche = 'houseplants'""",
        )
    }
    assert niches == {"ref": [0, 4, 0.0], "own": [3, 4, 0.75]}
    # no niche: no candidate row for ref (own is one, at share 3/4)
    candidates = query(
        warehouse,
        "select account_id from marts.candidates where scope = 'houseplants'",
    )
    assert candidates == [("own",)]


# --- Bluesky post time, end to end: recorded pages → mapping → load → marts -------------

BSKY = "https://public.api.bsky.app/xrpc"
DID = "did:plc:alice"
START, BSKY_AS_OF = datetime(2026, 11, 1), datetime(2026, 11, 21)  # 30 days from 10-22
FETCHED = datetime(2026, 11, 20, 6)


def _bsky_post(rkey: str, text: str, created: str | None, indexed: datetime, likes: int) -> dict:
    record = {"$type": "app.bsky.feed.post", "text": text, "langs": ["en"]}
    if created is not None:
        record["createdAt"] = created
    return {
        "post": {
            "uri": f"at://{DID}/app.bsky.feed.post/{rkey}",
            "cid": "bafy",
            "author": {"did": DID, "handle": "alice.bsky.social"},
            "record": record,
            "replyCount": 0,
            "repostCount": 0,
            "likeCount": likes,
            "quoteCount": 0,
            "indexedAt": iso(indexed),
        }
    }


def _bluesky_feed(feed: Path) -> None:
    profile = {
        "did": DID,
        "handle": "alice.bsky.social",
        "followersCount": 20_000,
        "followsCount": 100,
        "postsCount": 50,
    }
    write_pages(
        feed,
        "bluesky",
        "get_profiles",
        "2026-11-20",
        "profiles",
        [
            page_line(
                f"{BSKY}/app.bsky.actor.getProfiles?actors={DID}", FETCHED, {"profiles": [profile]}
            )
        ],
    )
    items = [
        # made and indexed last week: in the window, 200 / 20 000
        _bsky_post(
            "fresh",
            "Monstera leaf",
            "2026-11-18T10:00:00.000Z",
            datetime(2026, 11, 18, 10, 0, 1),
            200,
        ),
        # an archive import: written in 2023, indexed yesterday; in no window
        _bsky_post(
            "import",
            "Monstera from the archive",
            "2023-05-02T14:22:19.211Z",
            datetime(2026, 11, 19),
            9_000,
        ),
        # a client clock a year ahead cannot post-date it: it counts when indexed
        _bsky_post("ahead", "Repotting", "2027-11-15T00:00:00.000Z", datetime(2026, 11, 15), 400),
        # Go's zero time names no moment: it counts when indexed
        _bsky_post("zero", "Pothos cutting", "0001-01-01T00:00:00Z", datetime(2026, 11, 10), 600),
        # createdAt three weeks before indexing: in the 30 days by createdAt (10-25), and
        # not in the last 7 days although indexed on 11-16; and "pothos" only in a mention
        _bsky_post(
            "late",
            "Thanks @pothos-pal.bsky.social!",
            "2026-10-25T00:00:00.000Z",
            datetime(2026, 11, 16),
            800,
        ),
    ]
    write_pages(
        feed,
        "bluesky",
        "get_author_feed",
        "2026-11-20",
        "alice",
        [page_line(f"{BSKY}/app.bsky.feed.getAuthorFeed?actor={DID}", FETCHED, {"feed": items})],
    )


def test_bluesky_backdated_post_is_outside_the_windows(
    tmp_path: Path, radar_env: Path, monkeypatch: pytest.MonkeyPatch
):
    feed = tmp_path / "feed"
    _bluesky_feed(feed)
    monkeypatch.setenv(
        "RADAR_CONFIG_DIR", str(config_with(tmp_path, engagement=EVERY_WINDOW_RATED))
    )
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_PLATFORMS", '["bluesky"]')
    run_pipeline(START, BSKY_AS_OF)
    warehouse = RadarSettings().warehouse

    times = dict(
        query(warehouse, "select split_part(post_id, '/', -1), created_at from core.posts")
    )
    assert times == {
        "fresh": datetime(2026, 11, 18, 10),
        "import": datetime(2023, 5, 2, 14, 22, 19, 211000),
        "ahead": datetime(2026, 11, 15),
        "zero": datetime(2026, 11, 10),
        "late": datetime(2026, 10, 25),
    }
    windows = {
        post.rsplit("/", 1)[-1]: (in_7d, in_30d)
        for post, in_7d, in_30d in query(
            warehouse, "select post_id, in_7d, in_30d from intermediate.int_own_posts"
        )
    }
    assert windows == {
        "fresh": (True, True),
        "ahead": (True, True),
        "zero": (False, True),
        "late": (False, True),
    }
    (row,) = query(
        warehouse,
        """select own_posts_7d, own_posts_30d, own_posts_90d, engagement_rate_30d_mean
           from marts.account_engagement""",
    )
    assert row[:3] == (2, 4, 4)
    assert row[3] == pytest.approx((200 + 400 + 600 + 800) / 4 / 20_000)
    (niche,) = query(
        warehouse,
        """select niche_posts_7d, niche_posts_30d, niche_posts_90d, niche_share
           from marts.account_niches where niche = 'houseplants'""",
    )
    # fresh (monstera), ahead (repotting), zero (pothos); late only mentions pothos-pal
    assert niche == (2, 3, 3, 0.75)
