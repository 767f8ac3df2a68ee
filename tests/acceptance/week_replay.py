"""A week of the radar on an unseen world, through the live clients (issue #21's
acceptance): the harness the suite's test and ``bench/replay_week.py`` share.

``replay_week`` builds a seeded week world (``synthetic.week``) whose week is the seven
days before today, serves it on 127.0.0.1 (``synthetic.live_api``) with faults on, writes
a config dir whose sources.yaml lists the tracked accounts (not the discovery-only ones)
and points every base URL at the emulator, with discovery on for Mastodon and Bluesky
(a session from an app password, so post search runs). Then for each day it sets the
emulator's clock to the day's end and runs the real DAGs ``niche_discovery →
social_ingest → signals`` with ``dag.test()`` for that day's logical date.

``judge`` compares the warehouse after day 7 with the world's truth.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from synthetic.__main__ import load_niches
from synthetic.live_api import LiveAPI
from synthetic.week import Reach, WeekAccount, WeekWorld, build_week
from synthetic.world import INSTANCES, Role
from tests.helpers.paths import ROOT
from tests.helpers.warehouse_helpers import load_dag, query

DAGS = ("niche_discovery", "social_ingest", "signals")
PLATFORMS = ["mastodon", "bluesky"]
DISCOVERY_INSTANCES = ["mastodon.social", "fosstodon.org"]
BLUESKY_LOGIN = "radar.bsky.social"
APP_PASSWORD = "wkly-rply-test-pass"
TOP = 4
# what may excuse a planted negative in a niche's top 10: a flag whose name says why
EXCUSES = {
    Role.fake_spike: ("spike", "jump"),
    Role.fake_likes: ("likes",),
    Role.follow_farm: ("following",),
    Role.off_niche: ("niche",),
    Role.backdated_import: ("niche",),
    Role.hidden_count: ("hidden",),
    Role.tier_boundary: ("tier",),
}


@dataclass
class Replay:
    world: WeekWorld
    api: LiveAPI
    data_dir: Path
    # day, DAG, final state, seconds
    runs: list[tuple[date, str, str, float]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def warehouse(self) -> Path:
        return self.data_dir / "warehouse.duckdb"


def week_end() -> date:
    """Today (UTC): the replayed week is the seven days before it, so the live planner's
    horizon check runs against real time."""
    return datetime.now(UTC).date()


def write_config(config_dir: Path, world: WeekWorld, api: LiveAPI) -> None:
    """The shipped config, with a sources.yaml for the emulated week."""
    shutil.copytree(ROOT / "config", config_dir)
    sources = yaml.safe_load((config_dir / "sources.yaml").read_text(encoding="utf-8"))
    # the first day is six days back: the horizon must reach it
    sources["backfill_horizon_days"] = 8
    sources["mastodon"]["accounts"] = world.listed("mastodon")
    sources["mastodon"]["instance_urls"] = {i: api.mastodon_url(i) for i in INSTANCES}
    sources["bluesky"]["base_url"] = api.appview_url
    sources["bluesky"]["actors"] = world.listed("bluesky")
    discovery = sources["discovery"]
    discovery["mastodon"] = {**(discovery.get("mastodon") or {}), "instances": DISCOVERY_INSTANCES}
    discovery["bluesky"] = {
        **(discovery.get("bluesky") or {}),
        "enabled": True,
        "pds_url": api.pds_url,
    }
    (config_dir / "sources.yaml").write_text(yaml.safe_dump(sources), encoding="utf-8")


def replay_week(
    seed: int,
    work: Path,
    *,
    fault_rate: float = 0.003,
    regulars: int = 120,
    outsiders: int = 20,
    end: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> Replay:
    """Seven days of ``niche_discovery → social_ingest → signals`` against the emulated
    world of ``seed`` (its planted accounts, ``regulars`` and ``outsiders``). Airflow's
    metadata DB must be set up (the ``airflow_db`` fixture)."""
    began = time.monotonic()
    niches = load_niches(ROOT / "config" / "niches.yaml")
    world = build_week(seed, end or week_end(), niches, regulars=regulars, outsiders=outsiders)
    api = LiveAPI(world, fault_rate=fault_rate, identifier=BLUESKY_LOGIN, app_password=APP_PASSWORD)
    replay = Replay(world, api, work / "data")
    with api, pytest.MonkeyPatch.context() as env:
        write_config(work / "config", world, api)
        env.setenv("RADAR_SOURCE", "live")
        env.setenv("RADAR_PLATFORMS", json.dumps(PLATFORMS))
        env.setenv("RADAR_CONFIG_DIR", str(work / "config"))
        env.setenv("RADAR_DATA_DIR", str(replay.data_dir))
        env.setenv("RADAR_RETRY_DELAY_SECONDS", "0")
        for name in ("RADAR_WAREHOUSE", "RADAR_WAREHOUSE_PATH", "RADAR_LAKE_DATA_PATH"):
            env.delenv(name, raising=False)
        login = {"conn_type": "generic", "login": BLUESKY_LOGIN, "password": APP_PASSWORD}
        env.setenv("AIRFLOW_CONN_RADAR_BLUESKY", json.dumps(login))
        for day in world.days:
            api.clock = day + timedelta(days=1)
            for dag_id in DAGS:
                started = time.monotonic()
                run = load_dag(dag_id).test(logical_date=day.replace(tzinfo=UTC))
                took = time.monotonic() - started
                replay.runs.append((day.date(), dag_id, str(run.state), took))
                if progress:
                    progress(f"seed {seed} {day:%Y-%m-%d} {dag_id}: {run.state}")
    replay.seconds = time.monotonic() - began
    return replay


@dataclass
class Verdict:
    """What the warehouse says against the truth, after the week."""

    seed: int
    precision_at_4: float
    recall_at_4: float
    recall_at_10: float
    micros: int
    micros_in_top_4: int
    problems: dict[str, list[str]]  # check: what failed it; empty when it passed
    tops: dict[str, list[str]]  # niche: its top 10, each with its planted role
    faults: int
    requests: int
    seconds: float

    def row(self) -> str:
        """This seed's line of ``TABLE_HEAD``'s table: the figures, then how many
        accounts each main check failed, then the other failed checks."""
        main = (UNFLAGGED, COUNTS, DELETIONS)
        others = ", ".join(
            f"{check} ({len(lines)})"
            for check, lines in self.problems.items()
            if check not in (MISPLACED, *main)  # recall@4 tells the misplaced micros
        )
        return (
            f"| {self.seed} | {self.precision_at_4:.2f} | {self.recall_at_4:.2f} | "
            f"{self.recall_at_10:.2f} | "
            + " | ".join(str(len(self.problems.get(check, []))) for check in main)
            + f" | {self.faults} | {others or 'none'} |"
        )


MISPLACED = "true micros outside their top 4"
UNFLAGGED = "negatives in a top 10 unflagged"
COUNTS = "own-post counts"
DELETIONS = "deletions"
TABLE_HEAD = (
    "| seed | P@4 | R@4 | R@10 | unflagged | counts off | deletions off | faults | other |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def _key(account: WeekAccount) -> tuple[str, str]:
    return account.platform, account.key.lower()


def judge(replay: Replay) -> Verdict:
    world, warehouse, as_of = replay.world, replay.warehouse, replay.world.end
    truth = {_key(a): a for a in world.accounts}
    posts = {p.key: p for a in world.accounts for p in a.posts}
    problems: dict[str, list[str]] = {
        "runs": [f"{d} {dag}: {s}" for d, dag, s, _ in replay.runs if s != "success"],
        "emulator": list(replay.api.errors),
        "faults not retried": replay.api.unanswered_faults,
        # a task that starts into a window another spent, or a walk done twice
        "429s past the rate-limit window": list(replay.api.refused),
        "requests asked twice": replay.api.repeated,
        "accounts walked twice": replay.api.walked_twice,
    }

    tracked = {
        (p, a): via
        for p, a, via in query(
            warehouse, "select platform, account_id, discovered_via from core.accounts"
        )
    }
    findable = [a for a in world.accounts if a.reach not in (Reach.listed, Reach.nobody)]
    problems["not discovered"] = [_who(a) for a in findable if _key(a) not in tracked]
    # each tracked from the day discovery could first find it: no room spent on others
    first_seen = {
        (p, a): at
        for p, a, at in query(
            warehouse,
            "select platform, account_id, min(observed_at) from core.account_snapshots "
            "group by 1, 2",
        )
    }
    problems["discovered late"] = [
        f"{_who(a)}: first snapshot {first_seen[_key(a)]:%Y-%m-%d %H:%M}, findable from "
        f"{a.findable_from(world.week_start):%Y-%m-%d}"
        for a in findable
        if _key(a) in first_seen
        and first_seen[_key(a)] >= a.findable_from(world.week_start) + timedelta(days=1)
    ]
    problems["discovered_via"] = [
        f"{_who(a)}: {via}"
        for a in world.accounts
        if (via := tracked.get(_key(a))) is not None
        and (via != "tracked" if a.listed else not via.startswith("discovery:"))
    ]

    rows = query(
        warehouse,
        """select scope, scope_rank, platform, account_id, flags,
                  format('score {:.3f}: ER {:.2f}% (engagement part {:.2f}), fit {:.2f}, '
                         || 'activity {:.2f}, authenticity {}',
                         score, engagement_rate_30d_mean * 100, engagement_part, fit_part,
                         activity_part, authenticity_score)
           from marts.candidates
           where as_of = ? and scope_type = 'niche'
           order by scope, scope_rank""",
        [as_of],
    )
    by_niche: dict[str, list[tuple[WeekAccount | None, list[str], str, str]]] = {}
    for niche, _, platform, account_id, flags, parts in rows:
        account = truth.get((platform, account_id.lower()))
        by_niche.setdefault(niche, []).append((account, list(flags or []), account_id, parts))
    hits_4 = hits_10 = shown_4 = micros = 0
    misplaced, unflagged, tops = [], [], {}
    for niche in world.niches:
        ranked = by_niche.get(niche.name, [])
        top_4 = [a for a, *_ in ranked[:TOP]]
        top_10 = [a for a, *_ in ranked[:10]]
        planted = [a for a in world.accounts if a.role is Role.true_micro and a.niche == niche]
        micros += len(planted)
        hits_4 += sum(a in top_4 for a in planted)
        hits_10 += sum(a in top_10 for a in planted)
        shown_4 += len(top_4)
        for account in planted:
            if account not in top_4:
                rank = next((i + 1 for i, (a, *_) in enumerate(ranked) if a is account), None)
                misplaced.append(f"{niche.name}: {_who(account)} at rank {rank}")
        for rank, (account, flags, *_) in enumerate(ranked[:10], start=1):
            role = account.role if account else None
            excuses = EXCUSES.get(role, ())
            if excuses and not any(e in f for f in flags for e in excuses):
                unflagged.append(f"{niche.name} #{rank}: {_who(account)} flags {flags}")
        tops[niche.name] = [
            f"{rank}. {account_id} ({a.role.value if a else 'unknown'}"
            f"{', ' + a.reach if a and a.reach != Reach.listed else ''}) {flags} {parts}"
            for rank, (a, flags, account_id, parts) in enumerate(ranked[:10], start=1)
        ]
    problems[MISPLACED] = misplaced
    problems[UNFLAGGED] = unflagged

    since = as_of - timedelta(days=30)
    counted = {
        (p, a): n
        for p, a, n in query(
            warehouse,
            """select p.platform, p.account_id, count(*)
               from core.posts as p
               anti join core.post_deletions as d
                   on p.platform = d.platform and p.post_id = d.post_id
               where p.kind in ('original', 'quote')
                   and p.created_at >= ? and p.created_at < ?
               group by 1, 2""",
            [since, as_of],
        )
    }
    seen = {post_id for (post_id,) in query(warehouse, "select post_id from core.posts")}
    deleted_of: dict[int, set[str]] = {}
    for (post_id,) in query(warehouse, "select post_id from core.post_deletions"):
        if post_id in posts:
            deleted_of.setdefault(id(posts[post_id].author), set()).add(post_id)
    wrong_counts, wrong_deletions, wrong_followers = [], [], []
    followers = {
        (p, a): f
        for p, a, f in query(
            warehouse,
            """select platform, account_id, arg_max(followers, observed_at)
               from core.account_snapshots where observed_at < ? group by 1, 2""",
            [as_of],
        )
    }
    for key in sorted(tracked):
        account = truth.get(key)
        if account is None:
            continue
        want = len(world.own_posts(account, as_of))
        got = counted.get(key, 0)
        if got != want:
            wrong_counts.append(f"{_who(account)}: {got} own posts in 30 days, truth {want}")
        # own posts of the window the radar loaded, deleted since: each must be recorded;
        # and no post the world still has may be
        truly = {k for k in world.deleted(account, as_of) if k in seen}
        said = deleted_of.get(id(account), set())
        missed, wrong = truly - said, said - world.deleted(account, as_of, days=None)
        if missed or wrong:
            wrong_deletions.append(
                f"{_who(account)}: {len(missed)} deletion(s) missed of {len(truly)}, "
                f"{len(wrong)} recorded for posts that exist"
            )
        real = None if account.hidden_followers else world.followers_at(account, as_of)
        if followers.get(key) != real:
            wrong_followers.append(f"{_who(account)}: {followers.get(key)} followers, truth {real}")
    problems[COUNTS] = wrong_counts
    problems[DELETIONS] = wrong_deletions
    problems["followers"] = wrong_followers
    return Verdict(
        seed=world.seed,
        precision_at_4=hits_4 / shown_4 if shown_4 else 0.0,
        recall_at_4=hits_4 / micros if micros else 0.0,
        recall_at_10=hits_10 / micros if micros else 0.0,
        micros=micros,
        micros_in_top_4=hits_4,
        problems={check: lines for check, lines in problems.items() if lines},
        tops=tops,
        faults=len(replay.api.faults),
        requests=sum(replay.api.requests.values()),
        seconds=replay.seconds,
    )


def _who(account: WeekAccount | None) -> str:
    if account is None:
        return "an account the world does not know"
    where = "" if account.reach == Reach.listed else f", {account.reach}"
    return f"{account.platform} {account.handle} ({account.role.value}{where})"
