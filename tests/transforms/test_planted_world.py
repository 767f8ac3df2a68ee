"""A seeded world with planted truth: real micro-influencers must rank first in their
niche; fakes must be flagged and rank below them; off-niche stars must not be candidates."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.core_builder import build_and_transform, config_with
from tests.helpers.planted_world import AS_OF, NICHE_TEXTS, build_planted_world
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
