"""The week world and its live API emulator, read by the radar's own clients: the world
holds what it plants, and the emulator answers as the world is at its clock."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import httpx
import pytest

from ingest.bluesky.client import BlueskyClient, BlueskyLoginError
from ingest.http import PlatformHTTPError
from ingest.mastodon.client import MastodonClient
from synthetic.__main__ import load_niches
from synthetic.live_api import LiveAPI, Window
from synthetic.week import SEARCHED_KEYWORDS, Reach, WeekWorld, build_week
from synthetic.world import Role
from tests.helpers.paths import ROOT

END = date(2026, 5, 1)
NICHES = load_niches(ROOT / "config" / "niches.yaml")
LONG_AGO = datetime(2000, 1, 1)
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def world() -> WeekWorld:
    return build_week(5, END, NICHES, regulars=40, outsiders=6)


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).replace(tzinfo=None)


def _share(world: WeekWorld, account) -> float:
    own = world.own_posts(account, world.end)
    return sum(p.in_niche for p in own) / len(own)


def test_one_seed_gives_one_world_and_another_seed_another(world: WeekWorld):
    again = build_week(5, END, NICHES, regulars=40, outsiders=6)
    other = build_week(6, END, NICHES, regulars=40, outsiders=6)

    def keys(w: WeekWorld) -> list:
        return [(a.key, [(p.key, p.likes, p.deleted_at) for p in a.posts]) for a in w.accounts]

    assert keys(world) == keys(again) != keys(other)


def test_the_world_holds_what_it_plants(world: WeekWorld):
    end, ends = world.end, [d + timedelta(days=1) for d in world.days]
    for niche in NICHES:
        planted = [a for a in world.accounts if a.niche == niche and a.role is not Role.regular]
        micros = [a for a in planted if a.role is Role.true_micro]
        assert len(micros) == 4 and {a.platform for a in micros} == {"mastodon", "bluesky"}
        assert all(0.6 <= _share(world, a) <= 0.9 for a in micros)
        assert all(_share(world, a) == 1 for a in planted if a.role is Role.niche_purist)
        assert all(_share(world, a) <= 0.3 for a in planted if a.role is Role.off_niche)
        # one true micro per niche only discovery can reach, each niche by another way
        assert len([a for a in micros if not a.listed]) == 1
    hidden_ways = {a.reach for a in world.accounts if a.role is Role.true_micro and not a.listed}
    assert hidden_ways == {Reach.mastodon, Reach.facet_tags, Reach.record_tags, Reach.keywords}
    for account in world.accounts:
        counts = [world.followers_at(account, at) for at in ends]
        if account.boundary == "under":
            assert max(counts) < 10_000
        if account.boundary == "over":
            assert min(counts) >= 100_000
        if account.role is Role.fake_spike:
            # one day's jump of 10-20 %, straddled by two of the radar's snapshots
            jumps = [b / a - 1 for a, b in zip(counts, counts[1:], strict=False)]
            assert 0.09 < max(jumps) < 0.21 and sorted(jumps)[-2] < 0.01
            assert ends[0] < account.spike_at < ends[-1]
            # bought followers do not engage: the posts after it keep the old audience's
            after = [p for p in account.posts if p.created_at > account.spike_at]
            assert len(after) >= 2
        if account.reach in (Reach.facet_tags, Reach.record_tags):
            searched = account.niche.keywords[:SEARCHED_KEYWORDS]
            assert not any(k in p.text.lower() for p in account.posts for k in searched)
    # every other niche post carries its tags, before the week as in it
    listed = [p for a in world.accounts if a.listed for p in a.posts if p.in_niche]
    assert listed and all(p.hashtags for p in listed)
    # found mid-week: no tag before its fourth day, and boosted by tracked accounts before
    for late in [a for a in world.accounts if a.reach == Reach.late]:
        findable = late.findable_from(world.week_start)
        assert findable == world.week_start + timedelta(days=3)
        assert not any(p.hashtags for p in late.posts if p.created_at < findable)
        assert any(p.hashtags for p in late.posts if findable <= p.created_at < findable + DAY)
        boosted = [b for b in world.boosts if b.original.author is late and b.booster.listed]
        assert any(world.week_start <= b.at < findable for b in boosted)
    deleted_hits = [a for a in world.accounts if a.role is Role.deleted_hits]
    assert all(len(world.deleted(a, end)) >= 4 for a in deleted_hits)
    imports = [p for a in world.accounts if a.role is Role.backdated_import for p in a.posts]
    assert sum(p.client_created_at is not None and p.created_at > world.week_start for p in imports)


def test_the_emulator_answers_as_the_world_is_at_its_clock(world: WeekWorld):
    account = next(a for a in world.accounts if a.role is Role.deleted_hits)
    if account.platform != "mastodon":
        account = next(
            a for a in world.accounts if a.platform == "mastodon" and world.deleted(a, world.end)
        )
    gone = next(p for p in account.posts if p.key in world.deleted(account, world.end))
    with LiveAPI(world) as api, MastodonClient(api.mastodon_url(account.instance)) as client:
        api.clock = gone.deleted_at - timedelta(seconds=1)
        profile = json.loads(client.lookup(account.user).body)
        assert profile["followers_count"] == world.followers_at(account, api.clock)
        shown = {
            s["uri"]
            for page in client.statuses(profile["id"], LONG_AGO)
            for s in json.loads(page.body)
            if s["reblog"] is None
        }
        assert shown == {p.key for p in account.posts if p.visible_at(api.clock)}
        status_id = gone.key.rsplit("/", 1)[-1]
        assert client.get(f"/api/v1/statuses/{status_id}").status == 200
        api.clock = gone.deleted_at + timedelta(seconds=1)
        with pytest.raises(PlatformHTTPError) as deleted:
            client.get(f"/api/v1/statuses/{status_id}")
        assert deleted.value.page.status == 404
        shown_later = {
            s["uri"] for page in client.statuses(profile["id"], LONG_AGO) for s in page.json()
        }
        assert gone.key in shown and gone.key not in shown_later


def test_bluesky_reads_deletions_backdating_and_search_behind_a_session(world: WeekWorld):
    tagged = next(a for a in world.accounts if a.reach == Reach.record_tags)
    imported = next(a for a in world.accounts if a.role is Role.backdated_import)
    with LiveAPI(world) as api:
        api.clock = world.end
        with BlueskyClient(api.appview_url) as appview:
            feed = [
                item
                for page in appview.author_feed(imported.handle, LONG_AGO)
                for item in page.json()["feed"]
                if "reason" not in item
            ]
            assert {i["post"]["uri"] for i in feed} == {
                p.key for p in imported.posts if p.visible_at(world.end)
            }
            backdated = [
                i["post"]
                for i in feed
                if _at(i["post"]["indexedAt"]) - _at(i["post"]["record"]["createdAt"])
                > timedelta(days=365)
            ]
            assert len(backdated) >= 20  # the import, and it was indexed during the week
            assert all(_at(p["indexedAt"]) > _at("2026-04-24T00:00:00Z") for p in backdated)
            gone = next(
                p
                for a in world.accounts
                if a.platform == "bluesky"
                for p in a.posts
                if p.deleted_at is not None and p.deleted_at < world.end
            )
            kept = next(p for p in tagged.posts if p.visible_at(world.end))
            answer = appview.get(
                "/xrpc/app.bsky.feed.getPosts", params=[("uris", gone.key), ("uris", kept.key)]
            )
            assert [p["uri"] for p in answer.json()["posts"]] == [kept.key]
            with pytest.raises(PlatformHTTPError) as refused:
                next(appview.search_posts("#bread", 1, "bread"))
            assert refused.value.page.status == 403  # the public AppView has no post search
        with BlueskyClient(api.pds_url) as pds:
            with pytest.raises(BlueskyLoginError):
                pds.login(api.identifier, "wrong-pass-word-here")
            pds.login(api.identifier, api.app_password)
            newest = max((p for p in tagged.posts if p.in_niche), key=lambda p: p.created_at)
            tag = newest.hashtags[0]
            found = next(pds.search_posts(f"#{tag}", 1, tag)).json()["posts"]
        # the tags ride in record.tags only, beside a text that names no niche
        theirs = [p for p in found if p["author"]["did"] == tagged.key]
        assert theirs and all(f"#{tag}" not in p["record"]["text"] for p in theirs)
        assert all(tag in p["record"]["tags"] for p in theirs)


def test_faults_are_seeded_and_retried_by_the_clients(world: WeekWorld):
    accounts = [a for a in world.accounts if a.platform == "mastodon"][:12]

    def walk(api: LiveAPI) -> list[tuple[str, int]]:
        api.clock = world.end
        for account in accounts:
            url = api.mastodon_url(account.instance)
            with MastodonClient(url, sleep=lambda s: None) as client:
                profile = json.loads(client.lookup(account.user).body)
                list(client.statuses(profile["id"], LONG_AGO))
        return list(api.faults)

    with LiveAPI(world, fault_rate=0.3) as first, LiveAPI(world, fault_rate=0.3) as second:
        faults = walk(first)
        assert faults and {s for _, s in faults} <= {429, 500, 502, 503}
        assert first.unanswered_faults == [] and first.errors == []
        assert walk(second) == faults  # by clock, request and try: the same run, the same


def test_the_emulator_tells_a_request_past_its_window_and_one_asked_twice(world: WeekWorld):
    account = next(a for a in world.accounts if a.platform == "mastodon")
    with LiveAPI(world, mastodon_window=Window(3, 60)) as api:
        api.clock = world.end
        with httpx.Client(base_url=api.mastodon_url(account.instance)) as http:
            answers = [
                http.get("/api/v1/accounts/lookup", params={"acct": account.user}) for _ in range(4)
            ]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[3].json() == {"error": "Too many requests"}
    assert len(api.refused) == 1 and api.faults == []
    # the second and third asks got nothing new: the run asked twice
    assert api.repeated == [api.refused[0]]
    assert api.walked_twice == [f"{world.end.isoformat()} mastodon {account.key}"]


def test_the_emulator_tells_an_account_walked_twice_under_two_keys(world: WeekWorld):
    account = next(a for a in world.accounts if a.platform == "bluesky")
    with LiveAPI(world) as api, BlueskyClient(api.appview_url) as client:
        api.clock = world.end
        list(client.author_feed(account.handle, world.end - DAY))
        assert api.walked_twice == []
        list(client.author_feed(account.key, world.end - DAY))  # its DID: the same account
        assert api.walked_twice == [f"{world.end.isoformat()} bluesky {account.key}"]
