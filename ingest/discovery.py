"""Account discovery: which terms to search, and which sighted accounts to track next.

niche_discovery reads the hashtag timelines of each niche's hashtags and searches accounts
by its keywords (``config/niches.yaml``), lands a sighting per account and term
(``core.account_discoveries``: ``#tag`` or the keyword), and queues the best
new accounts per niche in ``meta.tracking_queue``, under caps, so discovery can neither
eat the request quota nor flood the tracked set. Live social_ingest runs track the queue
beside ``config/sources.yaml``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import duckdb
import yaml

from radar.canonical import PROFILE_TERM
from radar.text import normalize_tag
from radar.warehouse import retry_conflicts

log = logging.getLogger(__name__)


def niche_terms(config_dir: Path) -> dict[str, dict[str, list[str]]]:
    """Each niche's hashtags (normalised as posts' hashtags are) and keywords (lowercase
    NFC), as ``{niche: {"hashtags": [...], "keywords": [...]}}``."""
    niches = yaml.safe_load((config_dir / "niches.yaml").read_text(encoding="utf-8"))["niches"]
    return {
        name: {
            "hashtags": sorted({normalize_tag(t) for t in spec.get("hashtags", [])}),
            "keywords": sorted({normalize_tag(k) for k in spec.get("keywords", [])}),
        }
        for name, spec in niches.items()
    }


def search_terms(terms: dict[str, list[str]]) -> list[str]:
    """A niche's terms as sightings name them: ``#tag`` for hashtags, keywords as they are."""
    return [f"#{t}" for t in terms["hashtags"]] + list(terms["keywords"])


def queue_discovered(
    conn: duckdb.DuckDBPyConnection,
    niches: dict[str, dict[str, list[str]]],
    as_of: datetime,
    max_new_per_niche: int,
    followers_band: tuple[int, int],
) -> int:
    """Queue up to ``max_new_per_niche`` new accounts per niche and interval (``as_of``);
    returns how many. A rerun of the interval adds nothing the first run did not leave room
    for.

    New means neither tracked (in ``core.accounts``) nor queued before. Accounts in the
    follower band (the micro tier by default) come first, then the most sightings, then
    the most followers. An account seen under two niches' tags is queued once.
    """
    pairs = [(niche, term) for niche, terms in niches.items() for term in search_terms(terms)]
    if not pairs:
        return 0
    before = conn.execute("select count(*) from meta.tracking_queue").fetchone()[0]
    conn.execute(
        """
        insert into meta.tracking_queue
        with watch as (
            select unnest(?::varchar[]) as niche, unnest(?::varchar[]) as term
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
            from sighted
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


def mark_discovered_accounts(conn: duckdb.DuckDBPyConnection) -> int:
    """Record how a queued account was found, once live ingest has loaded it: its
    ``core.accounts.discovered_via`` becomes ``discovery:<niche>:<term>`` instead of
    ``tracked``. The loader keeps the first value of that column, so this sticks."""
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
        """
    # on the lake, a concurrent loader's commit to core.accounts makes this one redo
    retry_conflicts(lambda: conn.execute(statement), "discovered accounts")
    after = conn.execute(
        "select count(*) from core.accounts where discovered_via like 'discovery:%'"
    ).fetchone()[0]
    return after - before


# what the live planner fetches a queued account by: its key (a Mastodon acct, a Bluesky
# DID, a YouTube channel id, a TikTok username), except on Instagram, whose business
# discovery takes the username while the key is the numeric id
_FETCH_BY_HANDLE = ("instagram",)


def read_queue(warehouse: Path) -> dict[str, list[str]]:
    """Queued accounts per platform, oldest first, as the live planner fetches them."""
    if not warehouse.exists():
        return {}
    from radar.warehouse import connect, table_columns

    with connect(warehouse, read_only=True) as conn:
        if not table_columns(conn, "meta.tracking_queue"):
            return {}
        rows = conn.execute(
            "select platform, account_id, handle from meta.tracking_queue "
            "order by queued_for, handle"
        ).fetchall()
    queue: dict[str, list[str]] = {}
    for platform, account_id, handle in rows:
        queue.setdefault(platform, []).append(
            handle if platform in _FETCH_BY_HANDLE else account_id
        )
    return queue
