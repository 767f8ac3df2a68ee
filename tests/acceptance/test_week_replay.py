"""Issue #21's acceptance: a week of niche_discovery → social_ingest → signals, each a
real ``dag.test()`` through the live clients, against an emulated Mastodon and Bluesky
serving an unseen seeded world (``synthetic.week``) with faults on. After day 7 the
warehouse must agree with the world's planted truth (``week_replay.judge``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.week_replay import TABLE_HEAD, judge, replay_week

SEED = 11


@pytest.mark.slow
@pytest.mark.xdist_group("week_replay")
def test_a_week_on_an_unseen_world_ranks_the_planted_micros_and_counts_what_is_there(
    airflow_db, tmp_path: Path
):
    replay = replay_week(SEED, tmp_path)
    verdict = judge(replay)
    print(TABLE_HEAD, verdict.row(), sep="\n")
    for niche, top in verdict.tops.items():
        print(niche, *top, sep="\n  ")
    assert replay.api.faults, "the emulator injected no fault: the retries went untested"
    assert verdict.problems == {}
    assert (verdict.precision_at_4, verdict.recall_at_4, verdict.recall_at_10) == (1, 1, 1)
