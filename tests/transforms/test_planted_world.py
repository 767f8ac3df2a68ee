"""A seeded world with planted truth: real micro-influencers must rank first in their
niche; fakes must be flagged and rank below them; off-niche stars must not be candidates;
every planted account that is not ranked is excluded by the rule the world planted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.core_builder import build_and_transform, config_with
from tests.helpers.planted_world import AS_OF, NICHE_TEXTS, OFF_NICHE, build_planted_world
from tests.helpers.warehouse_helpers import query


@pytest.mark.parametrize("seed", [7, 2026])
def test_planted_micro_influencers_rank_first_and_fakes_below(
    seed: int, tmp_path: Path, warehouse_backend
):
    world, truth = build_planted_world(seed)
    warehouse = warehouse_backend
    build_and_transform(world, warehouse, config_with(tmp_path), AS_OF)
    rows = query(
        warehouse,
        """
        select scope, account_id, scope_rank, flags, tier
        from marts.candidates where scope_type = 'niche'""",
    )
    by_niche: dict[str, dict[str, tuple[int, list[str]]]] = {}
    for scope, account_id, rank, flags, tier in rows:
        by_niche.setdefault(scope, {})[account_id] = (rank, flags)
        assert tier == "micro"
    for niche in NICHE_TEXTS:
        ranked = by_niche[niche]
        top3 = {a for a, (rank, _) in ranked.items() if rank <= 3}
        assert top3 == {a for a in truth["true"] if a.startswith(niche)}, niche
        worst_true = max(rank for a, (rank, _) in ranked.items() if a in truth["true"])
        for fake in (f"{niche}-fake-spike", f"{niche}-fake-likes"):
            rank, flags = ranked[fake]
            assert rank > worst_true, f"{fake} ranks {rank}"
            expected = "follower_spike" if "spike" in fake else "likes_without_comments"
            assert expected in flags, f"{fake} not flagged: {flags}"
        assert not truth["off_niche"] & set(ranked), f"off-niche star in {niche}"
    clean = query(
        warehouse,
        """
        select count(*) from marts.account_authenticity
        where account_id like '%-true-%' and len(flags) > 0""",
    )
    assert clean == [(0,)]


def _planted_rule(account_id: str, niche_share: float) -> str | None:
    """The exclusion the world planted for an account of its niche, by its role."""
    role = account_id.split("-", 1)[1]
    if role.startswith(("nano-", "mid")):
        return "outside_tier"
    if role == "hidden-followers":
        return "followers_hidden"
    if role == "few-posts":
        return "too_few_posts"
    if role == "off-niche-minority" or (role.startswith("background-") and niche_share < 0.5):
        return "niche_share_below_minimum"
    return None  # planted to rank


@pytest.mark.parametrize("min_authenticity", [0, 70])
def test_every_unranked_planted_account_is_excluded_by_its_planted_rule(
    min_authenticity: int, tmp_path: Path
):
    """With the shipped rules, and with a minimum authenticity score that the planted
    fakes (a follower spike: 60; likes without comments: 75 minus what else they show)
    fall below."""
    world, truth = build_planted_world(7, unrateable=True)
    warehouse = tmp_path / "warehouse.duckdb"
    config = config_with(tmp_path, candidates={"min_authenticity_score": min_authenticity})
    build_and_transform(world, warehouse, config, AS_OF)
    # the niche share the world planted, counted from its own posts (all within 30 days)
    own = {}
    for post in world.posts:
        niche = next((n for n, texts in NICHE_TEXTS.items() if post["text"] in texts), None)
        assert niche or post["text"] in OFF_NICHE
        own.setdefault(post["account_id"], []).append(niche)
    ranked = {(s, a) for s, a in query(warehouse, "select scope, account_id from "
                                       "marts.candidates where scope_type = 'niche'")}  # fmt: skip
    excluded = {
        (scope, account_id): (rules, reason)
        for scope, account_id, rules, reason in query(
            warehouse,
            """select scope, account_id, exclusion_rules, exclusion_reason
               from marts.candidate_exclusions where scope_type = 'niche' and not is_candidate""",
        )
    }
    flagged = {
        a for (a,) in query(warehouse, "select account_id from marts.account_authenticity "
                            "where authenticity_score < ?", [min_authenticity])
    }  # fmt: skip
    seen_rules = set()
    for niche in NICHE_TEXTS:
        for account in {
            a["account_id"] for a in world.accounts if a["account_id"].startswith(niche)
        }:
            posts = own[account]
            share = posts.count(niche) / len(posts)
            planted = _planted_rule(account, share)
            if account in flagged:
                assert account in truth["fake"], f"{account} flagged below {min_authenticity}"
                planted = planted or "authenticity_below_minimum"
            if account in truth["off_niche"] and share == 0:
                # no niche post at all: it never matched the niche, so it has no row
                assert (niche, account) not in ranked | set(excluded), account
                continue
            if planted is None:
                assert (niche, account) in ranked, (
                    f"{account} not ranked: {excluded.get((niche, account))}"
                )
                continue
            assert (niche, account) not in ranked, f"{account} ranked in {niche}"
            rules, reason = excluded[(niche, account)]
            assert planted in rules, f"{account}: {rules}, planted {planted}"
            assert reason, account
            seen_rules.add(planted)
    expected = {"outside_tier", "followers_hidden", "too_few_posts", "niche_share_below_minimum"}
    if min_authenticity:
        expected.add("authenticity_below_minimum")
    assert seen_rules == expected
