"""A seeded world with planted truth, for the transform tests: true micro-influencers per
niche, fakes (a follower spike, likes without comments, followers bought days before the
run), off-niche stars (none or a minority of their posts in the niche), nano and mid
accounts."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tests.helpers.core_builder import World

AS_OF = datetime(2026, 3, 1)
NICHE_TEXTS = {
    "plant_based_cooking": [
        "tofu scramble for breakfast",
        "lentils and chickpeas curry",
        "vegan chili tonight",
        "tempeh tacos again",
    ],
    "sourdough_baking": [
        "sourdough loaf crumb shot",
        "feeding my levain",
        "new starter schedule",
        "Sauerteigbrot aus dem Ofen",
    ],
    "houseplants": [
        "repotting the monstera",
        "pothos cuttings everywhere",
        "Zimmerpflanzen update",
        "new houseplants arrived",
    ],
    "trail_running": [
        "trail run in the fog",
        "ultramarathon training block",
        "trail race recap",
        "ultra marathon pacing notes",
    ],
}
OFF_NICHE = [
    "match day thoughts",
    "election night recap",
    "new phone review",
    "coffee and emails",
    "weekend traffic rant",
]


def plant(
    world: World,
    rng: random.Random,
    account_id: str,
    platform: str,
    niche: str,
    *,
    followers: int,
    growth: float,
    posts: int,
    niche_probability: float,
    rate: tuple[float, float],
    comment_share: float = 0.10,
    spike: int | None = None,
    spike_day: int = 12,
    history_days: int = 30,
    niche_posts: int | None = None,
    bought: bool = False,
) -> None:
    """One account: ``history_days`` daily snapshots (the last the day before ``AS_OF``)
    and ``posts`` posts with counts from ``rate``. ``spike`` followers arrive ``spike_day``
    days before ``AS_OF``; ``bought`` ones never engage, so its rate per follower falls.
    ``niche_posts`` makes exactly that many posts niche posts instead of drawing each."""
    world.account(account_id, platform=platform)
    counts, organic = {}, {}
    bought_followers = 0
    for day in range(history_days, 0, -1):
        at = AS_OF - timedelta(days=day, hours=-6)
        if day != history_days:
            followers += round(followers * growth * rng.uniform(0.8, 1.2))
            if spike is not None and day == spike_day:
                followers += spike
                bought_followers = spike if bought else 0
        counts[at.date()] = followers
        organic[at.date()] = followers - bought_followers
        world.snapshot(account_id, at, followers, platform=platform)
    first_day = min(counts)
    base_rate = rng.uniform(*rate)
    for i in range(posts):
        created = AS_OF - timedelta(days=rng.uniform(0.5, 29.5))
        if niche_posts is None:
            in_niche = rng.random() < niche_probability
        else:
            in_niche = i < niche_posts
        text = rng.choice(NICHE_TEXTS[niche] if in_niche else OFF_NICHE)
        # the audience that engages: the organic followers of the day (the first
        # snapshot's for a post older than every snapshot)
        day = max(created.date(), first_day)
        followers_then = organic.get(day, followers - bought_followers)
        engagement = followers_then * base_rate * rng.uniform(0.9, 1.1)
        comments = round(engagement * comment_share)
        shares = round(engagement * 0.05)
        world.post(
            account_id,
            f"{account_id}-{i}",
            created,
            text,
            likes=max(round(engagement) - comments - shares, 0),
            comments=comments,
            shares=shares,
            platform=platform,
        )


def build_planted_world(seed: int, unrateable: bool = False) -> tuple[World, dict[str, set[str]]]:
    """The world and its truth; ``unrateable`` adds ``plant_unrateable_cases``."""
    rng = random.Random(seed)
    world, truth = World(), {"true": set(), "fake": set(), "off_niche": set()}
    for n, niche in enumerate(NICHE_TEXTS):
        for i in range(3):
            name = f"{niche}-true-{i}"
            plant(
                world,
                rng,
                name,
                ("mastodon", "bluesky")[i % 2],
                niche,
                followers=rng.randint(15_000, 80_000),
                growth=0.002,
                posts=14,
                niche_probability=0.95,
                rate=(0.045, 0.06),
            )
            truth["true"].add(name)
        for i in range(10):
            plant(
                world,
                rng,
                f"{niche}-background-{i}",
                ("mastodon", "bluesky")[i % 2],
                niche,
                followers=rng.randint(10_000, 95_000),
                growth=0.0005,
                posts=rng.randint(8, 14),
                niche_probability=0.5,
                rate=(0.01, 0.025),
            )
        spiky, liked = f"{niche}-fake-spike", f"{niche}-fake-likes"
        plant(
            world,
            rng,
            spiky,
            "mastodon",
            niche,
            followers=30_000,
            growth=0.0005,
            posts=14,
            niche_probability=0.95,
            rate=(0.05, 0.06),
            spike=9_000,
        )
        plant(
            world,
            rng,
            liked,
            "bluesky",
            niche,
            followers=40_000,
            growth=0.001,
            posts=14,
            niche_probability=0.95,
            rate=(0.055, 0.065),
            comment_share=0.0,
        )
        truth["fake"] |= {spiky, liked}
        star = f"{niche}-off-niche-star"
        plant(
            world,
            rng,
            star,
            ("mastodon", "bluesky")[n % 2],
            niche,
            followers=rng.randint(20_000, 90_000),
            growth=0.002,
            posts=14,
            niche_probability=0.0,
            rate=(0.07, 0.08),
        )
        truth["off_niche"].add(star)
        for i in range(2):  # outside the micro tier: never niche candidates
            plant(
                world,
                rng,
                f"{niche}-nano-{i}",
                "mastodon",
                niche,
                followers=5_000,
                growth=0.002,
                posts=14,
                niche_probability=0.95,
                rate=(0.08, 0.09),
            )
        plant(
            world,
            rng,
            f"{niche}-mid",
            "bluesky",
            niche,
            followers=200_000,
            growth=0.001,
            posts=14,
            niche_probability=0.95,
            rate=(0.03, 0.04),
        )
    plant_harder_cases(world, random.Random(f"{seed}-harder"), truth)
    if unrateable:
        plant_unrateable_cases(world, random.Random(f"{seed}-unrateable"))
    return world, truth


def plant_harder_cases(world: World, rng: random.Random, truth: dict[str, set[str]]) -> None:
    """Issue 21's cases, per niche, from their own generator so the accounts above stay as
    they were: a high engager with only 3 of its 14 posts in the niche, and an account
    tracked for 3 days that bought 12,000 followers two days before the run."""
    for n, niche in enumerate(NICHE_TEXTS):
        minority = f"{niche}-off-niche-minority"
        plant(
            world,
            rng,
            minority,
            ("bluesky", "mastodon")[n % 2],
            niche,
            followers=rng.randint(20_000, 90_000),
            growth=0.002,
            posts=14,
            niche_probability=0.0,
            niche_posts=3,
            rate=(0.07, 0.08),
        )
        truth["off_niche"].add(minority)
        fresh = f"{niche}-fresh-spike"
        plant(
            world,
            rng,
            fresh,
            ("mastodon", "bluesky")[n % 2],
            niche,
            followers=25_000,
            growth=0.002,
            posts=14,
            niche_probability=0.95,
            rate=(0.05, 0.06),
            spike=12_000,
            spike_day=2,
            history_days=3,
            bought=True,
        )
        truth["fake"].add(fresh)


def plant_unrateable_cases(world: World, rng: random.Random) -> None:
    """Issue 17's, per niche, from their own generator: a focused micro account that
    hides its follower count, and one with only 3 own posts in 30 days; neither can be
    rated, so neither may rank."""
    for n, niche in enumerate(NICHE_TEXTS):
        platform = ("mastodon", "bluesky")[n % 2]
        few = f"{niche}-few-posts"
        plant(
            world,
            rng,
            few,
            platform,
            niche,
            followers=rng.randint(20_000, 60_000),
            growth=0.002,
            posts=3,
            niche_probability=1.0,
            rate=(0.05, 0.06),
        )
        hidden = f"{niche}-hidden-followers"
        world.account(hidden, platform=platform)
        for day in range(30, 0, -1):
            world.snapshot(hidden, AS_OF - timedelta(days=day, hours=-6), None, platform=platform)
        for i in range(12):
            world.post(
                hidden,
                f"{hidden}-{i}",
                AS_OF - timedelta(days=rng.uniform(0.5, 29.5)),
                rng.choice(NICHE_TEXTS[niche]),
                likes=rng.randint(400, 900),
                comments=rng.randint(20, 60),
                shares=rng.randint(10, 40),
                platform=platform,
            )
