"""A harder world for a week of live tracking, with its planted truth.

``synthetic.feed`` writes kind worlds: months of follower history, clean niche splits,
spikes the radar has weeks to see. This one is what a first week of tracking looks like.
The world has 45 days of history before the week, but the radar starts watching on the
week's first day, so its follower history is the week. Planted per niche:

- true micros (``true_micro``): 70-80 % of their posts in the niche, 5-8 % engagement;
- niche purists (``niche_purist``): every post in the niche, middling engagement;
- off-niche high engagers (``off_niche``): about a fifth of their posts in the niche;
- fakes: a bought 10-20 % follower jump on one day of the week after which engagement per
  follower falls (``fake_spike``), likes without comments (``fake_likes``), a follow farm
  (``follow_farm``);
- a hidden follower count (``hidden_count``, Mastodon's ``-1``), tier-boundary accounts
  just under 10k and just over 100k (``tier_boundary``);
- an account whose viral posts are deleted mid-week (``deleted_hits``) and, on Bluesky,
  an off-niche account that imports years-old niche posts during the week
  (``backdated_import``: ``createdAt`` years before ``indexedAt``);
- accounts that ``config/sources.yaml`` does not list, reachable only by discovery:
  Mastodon tag timelines and account search, Bluesky account search, and Bluesky post
  search by tags (in facets or only in ``record.tags``) or by keywords in the text; and,
  on each platform, one that carries niche tags only from the week's fourth day, after
  tracked accounts boosted its earlier posts (``found_late``).

Around them: regular accounts of every tier, and outsiders nobody tracks or finds, whose
posts tracked accounts boost or repost. Posts are deleted during the week, and off-topic
posts mention accounts named after niche keywords (``@tofu_ana``), which are no hit.

Time is naive UTC. ``created_at`` of a post is when the platform has it (Mastodon's
``created_at``, Bluesky's ``indexedAt``); ``client_created_at`` is a Bluesky client's
``record.createdAt`` when it says otherwise.
"""

from __future__ import annotations

import math
import random
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from synthetic.shapes import bluesky_uri, snowflake
from synthetic.world import (
    FIRST_NAMES,
    INSTANCES,
    LANGUAGES,
    TEMPLATES,
    Niche,
    Role,
    SynthAccount,
    SynthPost,
    poisson,
    post_text,
    tier_followers,
)

HISTORY_DAYS = 45
WEEK_DAYS = 7
# what discovery searches by default (config/sources.yaml: discovery)
SEARCHED_TAGS = 5
SEARCHED_KEYWORDS = 3
BOOST_CHANCE = 0.08  # per account and day, times its posting rate
DELETE_CHANCE = 0.015  # per post, some time during the week
BACKDATED_CHANCE = 0.02  # per Bluesky post of a regular account: an old import
MENTION_CHANCE = 0.15  # per off-topic post: an @mention named after a niche keyword
VIRAL_POSTS = 4  # a deleted_hits account's viral posts, all deleted mid-week
IMPORTED_POSTS = 25  # a backdated_import account's old niche posts, imported mid-week
MICRO = (14_000, 70_000)
FINDABLE_DAY = 3  # a late account's niche tags start on the week's fourth day
LATE_BOOSTS = 3  # of its posts before then, by tracked accounts
# in-niche texts that carry the niche only in their hashtags
TAG_ONLY_TEXTS = (
    "Another one for the collection",
    "Weekend project, finally done",
    "Could not be happier with how this turned out",
    "Same as last week, only better",
)
NEUTRAL_BIO = "Sharing what I make. Opinions my own."


class Reach(StrEnum):
    """How the radar can come to track an account."""

    listed = "listed"  # config/sources.yaml lists it
    mastodon = "mastodon_discovery"  # Mastodon tag timelines and account search
    actor_search = "bluesky_actor_search"  # Bluesky account search (a keyword in its bio)
    facet_tags = "bluesky_facet_tags"  # Bluesky post search by tag, tags in the text
    record_tags = "bluesky_record_tags"  # Bluesky post search by tag, only in record.tags
    keywords = "bluesky_keywords"  # Bluesky post search by keyword in the text
    # no tag nor searched word until day 4 of the week, when its posts start carrying
    # niche tags: discovery finds it then, after others boosted its earlier posts
    late = "found_late"
    nobody = "outsider"  # untracked and unfindable: only boosted or reposted


@dataclass
class WeekPost(SynthPost):
    client_created_at: datetime | None = None  # Bluesky record.createdAt, when it differs
    record_tags: bool = False  # Bluesky: hashtags only in record.tags, not in the text
    deleted_at: datetime | None = None
    key: str = ""  # the radar's post_id: the status uri, or the at:// uri

    @property
    def trusted_created_at(self) -> datetime:
        """When the radar must date the post: the earlier of the two times."""
        return min(self.created_at, self.client_created_at or self.created_at)

    def visible_at(self, at: datetime) -> bool:
        return self.created_at <= at and (self.deleted_at is None or self.deleted_at > at)


@dataclass
class Boost:
    """A boost (Mastodon) or repost (Bluesky) of ``original`` by ``booster`` at ``at``."""

    booster: WeekAccount
    original: WeekPost
    at: datetime
    seq: int

    def visible_at(self, at: datetime) -> bool:
        return self.at <= at and self.original.visible_at(at)


@dataclass
class WeekAccount(SynthAccount):
    reach: str = Reach.listed
    listed_as: str = ""  # how sources.yaml names it (a handle, a DID, user@instance)
    anchors: list[float] = field(default_factory=list, repr=False)  # followers each midnight
    spike_at: datetime | None = None
    spike_gain: int = 0
    boundary: str = ""  # tier_boundary: 'under' 10k or 'over' 100k
    posts: list[WeekPost] = field(default_factory=list, repr=False)

    @property
    def listed(self) -> bool:
        return self.reach == Reach.listed

    def findable_from(self, week_start: datetime) -> datetime:
        """From when discovery can find it: at once, or a late account's fourth day."""
        days = FINDABLE_DAY if self.reach == Reach.late else 0
        return week_start + timedelta(days=days)


@dataclass(frozen=True)
class Plan:
    platform: str
    role: Role
    niche: Niche | None
    reach: str = Reach.listed
    boundary: str = ""


@dataclass
class WeekWorld:
    seed: int
    origin: datetime  # the history's first midnight
    week_start: datetime  # the radar's first day
    end: datetime  # the week's end: the last run's as-of
    niches: list[Niche]
    accounts: list[WeekAccount]
    boosts: list[Boost]

    @property
    def days(self) -> list[datetime]:
        """The week's days (their midnights), the radar's runs."""
        return [self.week_start + timedelta(days=d) for d in range(WEEK_DAYS)]

    def followers_at(self, account: WeekAccount, at: datetime) -> int:
        """What the profile says at ``at``: the history, bought followers included."""
        return int(self._audience(account, at) + (account.spike_gain if _after(account, at) else 0))

    def _audience(self, account: WeekAccount, at: datetime) -> float:
        span = (at - self.origin).total_seconds() / 86_400
        day = min(max(int(math.floor(span)), 0), len(account.anchors) - 2)
        frac = min(max(span - day, 0.0), 1.0)
        return account.anchors[day] + (account.anchors[day + 1] - account.anchors[day]) * frac

    def own_posts(self, account: WeekAccount, as_of: datetime, days: int = 30) -> list[WeekPost]:
        """The account's own posts (no replies, no boosts) in the ``days`` before
        ``as_of`` as the radar must count them: dated by ``trusted_created_at``, present
        at ``as_of`` (created, not yet deleted)."""
        since = as_of - timedelta(days=days)
        return [
            p
            for p in account.posts
            if not p.is_reply and since <= p.trusted_created_at < as_of and p.visible_at(as_of)
        ]

    def deleted(self, account: WeekAccount, as_of: datetime, days: int | None = 30) -> set[str]:
        """Keys of the account's posts deleted before ``as_of``: with ``days``, only its
        own posts of the ``days`` before ``as_of`` (those the signals count)."""
        since = as_of - timedelta(days=days) if days is not None else None
        return {
            p.key
            for p in account.posts
            if p.deleted_at is not None
            and p.deleted_at < as_of
            and (since is None or (not p.is_reply and since <= p.trusted_created_at < as_of))
        }

    def listed(self, platform: str) -> list[str]:
        return [a.listed_as for a in self.accounts if a.platform == platform and a.listed]


def _after(account: WeekAccount, at: datetime) -> bool:
    return account.spike_at is not None and at >= account.spike_at


def _plans(niches: list[Niche], regulars: int, outsiders: int) -> list[Plan]:
    """The planted accounts, niche by niche, then the regulars and outsiders. Platforms
    alternate so each niche has planted accounts on both; one true micro per niche is
    reachable only by discovery, each niche by another way."""
    found = [Reach.mastodon, Reach.facet_tags, Reach.record_tags, Reach.keywords]
    plans = []
    for n, niche in enumerate(niches):
        m, b = ("mastodon", "bluesky") if n % 2 == 0 else ("bluesky", "mastodon")
        hidden_micro = found[n % len(found)]
        micro_platform = "mastodon" if hidden_micro == Reach.mastodon else "bluesky"
        plans += [
            Plan("mastodon", Role.true_micro, niche),
            Plan("bluesky", Role.true_micro, niche),
            Plan("mastodon" if micro_platform == "bluesky" else "bluesky", Role.true_micro, niche),
            Plan(micro_platform, Role.true_micro, niche, hidden_micro),
            Plan(m, Role.niche_purist, niche),
            Plan(b, Role.niche_purist, niche),
            Plan(m, Role.off_niche, niche),
            Plan(b, Role.off_niche, niche, Reach.mastodon if b == "mastodon" else Reach.listed),
            Plan(m, Role.fake_spike, niche, Reach.listed if n % 2 else _found_on(m)),
            Plan(b, Role.fake_likes, niche),
            Plan(m, Role.follow_farm, niche),
            Plan("mastodon", Role.hidden_count, niche, Reach.mastodon if n == 3 else Reach.listed),
            Plan(m, Role.tier_boundary, niche, boundary="under"),
            Plan(b, Role.tier_boundary, niche, boundary="over"),
            Plan(b, Role.deleted_hits, niche),
            Plan("bluesky", Role.backdated_import, niche),
            # a regular account discovery can find, beside the planted ones
            Plan(b, Role.regular, niche, _found_on(b)),
        ]
        if n < 2:  # found mid-week, once others boosted it: on each platform
            plans.append(Plan(("mastodon", "bluesky")[n], Role.niche_purist, niche, Reach.late))
    for i in range(regulars):
        plans.append(Plan(("mastodon", "bluesky")[i % 2], Role.regular, niches[i % len(niches)]))
    for i in range(outsiders):
        plans.append(Plan(("mastodon", "bluesky")[i % 2], Role.regular, None, Reach.nobody))
    return plans


def _found_on(platform: str) -> str:
    return Reach.mastodon if platform == "mastodon" else Reach.actor_search


def build_week(
    seed: int,
    end: date,
    niches: list[Niche],
    regulars: int = 220,
    outsiders: int = 30,
) -> WeekWorld:
    """The world whose week ends at ``end`` (a midnight, naive UTC): the radar's runs are
    the seven days before it. The same seed and end give the same world."""
    end_at = datetime.combine(end, datetime.min.time())
    week_start = end_at - timedelta(days=WEEK_DAYS)
    origin = week_start - timedelta(days=HISTORY_DAYS)
    counters = {"mastodon": 0, "bluesky": 0}
    accounts = []
    for plan in _plans(niches, regulars, outsiders):
        index = counters[plan.platform]
        counters[plan.platform] += 1
        accounts.append(_account(seed, plan, index, origin, week_start))
    world = WeekWorld(seed, origin, week_start, end_at, niches, accounts, [])
    for account in accounts:
        _write_posts(world, account)
    _number_posts(world)
    _boosts(world)
    _late_boosts(world)
    _deletions(world)
    return world


def _account(seed: int, plan: Plan, index: int, origin: datetime, week_start: datetime):
    rng = random.Random(f"week:{seed}:{plan.platform}:{index}")
    role = plan.role
    uniform = rng.uniform
    if plan.boundary == "under":
        target = uniform(9_300, 9_850)
    elif plan.boundary == "over":
        target = uniform(100_400, 104_000)
    elif role is Role.regular:
        target = tier_followers(rng, role)
    else:
        target = uniform(*MICRO)
    er = {
        Role.true_micro: uniform(0.05, 0.08),
        Role.niche_purist: uniform(0.015, 0.025),
        Role.off_niche: uniform(0.06, 0.09),
        Role.fake_spike: uniform(0.045, 0.07),
        Role.fake_likes: uniform(0.05, 0.08),
        Role.follow_farm: uniform(0.03, 0.05),
        Role.hidden_count: uniform(0.05, 0.08),
        Role.tier_boundary: uniform(0.05, 0.08),
        Role.deleted_hits: uniform(0.015, 0.025),
        Role.backdated_import: uniform(0.06, 0.09),
    }.get(role, uniform(0.003, 0.02))
    niche_share = {
        Role.true_micro: uniform(0.70, 0.80),
        Role.niche_purist: 1.0,
        Role.off_niche: uniform(0.17, 0.24),
        Role.deleted_hits: uniform(0.80, 0.90),
        Role.backdated_import: uniform(0.17, 0.24),
    }.get(role, uniform(0.75, 0.85) if role is not Role.regular else uniform(0.2, 0.6))
    if plan.niche is None:
        niche_share = 0.0
    growth = {
        Role.true_micro: uniform(0.001, 0.004),
        Role.tier_boundary: 0.0,
    }.get(role, uniform(-0.0005, 0.002))
    user = f"{rng.choice(FIRST_NAMES)}_{index:06d}"
    account = WeekAccount(
        index=index,
        platform=plan.platform,
        user=user,
        instance=rng.choice(INSTANCES) if plan.platform == "mastodon" else "bsky.social",
        role=role,
        niche=plan.niche,
        followers=target,
        following=rng.randint(80, 900),
        daily_growth=growth,
        rate=_rate(rng, role, plan.reach),
        er=er,
        comment_share=0.003 if role is Role.fake_likes else uniform(0.08, 0.2),
        niche_share=niche_share,
        language=rng.choice(LANGUAGES),
        hidden_followers=role is Role.hidden_count,
        spike_day=None,
        rng=rng,
        statuses=rng.randint(50, 3000),
        reach=plan.reach,
        boundary=plan.boundary,
    )
    account.bio = _bio(account)
    account.anchors = _anchors(account, target, origin, week_start)
    if role is Role.follow_farm:
        account.following = int(target * uniform(15, 25))
    if role is Role.fake_spike:
        # on day 2-5: two snapshots straddle it, and two days of posts follow it
        day = rng.randint(1, WEEK_DAYS - 3)
        account.spike_day = day
        account.spike_at = week_start + timedelta(days=day, hours=uniform(6, 20))
        account.spike_gain = int(target * uniform(0.10, 0.20))
    account.followers = account.anchors[-1] + account.spike_gain
    account.listed_as = _listed_as(account)
    return account


def _rate(rng: random.Random, role: Role, reach: str) -> float:
    """Own posts a day. A late account posts a lot: a page (40 statuses, 100 feed items)
    holds days, not weeks, so a first walk cut short by a cursor loses many posts."""
    if reach == Reach.late:
        return rng.uniform(4.0, 5.0)
    return rng.uniform(1.0, 1.5) if role is not Role.regular else rng.uniform(0.3, 1.7)


def _anchors(account: WeekAccount, target: float, origin: datetime, week_start: datetime):
    """Followers at each midnight from ``origin`` to the week's end, ``target`` when the
    week starts; a tier-boundary account never crosses its boundary."""
    rng = account.rng
    start = (week_start - origin).days
    steps = [rng.gauss(account.daily_growth, 0.0015) for _ in range(start + WEEK_DAYS)]
    if account.role is Role.tier_boundary:
        steps = [rng.uniform(-0.0004, 0.0004) for _ in steps]
    anchors = [0.0] * (len(steps) + 1)
    anchors[start] = target
    for k in range(start, len(steps)):
        anchors[k + 1] = anchors[k] * (1 + steps[k])
    for k in range(start - 1, -1, -1):
        anchors[k] = anchors[k + 1] / (1 + steps[k])
    if account.boundary == "under":
        anchors = [min(a, 9_950.0) for a in anchors]
    elif account.boundary == "over":
        anchors = [max(a, 100_050.0) for a in anchors]
    return [max(50.0, a) for a in anchors]


def _bio(account: WeekAccount) -> str:
    if account.niche is None:
        return "Posting about whatever."
    if account.reach in (Reach.facet_tags, Reach.record_tags, Reach.keywords, Reach.late):
        return NEUTRAL_BIO  # no searched keyword: only its posts can be found
    searched = account.niche.keywords[:SEARCHED_KEYWORDS]
    pool = searched if account.reach != Reach.listed else account.niche.keywords
    return f"Into {account.rng.choice(pool)} & more. Opinions my own."


def _listed_as(account: WeekAccount) -> str:
    """How sources.yaml lists it: Mastodon as user@instance, Bluesky by handle or, for one
    account in five, by DID."""
    if account.platform == "mastodon":
        return account.key
    return account.key if account.index % 5 == 0 else account.handle


def _tag_only_tags(niche: Niche) -> list[str]:
    """Searched hashtags that are no searched keyword: a post carrying only these is found
    by tag search alone."""
    keywords = {k.lower() for k in niche.keywords[:SEARCHED_KEYWORDS]}
    tags = [t for t in niche.hashtags[:SEARCHED_TAGS] if t.lower() not in keywords]
    return tags or list(niche.hashtags[:1])


def _post_text(account: WeekAccount, in_niche: bool, hidden: bool) -> tuple[str, tuple[str, ...]]:
    """A post's text and hashtags; ``hidden``: a late account before it can be found, whose
    niche posts name only keywords nobody searches and carry no tag."""
    rng, niche = account.rng, account.niche
    if in_niche and niche is not None and hidden:
        unsearched = niche.keywords[SEARCHED_KEYWORDS:] or niche.keywords
        return rng.choice(TEMPLATES[account.language]).format(kw=rng.choice(unsearched)), ()
    if in_niche and niche is not None and account.reach in (Reach.facet_tags, Reach.record_tags):
        tags = _tag_only_tags(niche)
        return rng.choice(TAG_ONLY_TEXTS), tuple(rng.sample(tags, k=min(2, len(tags))))
    if in_niche and niche is not None and account.reach == Reach.keywords:
        keyword = rng.choice(niche.keywords[:SEARCHED_KEYWORDS])
        return rng.choice(TEMPLATES[account.language]).format(kw=keyword), ()
    text, tags = post_text(account, in_niche)
    if in_niche and niche is not None and account.reach == Reach.late:
        # found by its first tagged post: tags discovery searches
        searched = niche.hashtags[:SEARCHED_TAGS]
        tags = tuple(rng.sample(searched, k=min(2, len(searched))))
    # (not on accounts only post search finds: a mention must not make them findable)
    if not in_niche and account.reach in (Reach.listed, Reach.mastodon) and niche is not None:
        # a mention named after a keyword is no hit for it
        words = [k for k in niche.keywords if re.fullmatch(r"\w+", k)]
        if words and rng.random() < MENTION_CHANCE:
            text = f"{text} @{rng.choice(words)}_{rng.choice(FIRST_NAMES)}"
    return text, tags


def _in_niche_pattern(rng: random.Random, n: int, share: float) -> list[bool]:
    """``n`` flags, ``share`` of them true, spread evenly (any run of m posts holds m ×
    share ± 1 niche posts), so a planted share holds in every window."""
    phase = rng.random()
    return [math.floor((i + 1) * share + phase) > math.floor(i * share + phase) for i in range(n)]


def _write_posts(world: WeekWorld, account: WeekAccount) -> None:
    rng = account.rng
    days = (world.end - world.origin).days
    times = []
    for day in range(days):
        base = world.origin + timedelta(days=day)
        # planted accounts post steadily (rate rounded up or down each day), so each has
        # posts on both sides of any day of the week; the rest at Poisson's whim
        if account.role is Role.regular:
            count = poisson(rng, account.rate)
        else:
            count = int(account.rate + rng.random())
        times += sorted(
            base + timedelta(seconds=rng.randrange(86_400), milliseconds=rng.randrange(1000))
            for _ in range(count)
        )
    pattern = _in_niche_pattern(rng, len(times), account.niche_share)
    for at, in_niche in zip(times, pattern, strict=True):
        account.posts.append(_post(world, account, at, in_niche, account.er))
    if account.role is Role.deleted_hits:
        _viral_posts(world, account)
    if account.role is Role.backdated_import:
        _imports(world, account)
    if account.platform == "bluesky" and account.role is Role.regular:
        for post in account.posts:
            if rng.random() < BACKDATED_CHANCE:
                post.client_created_at = post.created_at - timedelta(days=rng.uniform(400, 1500))
    account.posts.sort(key=lambda p: p.created_at)


def _post(
    world: WeekWorld, account: WeekAccount, at: datetime, in_niche: bool, er: float
) -> WeekPost:
    rng = account.rng
    hidden = account.reach == Reach.late and at < account.findable_from(world.week_start)
    text, tags = _post_text(account, in_niche, hidden)
    # bought followers do not engage: engagement follows the real audience
    engagement = max(0.0, rng.gauss(er, er * 0.25)) * world._audience(account, at)
    comments = int(engagement * account.comment_share)
    shares = int(engagement * 0.1)
    return WeekPost(
        post_no=0,
        author=account,
        created_at=at,
        text=text,
        language=account.language,
        hashtags=tags,
        in_niche=in_niche,
        likes=max(0, int(engagement) - comments - shares),
        comments=comments,
        shares=shares,
        quotes=int(engagement * 0.01),
        is_reply=rng.random() < 0.05,
        record_tags=account.reach == Reach.record_tags,
    )


def _viral_posts(world: WeekWorld, account: WeekAccount) -> None:
    """Viral niche posts 8-22 days before the week's end, each deleted on day 3-5 of the
    week: counted, they would lift the account's rate to a true micro's."""
    rng = account.rng
    for _ in range(VIRAL_POSTS):
        at = world.end - timedelta(days=rng.uniform(8, 22))
        post = _post(world, account, at, True, rng.uniform(0.25, 0.40))
        post.is_reply = False
        post.deleted_at = world.week_start + timedelta(days=rng.uniform(2, 5))
        account.posts.append(post)


def _imports(world: WeekWorld, account: WeekAccount) -> None:
    """Old niche posts imported within an hour on day 2-4 of the week: indexed now,
    created years ago. Counted by their indexing time, they would give the account a
    niche majority."""
    rng = account.rng
    imported_at = world.week_start + timedelta(days=rng.uniform(1, 4))
    for i in range(IMPORTED_POSTS):
        post = _post(world, account, imported_at + timedelta(seconds=90 * i), True, account.er)
        post.is_reply = False
        post.client_created_at = imported_at - timedelta(days=rng.uniform(400, 1500))
        account.posts.append(post)


def _number_posts(world: WeekWorld) -> None:
    """Post numbers grow with time per platform (ids sort as times do); then the keys."""
    for platform in ("mastodon", "bluesky"):
        posts = sorted(
            (p for a in world.accounts if a.platform == platform for p in a.posts),
            key=lambda p: (p.created_at, p.author.index),
        )
        for number, post in enumerate(posts, start=1):
            post.post_no = number
            post.key = post_key(post)


def post_key(post: WeekPost) -> str:
    author = post.author
    if author.platform == "mastodon":
        status_id = snowflake(post.created_at, post.post_no)
        return f"https://{author.instance}/users/{author.user}/statuses/{status_id}"
    return bluesky_uri(post)


def _boosts(world: WeekWorld) -> None:
    """Tracked and findable accounts boost (repost) recent posts of others, outsiders'
    and discovery-only accounts' above all."""
    rng = random.Random(f"week:{world.seed}:boosts")
    seq = 1_000_000
    for platform in ("mastodon", "bluesky"):
        accounts = [a for a in world.accounts if a.platform == platform]
        # no reply and no import is boosted
        boostable = (p for a in accounts for p in a.posts if p.client_created_at is None)
        posts = sorted((p for p in boostable if not p.is_reply), key=lambda p: p.created_at)
        pools = [
            [p for p in posts if p.author.reach == Reach.nobody],
            [p for p in posts if p.author.reach not in (Reach.nobody, Reach.listed)],
            posts,
        ]
        starts = [[p.created_at for p in pool] for pool in pools]
        for account in accounts:
            if account.reach == Reach.nobody:
                continue
            for day in range((world.end - world.origin).days):
                if rng.random() >= BOOST_CHANCE * account.rate:
                    continue
                at = world.origin + timedelta(days=day, seconds=rng.randrange(86_400))
                which = rng.randrange(len(pools))
                for pool, times in ((pools[which], starts[which]), (posts, starts[-1])):
                    lo, hi = bisect_right(times, at - timedelta(days=2)), bisect_right(times, at)
                    recent = [p for p in pool[lo:hi] if p.author is not account]
                    if recent:
                        break
                if recent and at < world.end:
                    seq += 1
                    world.boosts.append(Boost(account, rng.choice(recent), at, seq))


def _late_boosts(world: WeekWorld) -> None:
    """Tracked accounts boost a late account's posts of the week before it can be found:
    its first walk must still reach back ``initial_days``, whatever those boosts left."""
    rng = random.Random(f"week:{world.seed}:late-boosts")
    seq = 2_000_000
    for account in world.accounts:
        if account.reach != Reach.late:
            continue
        findable = account.findable_from(world.week_start)
        boosters = [a for a in world.accounts if a.platform == account.platform and a.listed]
        early = [
            p
            for p in account.posts
            if world.week_start <= p.created_at < findable - timedelta(hours=8) and not p.is_reply
        ]
        for post in rng.sample(early, k=min(LATE_BOOSTS, len(early))):
            seq += 1
            at = post.created_at + timedelta(hours=rng.uniform(1, 6))
            world.boosts.append(Boost(rng.choice(boosters), post, at, seq))


def _deletions(world: WeekWorld) -> None:
    """Some posts are deleted during the week, once they exist and after its first day."""
    rng = random.Random(f"week:{world.seed}:deletions")
    earliest = world.week_start + timedelta(days=1, hours=1)
    for account in world.accounts:
        for post in account.posts:
            if post.deleted_at is not None or rng.random() >= DELETE_CHANCE:
                continue
            lo = max(post.created_at + timedelta(hours=1), earliest)
            hi = world.end - timedelta(hours=1)
            if lo < hi:
                post.deleted_at = lo + (hi - lo) * rng.random()
