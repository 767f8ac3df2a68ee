"""Discovery spends itself on new accounts only (issue #21, finding 5).

An account that ``config/sources.yaml`` lists, by any key its platform has (a Mastodon
``user@instance`` in any case, with or without a leading ``@``; a Bluesky handle while
discovery sees its DID; a YouTube ``@handle`` while discovery sees its channel id), is
tracked already, even before its first ingest: discovery neither queues it (so it takes
no niche's room), nor relabels it ``discovery:…``, nor makes live ingest walk it a second
time under its other key. And discovery searches each niche's first terms in the order
``config/niches.yaml`` lists them.

Real runs (``ingest.runs``: plan, extract, load, queue) on recorded pages, into a real
DuckDB warehouse; live ingest is planned for real (``RADAR_SOURCE=live``), not fetched.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml

from ingest import runs
from ingest.connector import LiveBatch, TaskContext
from ingest.discovery import niche_terms
from radar.settings import RadarSettings
from radar.warehouse import connect
from tests.helpers.feed_builder import mastodon_account, mastodon_status, page_line, write_pages
from tests.helpers.warehouse_helpers import query

ROOT = Path(__file__).resolve().parents[2]
# yesterday: recent enough for live ingest to plan it (the backfill horizon)
DAY = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0) - (
    timedelta(days=1)
)
END = DAY + timedelta(days=1)
FETCHED = DAY + timedelta(hours=6)
DT = DAY.date().isoformat()
INSTANCE = "greens.social"
YT = "https://www.googleapis.com/youtube/v3"
XRPC = "https://public.api.bsky.app/xrpc"


def configure(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    platform: str,
    tracked: dict[str, list[str]],
    cap: int,
    niches: dict | None = None,
) -> Path:
    """A config dir (the project's, with these tracked accounts and this cap), a feed dir
    and the settings pointing at them; returns the feed dir."""
    config, feed = tmp_path / "config", tmp_path / "feed"
    shutil.copytree(ROOT / "config", config)
    feed.mkdir()
    sources = yaml.safe_load((config / "sources.yaml").read_text())
    for name, accounts in tracked.items():
        field = {"mastodon": "accounts", "bluesky": "actors", "youtube": "channels"}[name]
        sources[name][field] = accounts
    sources["discovery"]["max_new_accounts_per_niche"] = cap
    (config / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True))
    if niches is not None:
        (config / "niches.yaml").write_text(
            yaml.safe_dump({"niches": niches}, allow_unicode=True, sort_keys=False)
        )
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_PLATFORMS", f'["{platform}"]')
    monkeypatch.setenv("RADAR_SOURCE", "fixture")
    return feed


def run_discovery() -> int:
    """niche_discovery's steps for DAY: plan, discover, load, queue."""
    for i, batch in enumerate(runs.plan_discovery(DAY, END)):
        runs.extract(batch, TaskContext(DAY, END, "discovery", f"discover-{i}"))
    runs.load("discovery", "niche_discovery", DAY, END)
    return runs.queue_discovered("discovery", END)


def run_ingest() -> None:
    """social_ingest's extract and load for DAY, on the recorded pages."""
    for i, batch in enumerate(runs.plan_extract(DAY, END)):
        runs.extract(batch, TaskContext(DAY, END, "ingest", f"extract-{i}"))
    runs.load("ingest", "social_ingest", DAY, END)


def walked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the next live social_ingest would walk: its real plan, nothing fetched."""
    monkeypatch.setenv("RADAR_SOURCE", "live")
    batches = runs.plan_extract(DAY, END)
    monkeypatch.setenv("RADAR_SOURCE", "fixture")
    assert all(isinstance(b, LiveBatch) for b in batches)
    return [a for b in batches for a in b.accounts]


def queue() -> list[tuple]:
    return query(
        RadarSettings().warehouse,
        "select account_id, niche from meta.tracking_queue order by account_id",
    )


def labels() -> dict[str, str]:
    rows = query(RadarSettings().warehouse, "select account_id, discovered_via from core.accounts")
    return dict(rows)


# --- Mastodon: tracked as user@instance, in any case, with a leading @ ---


def mastodon_feed(feed: Path) -> None:
    people = {
        "alice": mastodon_account("alice", INSTANCE, 40_000, local_id="1"),  # tracked
        "bob": mastodon_account("bob", INSTANCE, 20_000, local_id="2"),
        "carol": mastodon_account("carol", INSTANCE, 15_000, local_id="3"),
        "dan": mastodon_account("dan", INSTANCE, 60_000, local_id="4"),
    }

    def timeline(tag: str, users: list[str], n: int) -> str:
        statuses = [
            mastodon_status(people[u], INSTANCE, f"{n}{i}", FETCHED, f"#{tag}", tags=[tag])
            for i, u in enumerate(users)
        ]
        # read an hour apart: an account's latest term is the second timeline's
        at = FETCHED + timedelta(hours=n)
        return page_line(f"https://{INSTANCE}/api/v1/timelines/tag/{tag}", at, statuses)

    write_pages(
        feed,
        "mastodon",
        "tag_timeline",
        DT,
        "plants",
        [
            timeline("vegan", ["alice", "bob", "carol", "dan"], 0),
            timeline("plantbased", ["alice", "carol"], 1),
        ],
    )
    # what social_ingest reads: alice's profile (tracked) and carol's (queued)
    lookups = [
        page_line(f"https://{INSTANCE}/api/v1/accounts/lookup?acct={u}", FETCHED, people[u])
        for u in ("alice", "carol")
    ]
    write_pages(feed, "mastodon", "accounts_lookup", DT, "lookups", lookups)


def test_a_tracked_mastodon_account_takes_no_room_and_keeps_its_label(
    radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    feed = configure(tmp_path, monkeypatch, "mastodon", {"mastodon": ["@Alice@Greens.Social"]}, 2)
    mastodon_feed(feed)

    # before the first ingest: alice, seen most, is in sources.yaml only
    assert run_discovery() == 2
    # the cap of 2 goes to the new ones: carol (seen twice), then dan (most followers)
    assert queue() == [
        ("carol@greens.social", "plant_based_cooking"),
        ("dan@greens.social", "plant_based_cooking"),
    ]

    run_ingest()
    assert labels() == {
        "alice@greens.social": "tracked",
        "carol@greens.social": "discovery:plant_based_cooking:#plantbased",
    }
    assert sorted(walked(monkeypatch)) == [
        "@Alice@Greens.Social",
        "carol@greens.social",
        "dan@greens.social",
    ]

    # the next interval's room goes to bob, the one new account left
    assert runs.queue_discovered("discovery-2", END + timedelta(days=1)) == 1
    assert [a for a, _ in queue()] == [
        "bob@greens.social",
        "carol@greens.social",
        "dan@greens.social",
    ]


# --- Bluesky: tracked by handle (or DID), sighted by DID ---


def bluesky_feed(feed: Path) -> None:
    def actor(name: str) -> dict:
        return {"did": f"did:plc:{name}", "handle": f"{name}.bsky.social", "displayName": name}

    search = f"{XRPC}/app.bsky.actor.searchActors?q=vegan&limit=100"
    found = {"actors": [actor(n) for n in ("ana", "ben", "cleo", "dora")]}
    write_pages(feed, "bluesky", "search_actors", DT, "search", [page_line(search, FETCHED, found)])
    counts = {"ana": 90_000, "ben": 41_000, "cleo": 80_000, "dora": 12_000}
    profiles = f"{XRPC}/app.bsky.actor.getProfiles?" + urlencode(
        [("actors", f"did:plc:{n}") for n in counts]
    )
    body = {"profiles": [{**actor(n), "followersCount": c} for n, c in counts.items()]}
    write_pages(
        feed, "bluesky", "discovery_profiles", DT, "profiles", [page_line(profiles, FETCHED, body)]
    )


def test_a_bluesky_account_tracked_by_handle_is_not_queued_by_its_did_nor_walked_twice(
    radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # ana by her handle (as typed, with an @), cleo by her DID
    tracked = {"bluesky": ["@Ana.bsky.social", "did:plc:cleo"]}
    feed = configure(tmp_path, monkeypatch, "bluesky", tracked, 2)
    bluesky_feed(feed)

    assert run_discovery() == 2
    # ana and cleo have the most followers in the band; the room goes to ben and dora
    assert queue() == [
        ("did:plc:ben", "plant_based_cooking"),
        ("did:plc:dora", "plant_based_cooking"),
    ]
    # each account walked once: ana by her handle only, not also by her DID
    assert walked(monkeypatch) == [
        "@Ana.bsky.social",
        "did:plc:cleo",
        "did:plc:ben",
        "did:plc:dora",
    ]


def test_an_account_queued_before_it_was_listed_is_walked_once(
    radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A queue row left by an older run (queued by DID while sources.yaml listed the
    handle), or an account listed after it was queued: the live plan walks it once, under
    the key sources.yaml gives."""
    configure(tmp_path, monkeypatch, "bluesky", {"bluesky": ["ana.bsky.social"]}, 2)
    run_discovery()  # an empty feed: creates the warehouse, queues nothing
    with connect(RadarSettings().warehouse) as conn:
        conn.execute(
            "insert into meta.tracking_queue values "
            "('bluesky', 'did:plc:ana', 'ana.bsky.social', 'plant_based_cooking', 'vegan', "
            " 90000, ?, ?), "
            "('bluesky', 'did:plc:ben', 'ben.bsky.social', 'plant_based_cooking', 'vegan', "
            " 41000, ?, ?)",
            [DAY, DAY, DAY, DAY],
        )
    assert walked(monkeypatch) == ["ana.bsky.social", "did:plc:ben"]


# --- YouTube: tracked by @handle, sighted by channel id ---

TOFU = "UCtofutales" + "T" * 13  # channel ids are UC + 22 characters
OATS = "UCoatsandco" + "O" * 13
RYE = "UCryeandrise" + "R" * 12
KALE = "UCkalecorner" + "K" * 12


def yt_channel(channel_id: str, custom: str, subscribers: int) -> dict:
    return {
        "kind": "youtube#channel",
        "id": channel_id,
        "snippet": {"title": custom.title(), "customUrl": f"@{custom}"},
        "contentDetails": {"relatedPlaylists": {"uploads": "UU" + channel_id[2:]}},
        "statistics": {"subscriberCount": str(subscribers), "videoCount": "40"},
    }


CHANNELS = {
    TOFU: yt_channel(TOFU, "tofutales", 50_000),  # tracked as @TofuTales
    OATS: yt_channel(OATS, "oatsandco", 20_000),
    RYE: yt_channel(RYE, "ryeandrise", 30_000),
    KALE: yt_channel(KALE, "kalecorner", 5_000),
}


def youtube_feed(feed: Path, profiles: bool) -> None:
    def search(q: str, channel_ids: list[str]) -> str:
        url = f"{YT}/search?" + urlencode({"part": "snippet", "q": q, "key": "REDACTED"})
        items = [
            {
                "id": {"kind": "youtube#video", "videoId": f"v{i}"},
                "snippet": {"channelId": c, "channelTitle": c, "title": "a bowl"},
            }
            for i, c in enumerate(channel_ids)
        ]
        return page_line(url, FETCHED, {"items": items})

    # tofutales is seen under both terms: the most sightings
    pages = [search("#vegan", [TOFU, OATS]), search("vegan", [TOFU, RYE, KALE])]
    write_pages(feed, "youtube", "search", DT, "search", pages)
    if profiles:  # the default: discovery reads the found channels' profiles
        url = f"{YT}/channels?" + urlencode(
            {"part": "snippet,statistics", "id": ",".join(CHANNELS)}
        )
        body = {"items": list(CHANNELS.values())}
        write_pages(
            feed, "youtube", "discovery_channels", DT, "profiles", [page_line(url, FETCHED, body)]
        )
    # what social_ingest reads for the tracked @handle
    url = f"{YT}/channels?" + urlencode({"part": "snippet", "forHandle": "@TofuTales"})
    body = {"items": [CHANNELS[TOFU]]}
    write_pages(feed, "youtube", "channels", DT, "handles", [page_line(url, FETCHED, body)])


def test_a_youtube_channel_tracked_by_handle_is_told_from_its_id_by_the_profile_read(
    radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    feed = configure(tmp_path, monkeypatch, "youtube", {"youtube": ["@TofuTales"]}, 2)
    youtube_feed(feed, profiles=True)

    assert run_discovery() == 2
    # the profile read names tofutales' handle: tracked, so the room goes to rye and oats
    assert queue() == [(OATS, "plant_based_cooking"), (RYE, "plant_based_cooking")]
    run_ingest()
    assert labels() == {TOFU: "tracked"}
    assert sorted(walked(monkeypatch)) == sorted(["@TofuTales", OATS, RYE])


def test_without_a_profile_read_a_youtube_handle_is_told_from_its_id_once_it_has_loaded(
    radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Search results name a channel by id and title only: before any profile read of it
    (``discovery_profiles: false``, or before the first ingest of the @handle), nothing
    links the id to the listed @handle, and the channel is queued. Once ingest has loaded
    the @handle (``core.accounts``: the id with its handle) it keeps its ``tracked`` label
    and is walked once, by its @handle."""
    feed = configure(tmp_path, monkeypatch, "youtube", {"youtube": ["@TofuTales"]}, 3)
    youtube_feed(feed, profiles=False)

    assert run_discovery() == 3
    assert [a for a, _ in queue()] == sorted([TOFU, OATS, KALE])  # no counts: by sightings, id
    run_ingest()
    assert labels() == {TOFU: "tracked"}
    assert sorted(walked(monkeypatch)) == sorted(["@TofuTales", OATS, KALE])


# --- term order: the taxonomy's, not the alphabet's ---


def test_each_niche_searches_its_first_terms_in_the_taxonomy_s_order(
    radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    niches = {
        "plants": {
            "label": "Plants",
            "hashtags": ["Vegan", "plantbased", "monstera"],
            "keywords": ["vegan", "comida vegana", "chickpeas", "lentils"],
        },
        "bread": {
            "label": "Bread",
            "hashtags": ["sourdough", "vegan", "bread"],
            "keywords": ["sauerteig", "Vegan", "crumb"],
        },
    }
    configure(tmp_path, monkeypatch, "mastodon", {}, 2, niches)
    config = tmp_path / "config"
    sources = yaml.safe_load((config / "sources.yaml").read_text())
    sources["discovery"].update(
        {
            "max_tags_per_niche": 2,
            "max_keywords_per_niche": 2,
            "mastodon": {"instances": [INSTANCE]},
        }
    )
    (config / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True))
    monkeypatch.setenv("RADAR_SOURCE", "live")

    assert niche_terms(config)["plants"] == {
        "hashtags": ["vegan", "plantbased", "monstera"],
        "keywords": ["vegan", "comida vegana", "chickpeas", "lentils"],
    }
    (batch,) = runs.plan_discovery(DAY, END)
    # each niche's first two, niches in order, a term two niches share searched once
    assert batch.tags == ["vegan", "plantbased", "sourdough"]
    assert batch.keywords == ["vegan", "comida vegana", "sauerteig"]


def test_the_shipped_taxonomy_searches_vegan_first(
    radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The issue's case: plant-based cooking searched "chickpeas, comida vegana, lentils"
    (the alphabet's first three) rather than "vegan"."""
    configure(tmp_path, monkeypatch, "bluesky", {}, 10)
    config = tmp_path / "config"
    sources = yaml.safe_load((config / "sources.yaml").read_text())
    sources["discovery"]["bluesky"]["enabled"] = True
    (config / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True))
    monkeypatch.setenv("RADAR_SOURCE", "live")
    (batch,) = runs.plan_discovery(DAY, END)
    shipped = yaml.safe_load((ROOT / "config" / "niches.yaml").read_text())["niches"]
    first = shipped["plant_based_cooking"]
    assert batch.keywords[:3] == first["keywords"][:3] == ["vegan", "plant-based", "plantbased"]
    assert batch.tags[:5] == first["hashtags"][:5]
