"""Campaign terms into ``core.campaign*`` and ``core.fx_rates``, every version kept.

Each row of ``core.campaigns``, ``core.campaign_creators``, ``core.campaign_tracking`` and
``core.campaign_brand_handles`` is one version of something the YAML says, holding for
``[valid_from, valid_to)``. A version's ``valid_from`` is its dated ``from:``, or for an
undated one the time it took effect:

- a campaign's terms as first loaded hold from its first day (``starts_on``);
- a later undated change holds from the load that first saw it (``loaded_at``: the
  campaign_ingest run's data-interval end), or from ``starts_on`` if that is later.

So an edit closes the old version (its ``valid_to``) and opens a new one; an edit before
the campaign starts replaces the version, which never held; a removed creator, code or
campaign is closed; a dated version (``from:``) rewrites the history from that day, also
backwards. Loading the same YAML again changes nothing, at any later time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import duckdb
import pyarrow as pa

from ingest.campaigns.terms import Campaign, CampaignsConfig, tracking_keys
from radar.warehouse import retry_conflicts, rollback_quietly

log = logging.getLogger(__name__)

_EARLIEST, _LATEST = datetime.min, datetime.max


@dataclass(frozen=True)
class Segment:
    """What the YAML says an identity holds over ``[start, end)``; ``start`` None: undated
    (from whenever it took effect), ``end`` None: open."""

    start: datetime | None
    end: datetime | None
    attrs: tuple


@dataclass(frozen=True)
class Version:
    valid_from: datetime
    valid_to: datetime | None
    attrs: tuple


@dataclass(frozen=True)
class VersionedTable:
    table: str
    identity: tuple[str, ...]
    attrs: tuple[str, ...]


CAMPAIGNS = VersionedTable(
    "core.campaigns",
    ("campaign",),
    ("brand", "label", "starts_on", "ends_on", "budget", "currency", "attribution_window_days"),
)
CREATORS = VersionedTable(
    "core.campaign_creators",
    ("campaign", "platform", "handle"),
    ("fee_type", "fee_amount", "commission_rate"),
)
TRACKING = VersionedTable(
    "core.campaign_tracking",
    (
        "campaign",
        "platform",
        "handle",
        "kind",
        "code",
        "utm_source",
        "utm_medium",
        "utm_campaign",
        "utm_content",
        "short_link",
        "hashtag",
    ),
    (),
)
BRAND_HANDLES = VersionedTable(
    "core.campaign_brand_handles", ("campaign", "platform", "brand_handle"), ()
)
TABLES = (CAMPAIGNS, CREATORS, TRACKING, BRAND_HANDLES)


def yaml_segments(config: CampaignsConfig) -> dict[str, dict[tuple, list[Segment]]]:
    """Per table, per identity, what the YAML says it holds when."""
    out: dict[str, dict[tuple, list[Segment]]] = {t.table: {} for t in TABLES}
    for name, campaign in config.campaigns.items():
        out[CAMPAIGNS.table][(name,)] = [Segment(None, None, _campaign_attrs(campaign))]
        for platform, handles in campaign.brand_handles.items():
            for handle in handles:
                out[BRAND_HANDLES.table][(name, platform, handle)] = [Segment(None, None, ())]
        for creator in campaign.creators:
            who = (name, creator.platform, creator.handle)
            fees = creator.fee
            starts = [_midnight(f.from_) for f in fees]
            out[CREATORS.table][who] = [
                Segment(starts[i], starts[i + 1] if i + 1 < len(fees) else None, _fee_attrs(f))
                for i, f in enumerate(fees)
            ]
            dated = [*creator.codes, *creator.links, *creator.hashtags]
            for key, item in zip(tracking_keys(creator), dated, strict=True):
                start, end = item.span
                out[TRACKING.table].setdefault((*who, *key), []).append(Segment(start, end, ()))
    return out


def _midnight(day) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day)


def _campaign_attrs(c: Campaign) -> tuple:
    return (
        c.brand,
        c.label,
        c.starts_on,
        c.ends_on,
        c.budget,
        c.currency,
        c.attribution_window_days,
    )


def _fee_attrs(fee) -> tuple:
    return (fee.type, fee.amount, fee.rate)


def timeline(stored: list[Version], wanted: list[Segment], effect: datetime) -> list[Version]:
    """The versions an identity has after a load whose undated changes take effect at
    ``effect``. The YAML rules from its first dated boundary (a ``from:``, or the ``until:``
    or next version's ``from:`` ending an undated one) and from ``effect`` on, whichever
    comes first; before that, what was stored stays. Equal neighbours merge; empty
    pieces drop."""
    bounds = [b for s in wanted[:1] for b in (s.start, s.end) if b is not None]
    ruled_from = min(effect, bounds[0]) if bounds else effect
    pieces = [(v.valid_from, min(v.valid_to or _LATEST, ruled_from), v.attrs) for v in stored]
    pieces += [(max(s.start or _EARLIEST, ruled_from), s.end or _LATEST, s.attrs) for s in wanted]
    merged: list[list] = []
    for start, end, attrs in sorted((p for p in pieces if p[0] < p[1]), key=lambda p: p[0]):
        if merged and merged[-1][1] >= start and merged[-1][2] == attrs:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, attrs])
    return [Version(s, None if e == _LATEST else e, a) for s, e, a in merged]


def load_terms(
    conn: duckdb.DuckDBPyConnection, config: CampaignsConfig, loaded_at: datetime
) -> dict[str, int]:
    """Write the terms' versions and the fx rates in one transaction, only what changed;
    returns the rows written per table (0 everywhere when nothing changed). Creators'
    ``account_id`` is filled from ``core.accounts`` where it is still NULL."""

    def write() -> dict[str, int]:
        conn.execute("begin transaction")
        try:
            written = _write_terms(conn, config, loaded_at)
            written["core.fx_rates"] = _write_fx_rates(conn, config, loaded_at)
            written["account_ids"] = _fill_account_ids(conn)
            conn.execute("commit")
        except BaseException as exc:
            rollback_quietly(conn, exc)
            raise
        return written

    written = retry_conflicts(write, "campaign terms")
    log.info("campaign terms as of %s: rows rewritten per table %s", loaded_at, written)
    return written


def _write_terms(
    conn: duckdb.DuckDBPyConnection, config: CampaignsConfig, loaded_at: datetime
) -> dict[str, int]:
    wanted = yaml_segments(config)
    starts = {name: _midnight(c.starts_on) for name, c in config.campaigns.items()}
    stored_campaigns = {
        name: start
        for name, start in conn.execute(
            "select campaign, min(starts_on)::timestamp from core.campaigns group by 1"
        ).fetchall()
    }

    def effect(campaign: str) -> datetime:
        start = starts.get(campaign) or stored_campaigns.get(campaign) or loaded_at
        if campaign not in stored_campaigns:
            return start  # first load: the terms hold from the campaign's first day
        return max(loaded_at, start)

    written = {}
    for spec in TABLES:
        stored = _stored(conn, spec)
        rows = []
        for identity in sorted(set(stored) | set(wanted[spec.table]), key=repr):
            old = stored.get(identity, {})
            versions = timeline(
                [v for v, _ in old.values()],
                wanted[spec.table].get(identity, []),
                effect(identity[0]),
            )
            for version in versions:
                first_seen = old.get((version.valid_from, version.attrs), (None, loaded_at))[1]
                rows.append((identity, version, first_seen))
        current = {
            (identity, v.valid_from, v.attrs): (v.valid_to, seen)
            for identity, versions in stored.items()
            for v, seen in versions.values()
        }
        new = {(i, v.valid_from, v.attrs): (v.valid_to, seen) for i, v, seen in rows}
        if new == current:
            written[spec.table] = 0
            continue
        _replace(conn, spec, rows)
        written[spec.table] = len(rows)
    return written


def _stored(
    conn: duckdb.DuckDBPyConnection, spec: VersionedTable
) -> dict[tuple, dict[tuple, tuple[Version, datetime]]]:
    """Per identity: its versions by (valid_from, attrs), each with its observed_at."""
    columns = [*spec.identity, *spec.attrs, "valid_from", "valid_to", "observed_at"]
    found: dict[tuple, dict[tuple, tuple[Version, datetime]]] = {}
    n = len(spec.identity)
    for row in conn.execute(f"select {', '.join(columns)} from {spec.table}").fetchall():
        identity, attrs = row[:n], _plain(row[n : n + len(spec.attrs)])
        valid_from, valid_to, observed_at = row[-3:]
        version = Version(valid_from, valid_to, attrs)
        found.setdefault(identity, {})[(valid_from, attrs)] = (version, observed_at)
    return found


def _plain(values: tuple) -> tuple:
    """Stored values as the YAML's: a DECIMAL(18, 2) back to a Decimal of two places."""
    return tuple(v.quantize(Decimal("0.01")) if isinstance(v, Decimal) else v for v in values)


def _replace(conn: duckdb.DuckDBPyConnection, spec: VersionedTable, rows: list) -> None:
    """The table's rows become ``rows``; creators keep the account ids found before."""
    keep_ids = {}
    if spec is CREATORS:
        keep_ids = dict(
            (tuple(r[:3]), r[3])
            for r in conn.execute(
                "select campaign, platform, handle, any_value(account_id) "
                "from core.campaign_creators where account_id is not null group by all"
            ).fetchall()
        )
    conn.execute(f"delete from {spec.table}")
    columns = [*spec.identity, *spec.attrs, "valid_from", "valid_to", "observed_at"]
    values = [
        [*identity, *_quantized(v.attrs), v.valid_from, v.valid_to, seen]
        for identity, v, seen in rows
    ]
    if spec is CREATORS:
        columns.append("account_id")
        for value, (identity, _, _) in zip(values, rows, strict=True):
            value.append(keep_ids.get(tuple(identity)))
    if values:
        # one Arrow scan: executemany, a statement per row in one transaction, ran out of
        # memory at 1 000 creators' terms (1.8 GB; bench/campaign_bench.py)
        batch = pa.Table.from_pylist([dict(zip(columns, v, strict=True)) for v in values])
        conn.register("_terms_batch", batch)
        try:
            conn.execute(f"insert into {spec.table} by name select * from _terms_batch")
        finally:
            conn.unregister("_terms_batch")


def _quantized(attrs: tuple) -> list:
    return [v.quantize(Decimal("0.01")) if isinstance(v, Decimal) else v for v in attrs]


def _write_fx_rates(
    conn: duckdb.DuckDBPyConnection, config: CampaignsConfig, loaded_at: datetime
) -> int:
    """``core.fx_rates`` becomes the YAML's list (dated facts: a corrected rate replaces
    the old one); a rate unchanged keeps its observed_at. Returns the rows written."""
    stored = {
        (c, t, day): (rate, seen)
        for c, t, rate, day, seen in conn.execute(
            "select currency, to_currency, rate, valid_from, observed_at from core.fx_rates"
        ).fetchall()
    }
    rows = []
    for r in config.fx_rates:
        old = stored.get((r.currency, r.to, r.from_))
        seen = old[1] if old and old[0] == r.rate else loaded_at
        rows.append((r.currency, r.to, r.rate, r.from_, seen))
    if {(c, t, d): (rate, s) for c, t, rate, d, s in rows} == stored:
        return 0
    conn.execute("delete from core.fx_rates")
    if rows:
        conn.executemany("insert into core.fx_rates values (?, ?, ?, ?, ?)", rows)
    return len(rows)


def _fill_account_ids(conn: duckdb.DuckDBPyConnection) -> int:
    """Creators' ``account_id`` from ``core.accounts`` by platform and handle (or an id
    given as the handle: a Bluesky DID, a YouTube channel id), where still NULL: a fact
    about the account, not a change of terms, so no new version."""
    return conn.execute(
        """update core.campaign_creators as c
           set account_id = a.account_id
           from (select platform, account_id, lower(handle) as handle from core.accounts) as a
           where c.account_id is null and c.platform = a.platform
               and (c.handle = a.handle or c.handle = lower(a.account_id))"""
    ).fetchone()[0]
