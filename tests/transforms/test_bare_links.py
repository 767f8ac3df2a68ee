"""A link without a scheme is no words (issue #21, finding 7a, its remainder): a niche
keyword inside ``shop.example.com/vegan-recipes``, ``www.example.org/lentils`` or the
Bluesky app's shortened ``example.com/vegan-rec...`` is no hit, while dotted words and a
missing blank after a full stop ("lentils.Tonight") keep their words. ``config.py`` reads
terms the same way (``_word_form``) and refuses a term shaped like a link. Real DuckDB."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from pydantic import ValidationError

from radar.settings import RadarSettings
from tests.helpers.core_builder import World, build_and_transform, config_with
from tests.helpers.warehouse_helpers import query
from transforms.config import Niche, _word_form

AS_OF = datetime(2026, 3, 1)


@pytest.fixture(scope="module")
def word_text():
    """``config.word_text`` as the runner creates it (every file of sql/macros)."""
    conn = duckdb.connect()
    conn.execute("create schema config")
    conn.execute("create table config.settings (name varchar, value double)")
    for path in sorted((RadarSettings().sql_dir / "macros").glob("*.sql")):
        conn.execute(path.read_text())
    yield lambda text: conn.execute("select config.word_text(?)", [text]).fetchone()[0]
    conn.close()


LINKS = [
    ("shop.example.com/vegan-recipes tonight", " tonight "),
    ("see www.example.org/lentils!", " see "),
    ("www.Lentils.org and more", " and more "),
    ("(www.example.org/lentils) tofu", " tofu "),
    ("x,www.vegan.org", " x "),
    # the Bluesky app's link text: host and a shortened path
    ("recipe: example.com/vegan-rec... so good", " recipe so good "),
    ("bsky.app/profile/lentil.bsky.social says", " says "),
    ("kochbuch.de/vegane-küche/linsen", "  "),
    ("WWW.EXAMPLE.ORG", "  "),
]

WORDS = [
    ("lentils.Tonight we eat", " lentils tonight we eat "),
    ("node.js e.g. 3.5/5 stars", " node js e g 3 5 5 stars "),
    ("a.m./p.m. and/or 24/7 km/h", " a m p m and or 24 7 km h "),
    ("U.S./Canada vegan/vegetarian", " u s canada vegan vegetarian "),
    ("1.5kg/day of lentils", " 1 5kg day of lentils "),
    ("awww.cute lentils.www.tips", " awww cute lentils www tips "),
    ("vegan-recipes.com", " vegan recipes com "),  # a host alone: words (the known limit)
]


@pytest.mark.parametrize(("text", "words"), LINKS, ids=[t for t, _ in LINKS])
def test_links_without_a_scheme_are_no_words(word_text, text, words):
    assert word_text(text) == words


@pytest.mark.parametrize(("text", "words"), WORDS, ids=[t for t, _ in WORDS])
def test_dotted_and_slashed_words_stay_words(word_text, text, words):
    assert word_text(text) == words


@pytest.mark.parametrize(("text", "words"), LINKS + WORDS, ids=[t for t, _ in LINKS + WORDS])
def test_config_py_reads_them_as_word_text_does(word_text, text, words):
    """The Python twin agrees with the macro on text without mentions (a term's shape)."""
    assert _word_form(text) == words.strip() == word_text(text).strip()


@pytest.mark.parametrize(
    "term", ["shop.example.com/vegan", "www.lentils.org", "vegan www.example.org"]
)
def test_a_term_shaped_like_a_link_is_refused(term):
    with pytest.raises(ValidationError, match="reads as a link"):
        Niche(label="Plant-based cooking", keywords=[term])


def test_dotted_terms_still_read():
    assert Niche(label="x", keywords=["node.js", "plant-based/vegan"]).keywords == [
        "node.js",
        "plant-based/vegan",
    ]


def test_niche_words_in_bare_links_are_no_hits(tmp_path: Path):
    """``links`` names plant-based keywords only inside bare links: no hit, no niche
    share. ``said`` says them itself, once without a blank after the full stop."""
    world = World()
    for account in ("links", "said"):
        world.account(account)
        world.snapshot(account, datetime(2026, 1, 1), 20_000)
    link_posts = [
        "New on the blog: shop.example.com/vegan-recipes",
        "Grab the recipe at www.example.org/lentils",
        "example.com/tofu-tempeh-bowl... worth it",
        "Dinner ideas www.chickpeas.example",
    ]
    said_posts = [
        "Cooking lentils.Tonight it is tofu",
        "Tempeh bowl, recipe: www.example.org/dinner",
        "A walk in the park",
        "node.js/deno users: try seitan",
    ]
    for i, text in enumerate(link_posts):
        world.post("links", f"links-{i}", datetime(2026, 2, 10 + i), text, likes=100)
    for i, text in enumerate(said_posts):
        world.post("said", f"said-{i}", datetime(2026, 2, 10 + i), text, likes=60)
    config = config_with(tmp_path, engagement={"min_own_posts": {7: 1, 30: 1, 90: 1}})
    warehouse = tmp_path / "warehouse.duckdb"
    build_and_transform(world, warehouse, config, AS_OF)

    hits = {}
    for post_id, term in query(
        warehouse,
        """select post_id, matched_term from intermediate.int_post_term_hits
           where hit_kind = 'niche' and scope = 'plant_based_cooking'""",
    ):
        hits.setdefault(post_id, set()).add(term)
    # node.js/deno reads as a link (js could be a top-level domain), the price of telling
    # shortened links by their shape; the words after its blank count
    assert hits == {"said-0": {"lentils", "tofu"}, "said-1": {"tempeh"}, "said-3": {"seitan"}}
    shares = query(
        warehouse,
        """select account_id, niche_posts_30d, niche_share from marts.account_niches
           where niche = 'plant_based_cooking' order by 1""",
    )
    assert shares == [("links", 0, 0.0), ("said", 3, 0.75)]
