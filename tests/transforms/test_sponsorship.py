"""Issue #18: sponsored posts. Disclosure hashtags and phrases (config/sponsorship.yaml)
per platform and language, false friends that must not match, the platforms' own flags,
and the off switch; hand-built worlds on a real DuckDB file, each expectation below."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from tests.helpers.core_builder import World, build_and_transform, config_with, insert_rows
from tests.helpers.feed_builder import page_line, write_pages
from tests.helpers.warehouse_helpers import query, run_pipeline
from transforms.config import ConfigError, load_sponsorship
from transforms.runner import run_transforms

AS_OF = datetime(2026, 3, 1)
DAY = datetime(2026, 2, 20)

# (platform, language, text, hashtags, evidence): evidence [] = not sponsored
CASES = [
    # English, every platform: hashtags as each platform lists them, phrases in the text
    ("mastodon", "en", "New loaf recipe", ["ad", "sourdough"], ["hashtag:#ad"]),
    ("bluesky", "en", "Loving this oven #Sponsored", ["sponsored"], ["hashtag:#sponsored"]),
    (
        "youtube",
        "en-US",
        "Oven review. Paid partnership with Ovenly.",
        [],
        ["phrase:paid partnership"],
    ),
    (
        "instagram",
        None,
        "In collaboration with @ovenly: my new bakes",
        [],
        ["phrase:in collaboration with"],
    ),
    (
        "tiktok",
        None,
        "Sponsored by Ovenly! #gifted #baking",
        ["gifted", "baking"],
        ["hashtag:#gifted", "phrase:sponsored by"],
    ),
    # German
    # a hashtag is a word of the text too: with no language on record, the German
    # one-word phrases match it as well
    (
        "instagram",
        None,
        "Neues Rezept #anzeige #werbung",
        ["anzeige", "werbung"],
        ["hashtag:#anzeige", "hashtag:#werbung", "phrase:anzeige", "phrase:werbung"],
    ),
    ("mastodon", "en", "New oven #Werbung", ["werbung"], ["hashtag:#werbung"]),
    ("mastodon", "de", "Werbung | Mein neuer Ofen von Ovenly", [], ["phrase:werbung"]),
    (
        "bluesky",
        "de",
        "In bezahlter Partnerschaft? Nein: bezahlte Partnerschaft mit Ovenly",
        [],
        ["phrase:bezahlte partnerschaft"],
    ),
    ("youtube", "de", "Unbezahlte Werbung: mein Lieblingsofen", [], []),
    ("mastodon", "en", "Werbung is the German word for advertising", [], []),
    # Spanish
    ("tiktok", None, "Receta nueva #publi #masamadre", ["publi", "masamadre"], ["hashtag:#publi"]),
    (
        "mastodon",
        "es",
        "Publicidad: colaboración pagada con Ovenly",
        [],
        ["phrase:colaboración pagada", "phrase:publicidad"],
    ),
    ("bluesky", "es", "Este horno no patrocinado por nadie", [], []),
    # upper case and decomposed (NFD) accents: found as the NFC lowercase phrase
    ("bluesky", "es", "COLABORACIO\u0301N PAGADA con Ovenly", [], ["phrase:colaboración pagada"]),
    # Portuguese and French
    (
        "instagram",
        None,
        "Pão novo em parceria com a Ovenly #publicidade",
        ["publicidade"],
        ["hashtag:#publicidade", "phrase:em parceria com", "phrase:publicidade"],
    ),
    ("mastodon", "fr", "Nouvelle recette #pub #levain", ["pub", "levain"], ["hashtag:#pub"]),
    ("mastodon", "fr-CA", "Partenariat rémunéré avec Ovenly", [], ["phrase:partenariat rémunéré"]),
    ("mastodon", "en", "Best #pub in town", ["pub"], []),
    # a language code that is no tag counts as none: every term applies
    ("bluesky", "1337", "Neuer Ofen. Werbung", [], ["phrase:werbung"]),
    # false friends
    ("instagram", None, "Weekend #adventure in my #adidas", ["adventure", "adidas"], []),
    ("mastodon", "en", "An ad hoc bake, road trip snacks, add salt", [], []),
    ("bluesky", "en", "#ADHD baking tips #ads", ["adhd", "ads"], []),
    ("youtube", "en", "Shop: https://example.com/ad/sponsored-by?ref=paid-partnership", [], []),
    (
        "mastodon",
        "en",
        "#publicity stunts of #notsponsored bakers",
        ["publicity", "notsponsored"],
        [],
    ),
    ("mastodon", "en", "This is not sponsored by anyone", [], []),
    ("mastodon", "en", "Not an ad, not sponsored by anyone", [], []),
    ("mastodon", "en", "Thanks @sponsored_by_ovenly for the tip", [], []),
]


def _world(cases=CASES) -> World:
    world = World()
    accounts = {}
    for i, (platform, language, text, tags, _) in enumerate(cases):
        account = accounts.setdefault(platform, f"{platform}-baker")
        if len(accounts) > len(world.accounts):
            world.account(account, platform=platform)
            world.snapshot(account, datetime(2026, 1, 1), 20_000, platform=platform)
        world.post(
            account, f"p{i}", DAY + timedelta(hours=i), text, hashtags=tags, platform=platform
        )
        world.posts[-1]["language"] = language
    return world


def _sponsorship(warehouse: Path) -> dict[str, tuple]:
    return {
        post_id: (evidence, flagged, text)
        for post_id, evidence, flagged, text in query(
            warehouse,
            """select post_id, evidence, is_platform_flagged, is_text_disclosed
               from intermediate.int_post_sponsorship""",
        )
    }


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


def test_disclosures_per_platform_and_language_and_no_false_friends(
    warehouse: Path, tmp_path: Path
):
    build_and_transform(_world(), warehouse, config_with(tmp_path), AS_OF)
    found = _sponsorship(warehouse)
    expected = {f"p{i}": evidence for i, (*_, evidence) in enumerate(CASES) if evidence}
    assert {p: sorted(e) for p, (e, _, _) in found.items()} == expected
    assert {(f, t) for _, f, t in found.values()} == {(False, True)}
    # every platform has a sponsored post and a post that is not
    platforms = {case[0] for case in CASES}
    assert {CASES[int(p[1:])][0] for p in found} == platforms


def _edit_sponsorship(config: Path, change) -> None:
    path = config / "sponsorship.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _empty_lists(data: dict) -> None:
    for group in data["terms"].values():
        group.update(hashtags=[], phrases=[])


@pytest.mark.parametrize(
    "switch_off",
    [lambda d: d.update(enabled=False), _empty_lists],
    ids=["enabled-false", "empty-lists"],
)
def test_switched_off_or_empty_nothing_matches_but_a_platform_flag(
    warehouse: Path, tmp_path: Path, switch_off
):
    config = config_with(tmp_path)
    _edit_sponsorship(config, switch_off)
    world = _world()
    world.post("youtube-baker", "flagged", DAY, "Oven review", platform="youtube")
    settings = RadarSettings()
    with connect(warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        insert_rows(conn, "core.post_disclosures", [_flag("flagged", True)])
    build_and_transform(world, warehouse, config, AS_OF)
    assert _sponsorship(warehouse) == {
        "flagged": (["platform:paid_product_placement"], True, False)
    }


def _flag(post_id: str, disclosed: bool, at: datetime = DAY) -> dict:
    return {
        "platform": "youtube",
        "post_id": post_id,
        "kind": "paid_product_placement",
        "disclosed": disclosed,
        "first_seen_at": at,
        "observed_at": at,
    }


def test_platform_flags_join_the_text_evidence_and_a_flag_taken_off_counts_no_more(
    warehouse: Path, tmp_path: Path
):
    world = World()
    world.account("yt", platform="youtube")
    world.post("yt", "both", DAY, "Oven review #ad", hashtags=["ad"], platform="youtube")
    world.post("yt", "flag-only", DAY, "Oven review", platform="youtube")
    world.post("yt", "taken-off", DAY, "Oven review", platform="youtube")
    world.post("yt", "organic", DAY, "Oven review", platform="youtube")
    with connect(warehouse) as conn:
        apply_schema(conn, RadarSettings().sql_dir)
        insert_rows(
            conn,
            "core.post_disclosures",
            [
                _flag("both", True),
                _flag("flag-only", True),
                _flag("taken-off", False),
                _flag("organic", False),
            ],
        )
    build_and_transform(world, warehouse, config_with(tmp_path), AS_OF)
    assert _sponsorship(warehouse) == {
        "both": (["platform:paid_product_placement", "hashtag:#ad"], True, True),
        "flag-only": (["platform:paid_product_placement"], True, False),
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["terms"]["any"]["phrases"].append("ad"), "under 4 letters"),
        (lambda d: d["terms"]["any"]["hashtags"].append("paid partnership"), "one tag"),
        (lambda d: d["terms"].update(German={"phrases": ["werbung"]}), "language code"),
        (lambda d: d["terms"]["any"]["phrases"].append("#paid partnership"), "matched as"),
        (lambda d: d["exclude_phrases"].append("www.example.com/ad"), "reads as a link"),
        (lambda d: d.update(enable=True), "enable"),
    ],
    ids=["short-phrase", "tag-with-blank", "language-name", "tag-as-phrase", "link", "typo"],
)
def test_a_bad_sponsorship_config_names_the_file_and_the_problem(tmp_path: Path, change, message):
    config = config_with(tmp_path)
    assert load_sponsorship(config).enabled
    _edit_sponsorship(config, change)
    with pytest.raises(ConfigError, match=f"(?s)sponsorship\\.yaml.*{message}"):
        load_sponsorship(config)


def test_an_edit_replaces_a_posts_evidence_and_a_new_term_rebuilds_the_hits(
    warehouse: Path, tmp_path: Path
):
    """Incremental: a post edited to drop its disclosure loses its row, one edited to add
    one gains it, one that became a reply loses it; a term added to the config (#ads)
    applies to posts loaded before."""
    config = config_with(tmp_path)
    world = World()
    world.account("m")
    world.post("m", "dropped", DAY, "Sponsored by Ovenly")
    world.post("m", "added", DAY, "My oven")
    world.post("m", "replied", DAY, "Sponsored by Ovenly")
    world.post("m", "plural", DAY, "Marketing tips #ads", hashtags=["ads"])
    build_and_transform(world, warehouse, config, AS_OF)
    assert set(_sponsorship(warehouse)) == {"dropped", "replied"}

    later = DAY + timedelta(days=1)
    with connect(warehouse) as conn:
        for post_id, text, kind in (
            ("dropped", "My oven", "original"),
            ("added", "My oven, sponsored by Ovenly", "original"),
            ("replied", "Sponsored by Ovenly", "reply"),
        ):
            # as the loader merges a newer observation: the row replaced, a new load_id
            conn.execute(
                """update core.posts set text = ?, kind = ?, observed_at = ?,
                       load_id = nextval('meta.load_seq')
                   where post_id = ?""",
                [text, kind, later, post_id],
            )
        run_transforms(conn, RadarSettings().sql_dir, config, AS_OF)
    assert _sponsorship(warehouse) == {"added": (["phrase:sponsored by"], False, True)}

    _edit_sponsorship(config, lambda d: d["terms"]["any"]["hashtags"].append("ads"))
    with connect(warehouse) as conn:
        run_transforms(conn, RadarSettings().sql_dir, config, AS_OF)
    assert set(_sponsorship(warehouse)) == {"added", "plural"}


# --- YouTube's flag end to end: recorded answers → mapping → landing → load → model ------

YT = "https://www.googleapis.com/youtube/v3/videos"
CHANNEL = "UCoven" + "O" * 18


def _videos_page(fetched: datetime, flag: bool | None) -> str:
    def item(video_id: str, title: str, placement: dict | None) -> dict:
        body = {
            "kind": "youtube#video",
            "id": video_id,
            "snippet": {
                "publishedAt": "2026-11-18T17:00:00Z",
                "channelId": CHANNEL,
                "title": title,
                "defaultAudioLanguage": "en",
            },
            "statistics": {"viewCount": "900", "likeCount": "40", "commentCount": "3"},
        }
        if placement is not None:
            body["paidProductPlacementDetails"] = placement
        return body

    placement = None if flag is None else {"hasPaidProductPlacement": flag}
    items = [
        item("ovenReview1", "My new oven", placement),
        item("plainBake01", "Rye loaf", {"hasPaidProductPlacement": False}),
    ]
    parts = "snippet%2Cstatistics%2CpaidProductPlacementDetails"
    url = f"{YT}?part={parts}&id=ovenReview1%2CplainBake01"
    return page_line(url, fetched, {"kind": "youtube#videoListResponse", "items": items})


def test_youtubes_flag_is_loaded_once_and_the_newest_answer_wins(
    tmp_path: Path, radar_env: Path, monkeypatch: pytest.MonkeyPatch
):
    feed = tmp_path / "feed"
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(config_with(tmp_path)))
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_PLATFORMS", '["youtube"]')
    first_day, fetched = datetime(2026, 11, 20), datetime(2026, 11, 20, 6)
    write_pages(feed, "youtube", "videos", "2026-11-20", "videos", [_videos_page(fetched, True)])
    warehouse = RadarSettings().warehouse
    flags = "select post_id, kind, disclosed, load_id is not null from core.post_disclosures"

    run_pipeline(first_day, first_day + timedelta(days=1))
    once = sorted(query(warehouse, flags))
    assert once == [
        ("ovenReview1", "paid_product_placement", True, True),
        ("plainBake01", "paid_product_placement", False, True),
    ]
    assert _sponsorship(warehouse) == {
        "ovenReview1": (["platform:paid_product_placement"], True, False)
    }
    # a rerun of the day lands the same rows again: the table is as one run left it
    run_pipeline(first_day, first_day + timedelta(days=1), run_id="manual__rerun")
    assert sorted(query(warehouse, flags)) == once

    # the next day the creator has taken the flag off; a day later the part is missing
    # (unknown): the false stays
    second_day = first_day + timedelta(days=1)
    write_pages(
        feed,
        "youtube",
        "videos",
        "2026-11-21",
        "videos",
        [_videos_page(datetime(2026, 11, 21, 6), False)],
    )
    run_pipeline(second_day, second_day + timedelta(days=1), run_id="manual__day2")
    third_day = second_day + timedelta(days=1)
    write_pages(
        feed,
        "youtube",
        "videos",
        "2026-11-22",
        "videos",
        [_videos_page(datetime(2026, 11, 22, 6), None)],
    )
    run_pipeline(third_day, third_day + timedelta(days=1), run_id="manual__day3")
    assert query(
        warehouse,
        """select disclosed, first_seen_at, observed_at from core.post_disclosures
           where post_id = 'ovenReview1'""",
    ) == [(False, fetched, datetime(2026, 11, 21, 6))]
    assert _sponsorship(warehouse) == {}


def test_the_demo_feed_flags_one_youtube_video(demo_run):
    """fixtures/demo/MANIFEST.md, case 12: one video of 19 carries YouTube's flag."""
    assert demo_run.states == ("success", "success")
    flags = query(
        demo_run.warehouse,
        "select count(*), count(*) filter (where disclosed) from core.post_disclosures",
    )
    assert flags == [(19, 1)]
    rows = query(
        demo_run.warehouse,
        """select platform, post_id, evidence, is_platform_flagged
           from intermediate.int_post_sponsorship where platform = 'youtube'""",
    )
    assert rows == [("youtube", "tr4i06Vd2xQ", ["platform:paid_product_placement"], True)]


def test_account_sponsorship_counts_the_own_posts_that_count_at_as_of(
    warehouse: Path, tmp_path: Path
):
    """20 000 followers; of the own posts of 30 days, two are sponsored (ER 2 % and 1 %)
    and two organic (0.5 % and 1.5 %). A sponsored reply, a sponsored post 40 days old and
    one deleted before as_of do not count."""
    world = World()
    world.account("baker")
    world.snapshot("baker", datetime(2026, 1, 1), 20_000)
    day = AS_OF - timedelta(days=10)
    world.post("baker", "ad", day, "New oven #ad", hashtags=["ad"], likes=400)
    world.post("baker", "sponsored", day + timedelta(days=2), "Sponsored by Ovenly", likes=200)
    world.post("baker", "rye", day, "Rye loaf", likes=100)
    world.post("baker", "spelt", day + timedelta(days=1), "Spelt loaf", likes=300)
    world.post("baker", "reply", day, "@fan sponsored by Ovenly", kind="reply", likes=900)
    world.post("baker", "old", AS_OF - timedelta(days=40), "#ad", hashtags=["ad"], likes=900)
    world.post("baker", "gone", day, "#ad", hashtags=["ad"], likes=900)
    world.delete("gone", AS_OF - timedelta(days=1))
    build_and_transform(world, warehouse, config_with(tmp_path), AS_OF)
    (row,) = query(
        warehouse,
        """select own_posts_30d, sponsored_posts_30d, platform_flagged_posts_30d,
                  sponsored_share_30d, last_sponsored_at, sponsored_engagement_rate_30d_mean,
                  organic_engagement_rate_30d_mean
           from marts.account_sponsorship where as_of = ? and account_id = 'baker'""",
        [AS_OF],
    )
    assert row[:5] == (4, 2, 0, 0.5, day + timedelta(days=2))
    assert row[5:] == (pytest.approx(0.015), pytest.approx(0.01))
