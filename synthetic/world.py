"""A seeded synthetic world: accounts with roles, follower histories and daily posts.

Everything is drawn from ``random.Random`` instances seeded by strings, so one seed gives
the same world on every machine. Each account draws from its own generator; the order in
which accounts or days are visited never changes what an account does.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum


# The planted truth. A demanding niche ranking puts true micros on top of their niche and
# the fakes and off-niche high engagers below them.
class Role(StrEnum):
    true_micro = "true_micro"  # micro tier, in niche, high real engagement, steady growth
    fake_spike = "fake_spike"  # micro tier after a bought follower spike
    fake_likes = "fake_likes"  # likes with almost no comments
    follow_farm = "follow_farm"  # follows far more accounts than follow it
    off_niche = "off_niche"  # high engagement, but posts about something else
    regular = "regular"  # everyone else, all tiers
    # drawn by the week world (synthetic.week) only, never by ROLE_SHARES
    niche_purist = "niche_purist"  # every post in the niche, middling engagement
    hidden_count = "hidden_count"  # engages well, but hides its follower count
    tier_boundary = "tier_boundary"  # just under 10k or just over 100k followers
    deleted_hits = "deleted_hits"  # middling, but its viral posts are deleted mid-week
    backdated_import = "backdated_import"  # imports old viral niche posts (Bluesky)


ROLE_SHARES = {
    Role.true_micro: 0.06,
    Role.fake_spike: 0.02,
    Role.fake_likes: 0.02,
    Role.follow_farm: 0.02,
    Role.off_niche: 0.03,
}

INSTANCES = ("mastodon.social", "fosstodon.org", "greens.social", "bakers.social", "mstdn.es")
LANGUAGES = ("en", "en", "en", "de", "es")
EMOJI = ("🌱", "🍞", "🪴", "🏃", "✨", "🔥", "😊", "🙌", "🥕", "⛰️")
FIRST_NAMES = (
    "ana",
    "ben",
    "cleo",
    "dario",
    "eli",
    "fatma",
    "greta",
    "hugo",
    "ines",
    "jonas",
    "kim",
    "lena",
    "marco",
    "nora",
    "omar",
    "pia",
    "quinn",
    "rosa",
    "sami",
    "tess",
)
DISPLAY_SUFFIX = ("", " 🌿", " | she/her", " ✨", " (Berlin)", " — Madrid")

TEMPLATES = {
    "en": (
        "Today's {kw} experiment went better than expected",
        "Quick tip on {kw}: keep it simple & be patient",
        "Three things I learned about {kw} this week",
        "Can't stop thinking about {kw}. Who else?",
    ),
    "de": (
        "Heute wieder {kw} ausprobiert, und es hat geklappt",
        "Mein Tipp zu {kw}: Geduld und gute Zutaten",
        "Drei Dinge, die ich diese Woche über {kw} gelernt habe",
    ),
    "es": (
        "Hoy probé {kw} otra vez y salió genial",
        "Un consejo sobre {kw}: paciencia y buenos ingredientes",
        "Tres cosas que aprendí esta semana sobre {kw}",
    ),
}
# off-niche chatter: none of these words is a niche keyword or hashtag
OFF_TOPICS = (
    ("Coffee first, then emails. Monday again", "coffee"),
    ("Watched a great film tonight, no spoilers", "film"),
    ("Football tonight with friends", "football"),
    ("New podcast episode is out now", "podcast"),
    ("Train delayed again, reading a novel instead", "books"),
    ("That sunset over the river though", "photography"),
)


@dataclass(frozen=True)
class Niche:
    name: str
    keywords: tuple[str, ...]
    hashtags: tuple[str, ...]


@dataclass
class SynthPost:
    post_no: int  # per platform, increasing with time
    author: SynthAccount
    created_at: datetime
    text: str
    language: str
    hashtags: tuple[str, ...]  # as written, e.g. "PlantBased"
    in_niche: bool
    likes: int
    comments: int
    shares: int
    quotes: int
    is_reply: bool = False


@dataclass
class SynthAccount:
    index: int
    platform: str
    user: str
    instance: str  # Mastodon home instance; Bluesky handle domain
    role: Role
    niche: Niche | None
    followers: float
    following: int
    daily_growth: float  # mean relative growth per day
    rate: float  # mean own posts per day
    er: float  # mean (likes+comments+shares) / followers
    comment_share: float  # comments / (likes+comments+shares)
    niche_share: float  # chance a post is about the niche
    language: str
    hidden_followers: bool
    spike_day: int | None
    rng: random.Random = field(repr=False)
    statuses: int = 0
    recent: list[SynthPost] = field(default_factory=list, repr=False)
    bio: str | None = None  # the profile's bio; None: one naming the niche's first keyword

    @property
    def key(self) -> str:
        """The canonical account_id the pipeline derives."""
        if self.platform == "mastodon":
            return f"{self.user}@{self.instance}"
        return did_of(self)

    @property
    def handle(self) -> str:
        return self.key if self.platform == "mastodon" else f"{self.user}.{self.instance}"


def did_of(account: SynthAccount) -> str:
    digest = random.Random(f"did:{account.platform}:{account.index}").getrandbits(120)
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    chars = "".join(alphabet[(digest >> (5 * i)) & 31] for i in range(24))
    return f"did:plc:{chars}"


def tier_followers(rng: random.Random, role: Role) -> float:
    if role is Role.regular:
        # heavy tail: most accounts are small, a few are big
        return min(2_000_000.0, 300 * math.exp(rng.expovariate(1 / 2.2)))
    if role is Role.fake_spike:
        return rng.uniform(9_000, 40_000)  # the spike lifts it well into micro
    return rng.uniform(14_000, 80_000)


def make_account(
    seed: int, platform: str, index: int, niches: list[Niche], days: int, posts_per_day: float
) -> SynthAccount:
    rng = random.Random(f"{seed}:{platform}:{index}")
    draw, role = rng.random(), Role.regular
    for candidate, share in ROLE_SHARES.items():
        if draw < share:
            role = candidate
            break
        draw -= share
    niche = rng.choice(niches) if niches else None
    followers = tier_followers(rng, role)
    er = {
        Role.true_micro: rng.uniform(0.05, 0.08),
        Role.fake_likes: rng.uniform(0.05, 0.08),
        Role.off_niche: rng.uniform(0.06, 0.09),
        Role.fake_spike: rng.uniform(0.004, 0.01),
        Role.follow_farm: rng.uniform(0.004, 0.012),
    }.get(role, rng.uniform(0.003, 0.02))
    user = f"{rng.choice(FIRST_NAMES)}_{index:06d}"
    instance = rng.choice(INSTANCES) if platform == "mastodon" else "bsky.social"
    return SynthAccount(
        index=index,
        platform=platform,
        user=user,
        instance=instance,
        role=role,
        niche=niche,
        followers=followers,
        following=int(followers * 20) if role is Role.follow_farm else rng.randint(80, 900),
        daily_growth=rng.uniform(0.001, 0.004)
        if role is Role.true_micro
        else rng.uniform(-0.0005, 0.002),
        # true micros post steadily; everyone averages posts_per_day
        rate=posts_per_day
        * (rng.uniform(0.8, 1.4) if role is Role.true_micro else rng.uniform(0.3, 1.7)),
        er=er,
        comment_share=0.003 if role is Role.fake_likes else rng.uniform(0.08, 0.2),
        niche_share={Role.true_micro: 0.85, Role.off_niche: 0.03}.get(role, rng.uniform(0.2, 0.6)),
        language=rng.choice(LANGUAGES),
        hidden_followers=platform == "mastodon" and role is Role.regular and rng.random() < 0.02,
        spike_day=rng.randint(days // 2, max(days // 2, days - 3))
        if role is Role.fake_spike
        else None,
        rng=rng,
        statuses=rng.randint(50, 3000),
    )


def poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method; means here are small
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def advance_followers(account: SynthAccount, day_no: int) -> None:
    """One day of follower history; a fake's bought followers arrive on its spike day."""
    rng = account.rng
    growth = rng.gauss(account.daily_growth, 0.0015)
    if account.spike_day == day_no:
        growth = rng.uniform(0.9, 1.6)
    account.followers = max(50.0, account.followers * (1 + growth))


def post_text(account: SynthAccount, in_niche: bool) -> tuple[str, tuple[str, ...]]:
    rng = account.rng
    language = account.language
    if in_niche and account.niche is not None:
        keyword = rng.choice(account.niche.keywords)
        text = rng.choice(TEMPLATES[language]).format(kw=keyword)
        tags = tuple(rng.sample(account.niche.hashtags, k=min(2, len(account.niche.hashtags))))
        # the same tag written in another case must count as one tag
        if rng.random() < 0.2:
            tags = tuple(t.title() for t in tags)
    else:
        text, tag = rng.choice(OFF_TOPICS)
        tags = (tag,)
    if rng.random() < 0.4:
        text = f"{text} {rng.choice(EMOJI)}"
    return text, tags


def posts_for_day(account: SynthAccount, day: date, post_counter: list[int]) -> list[SynthPost]:
    """The account's own posts created on ``day``, oldest first."""
    rng = account.rng
    posts = []
    n = poisson(rng, account.rate)
    seconds = sorted(rng.randrange(86_400) for _ in range(n))
    base = datetime.combine(day, datetime.min.time())
    for second in seconds:
        in_niche = rng.random() < account.niche_share
        text, tags = post_text(account, in_niche)
        engagement = max(0.0, rng.gauss(account.er, account.er * 0.25)) * account.followers
        comments = int(engagement * account.comment_share)
        shares = int(engagement * 0.1)
        likes = max(0, int(engagement) - comments - shares)
        post_counter[0] += 1
        posts.append(
            SynthPost(
                post_no=post_counter[0],
                author=account,
                created_at=base + timedelta(seconds=second, milliseconds=rng.randrange(1000)),
                text=text,
                language=account.language,
                hashtags=tags,
                in_niche=in_niche,
                likes=likes,
                comments=comments,
                shares=shares,
                quotes=int(engagement * 0.01),
                is_reply=rng.random() < 0.05,
            )
        )
    account.statuses += n
    return posts
