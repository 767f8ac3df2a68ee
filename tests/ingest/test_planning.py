"""Planning extract batches: the live backfill horizon and the cap on mapped tasks."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ingest import runs
from ingest.live_source import Sources, plan_live_batches
from ingest.mastodon.settings import MastodonSources
from radar.errors import PermanentError
from tests.helpers.feed_builder import mastodon_account, page_line, write_pages

NOW = datetime(2026, 11, 26, 9, 30)


def sources(**kw) -> Sources:
    return Sources(mastodon=MastodonSources(accounts=["a@x.social", "b@x.social"]), **kw)


def test_a_live_run_inside_the_horizon_plans_every_tracked_account():
    start = datetime(2026, 11, 25)
    batches = plan_live_batches(sources(), ["mastodon"], {}, start, start + timedelta(1), NOW)
    assert [b.accounts for b in batches] == [["a@x.social", "b@x.social"]]


def test_a_live_backfill_past_the_horizon_fails_at_once_saying_what_to_do():
    """The APIs answer with today's counts only: an interval that ended more than
    ``backfill_horizon_days`` ago cannot be fetched, and a plan that quietly fetched
    nothing would end a replay of past days green. It is an error no retry can fix."""
    start = datetime(2026, 11, 20)
    src = sources(backfill_horizon_days=2)
    with pytest.raises(PermanentError) as refused:
        plan_live_batches(src, ["mastodon"], {}, start, start + timedelta(1), NOW)
    message = str(refused.value)
    assert "the interval 2026-11-20 00:00 → 2026-11-21 00:00 UTC" in message
    assert "more than backfill_horizon_days=2 day(s) ago" in message
    assert "its 2 account(s) (mastodon)" in message
    # what to do: replay the raw archive with the fixture source, or widen the horizon
    assert "RADAR_SOURCE=fixture, RADAR_FEED_DIR=<RADAR_DATA_DIR>/raw" in message
    assert "raise backfill_horizon_days in config/sources.yaml" in message
    # accounts discovery queued are accounts to fetch too
    with pytest.raises(PermanentError, match="its 1 account"):
        plan_live_batches(
            Sources(), ["mastodon"], {}, start, start + timedelta(1), NOW, {"mastodon": ["q@x"]}
        )
    # a platform with no accounts has nothing to fetch, past the horizon or not
    assert plan_live_batches(Sources(), ["mastodon"], {}, start, start + timedelta(1), NOW) == []
    # an interval that ended exactly backfill_horizon_days ago is still inside
    edge = NOW - timedelta(days=2)
    assert plan_live_batches(src, ["mastodon"], {}, edge - timedelta(1), edge, NOW)
    # a wider horizon lets the same interval through
    wide = sources(backfill_horizon_days=10)
    assert plan_live_batches(wide, ["mastodon"], {}, start, start + timedelta(1), NOW)


def test_a_long_interval_gets_bigger_batches_not_more_tasks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    feed = tmp_path / "feed"
    start = datetime(2026, 1, 1)
    for d in range(40):
        day = start + timedelta(days=d)
        for n in range(10):
            line = page_line(
                "https://x.social/api/v1/accounts/lookup?acct=a",
                day,
                mastodon_account("a", "x.social", 100),
            )
            write_pages(
                feed, "mastodon", "accounts_lookup", day.date().isoformat(), f"part-{n}", [line]
            )
    monkeypatch.setenv("RADAR_FEED_DIR", str(feed))
    monkeypatch.setenv("RADAR_FILES_PER_BATCH", "1")
    monkeypatch.setattr(runs, "MAX_BATCHES", 64)
    batches = runs.plan_extract(start, start + timedelta(days=40), ["mastodon"])
    assert len(batches) <= 64
    assert sum(len(b.files) for b in batches) == 400


@pytest.mark.parametrize(
    "instances",
    [
        {"mastodon": {"instances": ["a.social", "b.social"]}},
        # the former key, ``discovery.instances``, is still read as Mastodon's
        {"instances": ["a.social", "b.social"]},
    ],
    ids=["discovery.mastodon.instances", "discovery.instances"],
)
def test_live_discovery_reads_each_niche_s_first_terms_on_every_instance(instances: dict):
    from ingest.live_source import DiscoverySources, plan_live_discovery

    src = Sources(
        discovery=DiscoverySources.model_validate(
            {**instances, "max_tags_per_niche": 1, "max_keywords_per_niche": 2}
        )
    )
    niches = {
        "plants": {"hashtags": ["monstera", "pothos"], "keywords": ["repotting", "pothos", "x"]},
        "bread": {"hashtags": ["sourdough"], "keywords": []},
    }
    batches = plan_live_discovery(src, niches)
    assert [b.instance for b in batches] == ["a.social", "b.social"]
    assert batches[0].tags == ["monstera", "sourdough"]
    # in the order config/niches.yaml lists them (plan_live_discovery keeps it)
    assert batches[0].keywords == ["repotting", "pothos"]
    assert [b.model_dump() for b in batches] == [
        {
            "platform": "mastodon",
            "kind": "discovery",
            "tags": ["monstera", "sourdough"],
            "keywords": ["repotting", "pothos"],
            "instance": instance,
        }
        for instance in ["a.social", "b.social"]
    ]
    # no instances configured: discovery costs nothing
    assert plan_live_discovery(Sources(), niches) == []


def test_a_large_tracked_set_gets_bigger_live_batches_not_more_tasks():
    many = Sources(mastodon=MastodonSources(accounts=[f"u{i}@x.social" for i in range(10_000)]))
    start = datetime(2026, 11, 25)
    batches = plan_live_batches(many, ["mastodon"], {}, start, start + timedelta(1), NOW)
    assert len(batches) <= 256
    assert sum(len(b.accounts) for b in batches) == 10_000


def test_batches_are_capped_by_bytes_as_well_as_files():
    from ingest.extract import group_files

    mb = 1 << 20
    # files of 40, 40, 40, 100 and 10 MB with at most 20 files and 96 MB a batch
    assert group_files([40 * mb, 40 * mb, 40 * mb, 100 * mb, 10 * mb], 20, 96 * mb) == [
        range(0, 2),
        range(2, 3),
        range(3, 4),  # larger than the cap: a batch of its own
        range(4, 5),
    ]
    assert group_files([mb] * 5, 2, None) == [range(0, 2), range(2, 4), range(4, 5)]
    assert group_files([], 20, 96 * mb) == []


def test_the_task_cap_wins_over_the_byte_cap(tmp_path):
    from ingest.extract import plan_fixture_batches

    day = tmp_path / "mastodon" / "account_statuses" / "dt=2026-11-20"
    day.mkdir(parents=True)
    for i in range(12):
        (day / f"part-{i:04d}.jsonl").write_bytes(b"x" * 1000)
    start, end = datetime(2026, 11, 20), datetime(2026, 11, 21)
    small = plan_fixture_batches(tmp_path, ["mastodon"], start, end, 20, bytes_per_batch=2500)
    assert [len(b.files) for b in small] == [2] * 6
    capped = plan_fixture_batches(
        tmp_path, ["mastodon"], start, end, 20, max_batches=4, bytes_per_batch=2500
    )
    assert len(capped) <= 4 and sum(len(b.files) for b in capped) == 12
