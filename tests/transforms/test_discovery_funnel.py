"""``marts.discovery_funnel``: what niche_discovery saw, queued and got loaded, per niche
and platform (issue #21: "count what discovery saw, queued and loaded").

A small Mastodon world run for real: social_ingest loads alice (listed in
``config/sources.yaml``) on day 1; niche_discovery reads recorded hashtag timelines and
an account search and queues under a cap of 3 per niche; the next day's social_ingest
loads what it recorded of the queued accounts; then the signals transforms run, as of
mid-day 1 and as of the end of day 2. Every count below is worked out by hand."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from ingest import runs
from ingest.connector import TaskContext
from ingest.discovery import niche_terms, search_terms
from radar.settings import RadarSettings
from tests.helpers.feed_builder import mastodon_account, mastodon_status, page_line, write_pages
from tests.helpers.warehouse_helpers import query
from transforms.runs import build_signals

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = "greens.social"
DAY = datetime(2026, 3, 2)
END = DAY + timedelta(days=1)  # discovery's interval end: queued_for
BEFORE = DAY + timedelta(hours=1)  # nothing sighted yet
MID = DAY + timedelta(hours=12)  # sighted, nothing queued yet
LATER = END + timedelta(days=1)  # the queued accounts loaded by day 2's ingest
PLANTS, BREAD = "plant_based_cooking", "sourdough_baking"

PEOPLE = {
    "alice": mastodon_account("alice", INSTANCE, 40_000, local_id="1"),  # listed
    "bob": mastodon_account("bob", INSTANCE, 20_000, local_id="2"),
    "carol": mastodon_account("carol", INSTANCE, 15_000, local_id="3"),
    "dan": mastodon_account("dan", INSTANCE, 120_000, local_id="4"),  # above micro
    "erin": mastodon_account("erin", INSTANCE, 30_000, local_id="5"),
}
# sightings per term: plant-based cooking names alice 2×, bob 1×, carol 3×, dan 2×;
# sourdough names erin and carol once each
TIMELINES = {
    "vegan": ["alice", "bob", "carol", "dan"],
    "plantbased": ["alice", "carol", "dan"],
    "sourdough": ["erin", "carol"],
}
SEARCHES = {"Vegan": ["carol"]}


def lookup(user: str, at: datetime) -> str:
    url = f"https://{INSTANCE}/api/v1/accounts/lookup?acct={user}"
    return page_line(url, at, PEOPLE[user])


def statuses(user: str, at: datetime, texts: list[str]) -> str:
    url = f"https://{INSTANCE}/api/v1/accounts/{PEOPLE[user]['id']}/statuses?limit=40"
    posts = [
        mastodon_status(
            PEOPLE[user], INSTANCE, f"{user}{i}", at - timedelta(days=2 + 3 * i), text,
            likes=300 + 40 * i, replies=12 + i,
        )
        for i, text in enumerate(texts)
    ]  # fmt: skip
    return page_line(url, at, posts)


def write_feed(feed: Path) -> None:
    day1, day2 = DAY.date().isoformat(), END.date().isoformat()
    seen = DAY + timedelta(hours=6)
    # day 1: social_ingest reads the listed alice, then discovery runs
    first = DAY + timedelta(hours=3)
    write_pages(feed, "mastodon", "accounts_lookup", day1, "tracked", [lookup("alice", first)])
    write_pages(
        feed, "mastodon", "account_statuses", day1, "tracked",
        [statuses("alice", first, ["Lentil soup tonight", "A vegan curry"])],
    )  # fmt: skip
    timelines = [
        page_line(
            f"https://{INSTANCE}/api/v1/timelines/tag/{tag}",
            seen,
            [mastodon_status(PEOPLE[u], INSTANCE, f"{tag}{i}", seen, f"#{tag}", tags=[tag])
             for i, u in enumerate(users)],
        )
        for tag, users in TIMELINES.items()
    ]  # fmt: skip
    write_pages(feed, "mastodon", "tag_timeline", day1, "tags", timelines)
    searches = [
        page_line(
            f"https://{INSTANCE}/api/v2/search?q={q}&type=accounts&limit=40",
            seen,
            {"accounts": [PEOPLE[u] for u in users], "statuses": [], "hashtags": []},
        )
        for q, users in SEARCHES.items()
    ]
    write_pages(feed, "mastodon", "account_search", day1, "search", searches)
    # day 2: the queued carol and dan, profile and own posts; bob, a profile and a boost
    # of alice's post, no post of his own
    walked = END + timedelta(hours=6)
    write_pages(
        feed, "mastodon", "accounts_lookup", day2, "tracked",
        [lookup(u, walked) for u in ("alice", "bob", "carol", "dan")],
    )  # fmt: skip
    carol = [f"Vegan dinner number {i}, with tofu" for i in range(6)]
    boosted = mastodon_status(PEOPLE["alice"], INSTANCE, "alice0", first, "A vegan curry")
    boost = mastodon_status(PEOPLE["bob"], INSTANCE, "bob0", walked, "", reblog=boosted)
    bob = page_line(f"https://{INSTANCE}/api/v1/accounts/2/statuses?limit=40", walked, [boost])
    write_pages(
        feed, "mastodon", "account_statuses", day2, "tracked",
        [statuses("carol", walked, carol), statuses("dan", walked, ["Tempeh", "Seitan"]), bob],
    )  # fmt: skip


def ingest(start: datetime, run_id: str) -> None:
    end = start + timedelta(days=1)
    for i, batch in enumerate(runs.plan_extract(start, end)):
        runs.extract(batch, TaskContext(start, end, run_id, f"extract-{i}"))
    runs.load(run_id, "social_ingest", start, end)


def discover() -> int:
    for i, batch in enumerate(runs.plan_discovery(DAY, END)):
        runs.extract(batch, TaskContext(DAY, END, "discovery", f"discover-{i}"))
    runs.load("discovery", "niche_discovery", DAY, END)
    return runs.queue_discovered("discovery", END)


@pytest.fixture
def world(radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config, feed = tmp_path / "config", tmp_path / "feed"
    shutil.copytree(ROOT / "config", config)
    sources = yaml.safe_load((config / "sources.yaml").read_text())
    sources["mastodon"]["accounts"] = ["alice@greens.social"]
    sources["discovery"]["max_new_accounts_per_niche"] = 3
    (config / "sources.yaml").write_text(yaml.safe_dump(sources, allow_unicode=True))
    write_feed(feed)
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_PLATFORMS", '["mastodon"]')
    monkeypatch.setenv("RADAR_SOURCE", "fixture")

    ingest(DAY, "ingest-1")
    # plant-based cooking's room of 3: carol, bob and dan (alice is listed); carol, seen
    # most under plant-based cooking, is queued there only: sourdough's room goes to erin
    assert discover() == 4
    ingest(END, "ingest-2")
    for as_of in (BEFORE, MID, LATER):
        build_signals(as_of, f"signals-{as_of:%d%H}")
    return config


COLUMNS = (
    "terms_listed, terms_hit, sightings, accounts_sighted, accounts_already_tracked, "
    "accounts_queued_elsewhere, accounts_queued, accounts_with_profile, accounts_loaded, "
    "accounts_in_candidate_tier, accounts_candidates"
)


def funnel(as_of: datetime) -> dict[str, tuple]:
    rows = query(
        RadarSettings().warehouse,
        f"select niche, platform, {COLUMNS} from marts.discovery_funnel where as_of = ?",
        [as_of],
    )
    assert all(platform == "mastodon" for _, platform, *_ in rows)
    return {niche: tuple(counts) for niche, _, *counts in rows}


def test_the_funnel_counts_what_discovery_saw_queued_and_loaded(world: Path):
    terms = {n: len(search_terms(t)) for n, t in niche_terms(world).items()}
    assert terms[PLANTS] == 19  # the shipped taxonomy's 7 hashtags and 12 keywords

    # mid-day 1: everything sighted, alice loaded (never queued), nothing queued yet
    mid = funnel(MID)
    assert mid[PLANTS] == (terms[PLANTS], 3, 8, 4, 1, 0, 0, 0, 0, 0, 0)
    assert mid[BREAD] == (terms[BREAD], 1, 2, 2, 0, 0, 0, 0, 0, 0, 0)
    # every other niche: a row of zeros but its terms, since mastodon had sightings
    assert {n: c for n, c in mid.items() if n not in (PLANTS, BREAD)} == {
        n: (k, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) for n, k in terms.items() if n not in (PLANTS, BREAD)
    }

    later = funnel(LATER)
    # plant-based: #vegan 4 + #plantbased 3 + 'vegan' 1 sightings of 4 accounts; alice
    # tracked already; bob, carol and dan queued and read; carol and dan with own posts
    # (bob only boosted); carol micro (15 000 followers, dan 120 000), six vegan posts of
    # six, a candidate
    assert later[PLANTS] == (terms[PLANTS], 3, 8, 4, 1, 0, 3, 3, 2, 1, 1)
    # sourdough: erin and carol sighted; carol queued under plant-based cooking, erin
    # queued here and not read yet
    assert later[BREAD] == (terms[BREAD], 1, 2, 2, 0, 1, 1, 0, 0, 0, 0)
    ranked = query(
        RadarSettings().warehouse,
        "select account_id from marts.candidates where as_of = ? and scope = ?",
        [LATER, PLANTS],
    )
    assert ("carol@greens.social",) in ranked

    # no row before discovery sighted anything on any platform
    assert funnel(BEFORE) == {}
