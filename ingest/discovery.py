"""Account discovery: which terms to search, and which sighted accounts to track next.

niche_discovery reads the hashtag timelines of each niche's hashtags and searches accounts
by its keywords (``config/niches.yaml``), lands a sighting per account and term
(``core.account_discoveries``: ``#tag`` or the keyword), and queues the best
new accounts per niche in ``meta.tracking_queue``, under caps, so discovery can neither
eat the request quota nor flood the tracked set. Live social_ingest runs track the queue
beside ``config/sources.yaml``.

An account is tracked already when any of its keys names it: its account id (a Mastodon
``user@instance``, a Bluesky DID, a YouTube channel id, an Instagram id, a TikTok
username) or its handle, compared as ``tracking_key`` spells them (case-insensitive, no
leading ``@``), against what ``config/sources.yaml`` lists, ``core.accounts`` and the
queue. Such an account is never queued, never takes a niche's room, is never relabelled
``discovery:…`` and is never walked a second time under its other key. A warehouse
written before discovery could tell them is repaired by the next load
(``repair_listed_accounts``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import yaml

from radar.canonical import PROFILE_TERM
from radar.text import normalize_tag
from radar.warehouse import WarehouseTarget, retry_conflicts, rollback_quietly

log = logging.getLogger(__name__)


def niche_terms(config_dir: Path) -> dict[str, dict[str, list[str]]]:
    """Each niche's hashtags (normalised as posts' hashtags are) and keywords (lowercase
    NFC), as ``{niche: {"hashtags": [...], "keywords": [...]}}``, in the order
    ``config/niches.yaml`` lists them (a term spelt twice is kept where it first appears):
    discovery searches each niche's first terms."""
    niches = yaml.safe_load((config_dir / "niches.yaml").read_text(encoding="utf-8"))["niches"]
    return {
        name: {
            "hashtags": list(dict.fromkeys(normalize_tag(t) for t in spec.get("hashtags", []))),
            "keywords": list(dict.fromkeys(normalize_tag(k) for k in spec.get("keywords", []))),
        }
        for name, spec in niches.items()
    }


def search_terms(terms: dict[str, list[str]]) -> list[str]:
    """A niche's terms as sightings name them: ``#tag`` for hashtags, keywords as they are."""
    return [f"#{t}" for t in terms["hashtags"]] + list(terms["keywords"])


def tracking_key(account: str) -> str:
    """An account id or handle as accounts are compared across their keys: without
    surrounding spaces or a leading ``@``, lower case (``@Ana.bsky.social``,
    ``ana.bsky.social``; ``@Lena@Greens.Social``, ``lena@greens.social``)."""
    return account.strip().lstrip("@").lower()


def configured_accounts(config_dir: Path | None = None) -> dict[str, list[str]]:
    """The accounts ``config/sources.yaml`` tracks per platform (``RADAR_CONFIG_DIR``'s
    when ``config_dir`` is None), as listed there."""
    from ingest.live_source import load_sources
    from radar.settings import RadarSettings

    return load_sources(config_dir or RadarSettings().config_dir).tracked()


def _configured_keys(tracked: Mapping[str, Sequence[str]] | None) -> tuple[list, list]:
    """The configured accounts as two parallel lists (platform, ``tracking_key``), the
    shape the queries below unnest."""
    tracked = configured_accounts() if tracked is None else tracked
    pairs = sorted({(p, tracking_key(a)) for p, accounts in tracked.items() for a in accounts})
    return [p for p, _ in pairs], [k for _, k in pairs]


def queue_discovered(
    conn: duckdb.DuckDBPyConnection,
    niches: dict[str, dict[str, list[str]]],
    as_of: datetime,
    max_new_per_niche: int,
    followers_band: tuple[int, int],
    tracked: Mapping[str, Sequence[str]] | None = None,
) -> int:
    """Queue up to ``max_new_per_niche`` new accounts per niche and interval (``as_of``);
    returns how many. A rerun of the interval adds nothing the first run did not leave room
    for.

    New means tracked by none of its keys: not listed in ``config/sources.yaml``
    (``tracked``: the accounts per platform it lists, read from ``RADAR_CONFIG_DIR`` when
    None) by its account id or its handle, not in ``core.accounts``, not queued before. So
    an account tracked already, even before its first ingest, takes no niche's room.
    Accounts in the follower band (the micro tier by default) come first, then the most
    sightings, then the most followers. An account seen under two niches' tags is queued
    once.
    """
    pairs = [(niche, term) for niche, terms in niches.items() for term in search_terms(terms)]
    if not pairs:
        return 0
    configured_platforms, configured_keys = _configured_keys(tracked)
    before = conn.execute("select count(*) from meta.tracking_queue").fetchone()[0]
    conn.execute(
        """
        insert into meta.tracking_queue
        with watch as (
            select unnest(?::varchar[]) as niche, unnest(?::varchar[]) as term
        ),
        -- config/sources.yaml's accounts, each as tracking_key spells it
        configured as (
            select unnest(?::varchar[]) as platform, unnest(?::varchar[]) as key
        ),
        sighted as (
            select d.platform, d.account_id, w.niche,
                   -- a profile read knows the account's current handle best
                   coalesce((select arg_max(p.handle, p.observed_at)
                             from core.account_discoveries as p
                             where p.platform = d.platform and p.account_id = d.account_id
                               and p.term = ? and p.observed_at < ?),
                            arg_max(d.handle, d.observed_at)) as handle,
                   arg_max(d.term, d.observed_at) as term,
                   -- the latest count any sighting of the account had (a profile read
                   -- made during discovery, when search results carry none)
                   coalesce(arg_max(d.followers, d.observed_at),
                            (select arg_max(p.followers, p.observed_at)
                             from core.account_discoveries as p
                             where p.platform = d.platform and p.account_id = d.account_id
                               and p.followers is not null
                               and p.observed_at < ?)) as followers,
                   count(*) as sightings
            from core.account_discoveries as d
            join watch as w on w.term = d.term
            where d.first_seen_at < ?
              and not exists (select 1 from core.accounts as a
                              where a.platform = d.platform and a.account_id = d.account_id)
              and not exists (select 1 from meta.tracking_queue as q
                              where q.platform = d.platform and q.account_id = d.account_id)
            group by d.platform, d.account_id, w.niche
        ),
        ranked as (
            select *,
                   coalesce(followers between ? and ?, false) as in_band
            from sighted as s
            -- listed in sources.yaml by its id or by its handle (a Bluesky DID sighted,
            -- its handle listed; a YouTube channel id sighted, its @handle listed, known
            -- from the profile read): tracked already, if not loaded yet
            where not exists (select 1 from configured as c
                              where c.platform = s.platform
                                and c.key in (lower(s.account_id), lower(ltrim(s.handle, '@'))))
            -- one niche per account: the one it was seen under most
            qualify row_number() over (partition by platform, account_id
                                       order by sightings desc, niche) = 1
        )
        select r.platform, r.account_id, r.handle, r.niche, r.term, r.followers,
               now()::timestamp, ?
        from ranked as r
        -- the cap is per interval: a rerun of it fills only what the first run left
        left join (select niche, count(*) as n from meta.tracking_queue
                   where queued_for = ? group by niche) as already using (niche)
        qualify row_number() over (
            partition by r.niche
            order by in_band desc, sightings desc, followers desc nulls last, account_id
        ) <= ? - coalesce(any_value(already.n) over (partition by r.niche), 0)
        """,
        [
            [n for n, _ in pairs],
            [t for _, t in pairs],
            configured_platforms,
            configured_keys,
            PROFILE_TERM,
            as_of,
            as_of,
            as_of,
            followers_band[0],
            followers_band[1] - 1,
            as_of,
            as_of,
            max_new_per_niche,
        ],
    )
    queued = conn.execute("select count(*) from meta.tracking_queue").fetchone()[0] - before
    log.info("discovery: queued %s new accounts (at most %s per niche)", queued, max_new_per_niche)
    return queued


# an account config/sources.yaml lists by one of {keys}, against the two unnested lists
# of _configured_keys
_LISTED = """exists (
    select 1
    from (select unnest(?::varchar[]) as platform, unnest(?::varchar[]) as key) as c
    where c.platform = {platform} and c.key in ({keys})
)"""


def _touched_by_discovery(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether anything is queued or labelled ``discovery:…``: else there is nothing to
    mark or repair, and sources.yaml, which only discovery needs, is not read."""
    return conn.execute(
        """select exists (select 1 from meta.tracking_queue)
                  or exists (select 1 from core.accounts
                             where discovered_via like 'discovery:%')"""
    ).fetchone()[0]


def repair_listed_accounts(
    conn: duckdb.DuckDBPyConnection, tracked: Mapping[str, Sequence[str]] | None = None
) -> tuple[int, int]:
    """Give the accounts ``config/sources.yaml`` lists (``tracked``, read from
    ``RADAR_CONFIG_DIR`` when None) back what discovery took from them in a warehouse
    written before it could tell them (issue #21, finding 5): discovery had queued them
    (before their first ingest, or a Bluesky account by its DID while its handle was
    listed), ingest then labelled them ``discovery:…`` and walked them a second time
    under the queued key. Each such account carries ``tracked``, the list's label, again
    and leaves the queue: one account, walked once, by the key the list gives. So does an
    account listed after discovery queued it: the list tracks it now.

    Returns (accounts relabelled, queue rows removed); a second call finds nothing."""
    if not _touched_by_discovery(conn):
        return 0, 0
    listed = list(_configured_keys(tracked))
    account_listed = _LISTED.format(
        platform="a.platform", keys="lower(a.account_id), lower(ltrim(a.handle, '@'))"
    )
    # by its queued key, its queued handle, or the handle it has loaded with
    queued_listed = _LISTED.format(
        platform="q.platform",
        keys="""lower(q.account_id), lower(ltrim(q.handle, '@')),
                lower(ltrim((select a.handle from core.accounts as a
                             where a.platform = q.platform
                                 and a.account_id = q.account_id), '@'))""",
    )

    def repair() -> tuple[int, int]:
        conn.execute("begin transaction")
        try:
            relabelled = conn.execute(
                f"""update core.accounts as a set discovered_via = 'tracked'
                    where a.discovered_via like 'discovery:%' and {account_listed}""",
                listed,
            ).fetchone()[0]
            dequeued = conn.execute(
                f"delete from meta.tracking_queue as q where {queued_listed}", listed
            ).fetchone()[0]
            conn.execute("commit")
        except BaseException as exc:
            rollback_quietly(conn, exc)
            raise
        return relabelled, dequeued

    # on the lake, a concurrent loader's commit to core.accounts makes this one redo
    relabelled, dequeued = retry_conflicts(repair, "listed accounts")
    if relabelled or dequeued:
        log.info(
            "discovery: %s listed accounts labelled tracked again, %s left the queue",
            relabelled,
            dequeued,
        )
    return relabelled, dequeued


def mark_discovered_accounts(
    conn: duckdb.DuckDBPyConnection, tracked: Mapping[str, Sequence[str]] | None = None
) -> int:
    """Record how a queued account was found, once live ingest has loaded it: its
    ``core.accounts.discovered_via`` becomes ``discovery:<niche>:<term>`` instead of
    ``tracked``. The loader keeps the first value of that column, so this sticks.

    An account ``config/sources.yaml`` lists (``tracked``, read from ``RADAR_CONFIG_DIR``
    when None) by its id or its loaded handle stays ``tracked``, even if it is in the
    queue (queued before its first load, under a key the queue could not tell apart); one
    that an older warehouse labelled ``discovery:…`` or queued is repaired first
    (``repair_listed_accounts``)."""
    if not _touched_by_discovery(conn):
        return 0
    tracked = configured_accounts() if tracked is None else tracked
    repair_listed_accounts(conn, tracked)
    if not conn.execute("select count(*) from meta.tracking_queue").fetchone()[0]:
        return 0
    configured_platforms, configured_keys = _configured_keys(tracked)
    before = conn.execute(
        "select count(*) from core.accounts where discovered_via like 'discovery:%'"
    ).fetchone()[0]
    statement = """
        update core.accounts as a
        set discovered_via = 'discovery:' || q.niche || ':' || q.term
        from meta.tracking_queue as q
        where a.platform = q.platform
            and a.account_id = q.account_id
            and a.discovered_via = 'tracked'
            and not exists (
                select 1
                from (select unnest(?::varchar[]) as platform, unnest(?::varchar[]) as key)
                    as c
                where c.platform = a.platform
                    and c.key in (lower(a.account_id), lower(ltrim(a.handle, '@')))
            )
        """
    # on the lake, a concurrent loader's commit to core.accounts makes this one redo
    retry_conflicts(
        lambda: conn.execute(statement, [configured_platforms, configured_keys]),
        "discovered accounts",
    )
    after = conn.execute(
        "select count(*) from core.accounts where discovered_via like 'discovery:%'"
    ).fetchone()[0]
    return after - before


# what the live planner fetches a queued account by: its key (a Mastodon acct, a Bluesky
# DID, a YouTube channel id, a TikTok username), except on Instagram, whose business
# discovery takes the username while the key is the numeric id
_FETCH_BY_HANDLE = ("instagram",)


@dataclass(frozen=True)
class QueuedAccount:
    """A queued account: what the live planner fetches it by, and the keys it is known by
    (``tracking_key``): its account id and its handle (as last loaded into
    ``core.accounts``, else as queued)."""

    fetch: str
    keys: frozenset[str]


def read_queued(warehouse: WarehouseTarget) -> dict[str, list[QueuedAccount]]:
    """Queued accounts per platform, oldest first, with all their keys, from the DuckDB
    file (none when it does not exist yet) or the DuckLake."""
    from radar.warehouse import connect, may_hold_data, table_columns

    if not may_hold_data(warehouse):
        return {}

    with connect(warehouse, read_only=True) as conn:
        if not table_columns(conn, "meta.tracking_queue"):
            return {}
        rows = conn.execute(
            """select q.platform, q.account_id, q.handle,
                      (select arg_max(a.handle, a.observed_at) from core.accounts as a
                       where a.platform = q.platform and a.account_id = q.account_id)
               from meta.tracking_queue as q
               order by q.queued_for, q.handle"""
        ).fetchall()
    queue: dict[str, list[QueuedAccount]] = {}
    for platform, account_id, handle, loaded in rows:
        fetch = handle if platform in _FETCH_BY_HANDLE else account_id
        keys = frozenset({tracking_key(account_id), tracking_key(loaded or handle)})
        queue.setdefault(platform, []).append(QueuedAccount(fetch, keys))
    return queue


def untracked_queue(
    queued: Mapping[str, Sequence[QueuedAccount]], tracked: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """What the live planner fetches of the queue, per platform: each queued account none
    of whose keys names an account ``tracked`` lists (the accounts sources.yaml lists per
    platform), so no account is walked twice a day under two keys (a Bluesky account
    listed by handle and queued by DID; a YouTube channel listed by @handle and queued by
    id, once it has loaded). A pure function, for the planner."""
    out: dict[str, list[str]] = {}
    for platform, accounts in queued.items():
        known = {tracking_key(a) for a in tracked.get(platform, [])}
        kept = [a.fetch for a in accounts if not a.keys & known]
        if kept:
            out[platform] = kept
    return out


def read_queue(
    warehouse: WarehouseTarget, tracked: Mapping[str, Sequence[str]] | None = None
) -> dict[str, list[str]]:
    """Queued accounts per platform, oldest first, as the live planner fetches them,
    leaving out those the accounts ``config/sources.yaml`` lists (``tracked``, read from
    ``RADAR_CONFIG_DIR`` when None) track already under another key (``untracked_queue``):
    an account queued before this check existed, or listed after it was queued."""
    queued = read_queued(warehouse)
    if not queued:
        return {}
    return untracked_queue(queued, configured_accounts() if tracked is None else tracked)
