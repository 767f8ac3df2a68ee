"""The HTML candidate report: one self-contained file per as-of, opening offline.

Per niche and per brand, the ranked candidates (profile link, name, platform, followers,
tier, engagement rate against the peer group's band, authenticity with its reasons, the
score's parts as a bar) and the accounts that matched the scope but were kept out, each
with its exclusion reason (``marts.candidate_exclusions``). Per candidate: follower
history with spike and jump days marked, engagement per post against the peer band, niche
share over the as-of values already computed, and the top recent posts, the sponsored ones
marked with their evidence (a disclosure tag or phrase, a platform's paid flag, a campaign's
hashtag, code, link or brand mention) beside the account's disclosed sponsored share. Per
campaign with results at the as-of (``marts.campaign_results``): its totals, the creators
ranked by ROI with their reasons, cost and attribution rules, a revenue and cost chart,
each creator's sponsored posts with their evidence, and the next shortlist.

Charts are Vega-Lite specs (Altair) rendered to SVG by vl-convert, which carries the Vega
engine: no browser, no network, no script in the page. The only external URLs in the file
are the accounts' own profile and post links.

Everything is read as it was known at the as-of: the marts of that as-of, snapshots
observed before it, and the own posts the ``int_own_posts`` model counts at that instant
(its SQL is run with the as-of set, so a report for an older as-of is not read off the
intermediate tables of the newest run); a campaign's posts likewise (``int_campaign_posts``
over ``int_campaign_creators``, both run at the as-of).
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import altair as alt
import duckdb
import jinja2
import vl_convert

from radar.canonical import to_naive_utc
from radar.settings import RadarSettings
from radar.warehouse import connect
from transforms.runner import parse_model

TEMPLATES = Path(__file__).parent / "templates"
# colours of the score's parts; the grey part is what authenticity took off
PART_COLOURS = {
    "engagement": "#4c78a8",
    "fit": "#59a14f",
    "activity": "#f28e2b",
    "lost to authenticity": "#d3d3d3",
}
# the generic family: vl-convert measures text with the font it resolves, and a browser's
# sans-serif is close in width, where a named UI font would overflow the measured layout
FONT = "sans-serif"
_SVG_ID = re.compile(r'\bid="([^"]+)"')

Record = dict[str, Any]


def write_html_report(
    conn: duckdb.DuckDBPyConnection,
    as_of: datetime,
    path: Path,
    *,
    detail_per_scope: int = 10,
    sql_dir: Path | None = None,
) -> Path | None:
    """Write the report of ``as_of`` to ``path`` (atomically) and return it; write nothing
    and return None when that as-of has no candidate. ``detail_per_scope`` caps the
    candidates of each scope that get a page of charts (all are listed). Sets the
    connection's ``as_of`` variable."""
    html = render_html_report(conn, as_of, detail_per_scope=detail_per_scope, sql_dir=sql_dir)
    if html is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, path)
    return path


def export_html_report(as_of: datetime) -> Path | None:
    """``data/exports/<export stem>.html`` beside the CSV and Parquet of the same as-of,
    from the configured warehouse. An as-of without candidates gets no file, and loses
    the one an earlier run of it wrote."""
    from transforms.runs import export_stem

    settings = RadarSettings()
    as_of = to_naive_utc(as_of)
    path = settings.exports_dir / f"{export_stem(as_of)}.html"
    with connect(settings.warehouse, read_only=True) as conn:
        written = write_html_report(conn, as_of, path, sql_dir=settings.sql_dir)
    if written is None:
        path.unlink(missing_ok=True)
    return written


def render_html_report(
    conn: duckdb.DuckDBPyConnection,
    as_of: datetime,
    *,
    detail_per_scope: int = 10,
    sql_dir: Path | None = None,
) -> str | None:
    """The report's HTML, or None when ``as_of`` has no candidate."""
    as_of = to_naive_utc(as_of)
    candidates = _records(conn, CANDIDATES_SQL, [as_of])
    if not candidates:
        return None
    excluded = _records(conn, EXCLUDED_SQL, [as_of])
    scopes = _scopes(candidates, excluded)
    detailed = _detailed_accounts(candidates, detail_per_scope)
    tables = _tables(conn)
    campaign_posts = _campaign_posts(conn, as_of, tables, sql_dir)
    details = _candidate_details(conn, as_of, candidates, detailed, sql_dir)
    _mark_sponsored(conn, as_of, details, campaign_posts, tables)
    campaigns = _campaigns(conn, as_of, tables, campaign_posts, details)
    for campaign in campaigns:
        campaign["chart"] = _svg(campaign_chart(campaign), f"campaign-{campaign['key']}")
    for scope in scopes:
        scope["score_chart"] = _svg(score_parts_chart(scope), f"score-{scope['key']}")
    for detail in details:
        key = detail["key"]
        detail["follower_chart"] = _svg(follower_chart(detail), f"followers-{key}")
        detail["engagement_chart"] = _svg(engagement_chart(detail), f"engagement-{key}")
        detail["niche_chart"] = _svg(niche_share_chart(detail), f"niche-{key}")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=_pct,
        count=_count,
        web_url=_web_url,
        day=_day,
        money=_money,
        ratio=_ratio,
        evidence=_evidence_label,
    )
    return env.get_template("candidate_report.html.j2").render(
        as_of=as_of,
        scopes=scopes,
        details=details,
        campaigns=campaigns,
        detail_per_scope=detail_per_scope,
        colours=PART_COLOURS,
    )


# each account's newest profile row, joined by every listing below
PROFILES = """
profiles as (
    select platform, account_id, display_name, bio, url from core.accounts
    qualify row_number() over (
        partition by platform, account_id order by observed_at desc) = 1
)"""

CANDIDATES_SQL = f"""
with settings as (
    select
        config.setting('candidates.weights.engagement') as w_engagement,
        config.setting('candidates.weights.niche') as w_fit,
        config.setting('candidates.weights.activity') as w_activity,
),
{PROFILES}
select
    c.*,
    p.display_name,
    p.bio,
    p.url as profile_url,
    pp.engagement_percentile,
    b.engagement_rate_p25 as peer_p25,
    b.engagement_rate_p75 as peer_p75,
    au.growth_reason,
    au.jump_evidence,
    -- each part's share of the score: the weighted mean of the parts, times authenticity
    (s.w_engagement * c.engagement_part + s.w_fit * c.fit_part
        + s.w_activity * c.activity_part) / (s.w_engagement + s.w_fit + s.w_activity)
        as unscaled_score,
    s.w_engagement / (s.w_engagement + s.w_fit + s.w_activity) as w_engagement,
    s.w_fit / (s.w_engagement + s.w_fit + s.w_activity) as w_fit,
    s.w_activity / (s.w_engagement + s.w_fit + s.w_activity) as w_activity,
from marts.candidates as c
cross join settings as s
left join profiles as p on c.platform = p.platform and c.account_id = p.account_id
left join marts.account_peer_position as pp
    on c.as_of = pp.as_of and c.platform = pp.platform and c.account_id = pp.account_id
left join marts.tier_benchmarks as b
    on c.as_of = b.as_of and c.platform = b.platform and c.tier = b.tier
    and b.niche = coalesce(nullif(split_part(c.peer_group, '/', 3), ''), '*')
left join marts.account_authenticity as au
    on c.as_of = au.as_of and c.platform = au.platform and c.account_id = au.account_id
where c.as_of = ?
order by c.scope_type desc, c.scope, c.scope_rank
"""

EXCLUDED_SQL = f"""
with {PROFILES}
select e.*, p.display_name, p.url as profile_url
from marts.candidate_exclusions as e
left join profiles as p on e.platform = p.platform and e.account_id = p.account_id
where e.as_of = ? and not e.is_candidate
order by e.scope_type desc, e.scope, e.fit desc, e.platform, e.account_id
"""

# the last follower count of each day observed before the as-of, 90 days back
FOLLOWERS_SQL = """
select s.platform, s.account_id, s.observed_at::date as day, s.followers
from staging.stg_account_snapshots as s
semi join (select unnest(?::struct(p varchar, a varchar)[], recursive := true)) as k
    on s.platform = k.p and s.account_id = k.a
where s.observed_at < ? and s.observed_at >= ? - interval 90 days and s.followers is not null
qualify row_number() over (
    partition by platform, account_id, observed_at::date order by observed_at desc) = 1
order by platform, account_id, day
"""

AUTHENTICITY_SQL = """
select platform, account_id, spike_day, spike_gain, jump_day, jump_gain, flags,
       flag_reasons, growth_reason, jump_evidence, authenticity_score
from marts.account_authenticity where as_of = ?
"""

NICHE_HISTORY_SQL = """
select platform, account_id, as_of, niche, niche_label, niche_share, niche_posts_30d,
       own_posts_30d
from marts.account_niches
where as_of <= ? and as_of > ? - interval 90 days and niche_share is not null
    and (platform, account_id, niche) in (
        select (platform, account_id, niche) from marts.account_niches
        where as_of = ? and niche_posts_30d > 0)
order by as_of
"""


def _records(conn: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[Record]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _scopes(candidates: list[Record], excluded: list[Record]) -> list[Record]:
    """Niches first, then brands, each with its ranked and its excluded accounts."""
    scopes: dict[tuple[str, str], Record] = {}
    for row in candidates + excluded:
        key = (row["scope_type"], row["scope"])
        scopes.setdefault(
            key,
            {
                "type": row["scope_type"],
                "scope": row["scope"],
                "label": row["scope_label"],
                "key": f"{row['scope_type']}-{_slug(row['scope'])}",
                "candidates": [],
                "excluded": [],
            },
        )
    for row in candidates:
        scopes[(row["scope_type"], row["scope"])]["candidates"].append(row)
        row["scope_key"] = scopes[(row["scope_type"], row["scope"])]["key"]
    for row in excluded:
        scopes[(row["scope_type"], row["scope"])]["excluded"].append(row)
    return sorted(scopes.values(), key=lambda s: (s["type"] != "niche", s["label"]))


def _detailed_accounts(candidates: list[Record], per_scope: int) -> list[tuple[str, str]]:
    """The accounts that get a detail section, in report order, each once."""
    seen: dict[tuple[str, str], None] = {}
    for row in candidates:
        if row["scope_rank"] <= per_scope:
            seen.setdefault((row["platform"], row["account_id"]), None)
    for row in candidates:
        row["has_detail"] = (row["platform"], row["account_id"]) in seen
        row["detail_key"] = _account_key(row["platform"], row["account_id"])
    return list(seen)


def _candidate_details(
    conn: duckdb.DuckDBPyConnection,
    as_of: datetime,
    candidates: list[Record],
    accounts: list[tuple[str, str]],
    sql_dir: Path | None,
) -> list[Record]:
    keys = [{"p": p, "a": a} for p, a in accounts]
    followers = defaultdict(list)
    for row in _records(conn, FOLLOWERS_SQL, [keys, as_of, as_of]):
        followers[(row["platform"], row["account_id"])].append(row)
    authenticity = {
        (r["platform"], r["account_id"]): r for r in _records(conn, AUTHENTICITY_SQL, [as_of])
    }
    niche_history = defaultdict(list)
    for row in _records(conn, NICHE_HISTORY_SQL, [as_of, as_of, as_of]):
        niche_history[(row["platform"], row["account_id"])].append(row)
    posts = defaultdict(list)
    for row in _own_posts(conn, as_of, keys, sql_dir):
        posts[(row["platform"], row["account_id"])].append(row)

    min_niche_share = conn.execute(
        "select config.setting('candidates.min_niche_share')"
    ).fetchone()[0]
    rows_by_account = defaultdict(list)
    for row in candidates:
        rows_by_account[(row["platform"], row["account_id"])].append(row)
    details = []
    for account in accounts:
        rows = rows_by_account[account]
        first = rows[0]
        own = posts[account]
        details.append(
            {
                "key": _account_key(*account),
                "platform": account[0],
                "account_id": account[1],
                "handle": first["handle"],
                "display_name": first["display_name"],
                "bio": first["bio"],
                "profile_url": first["profile_url"],
                "followers": first["followers"],
                "tier": first["tier"],
                "peer_group": first["peer_group"],
                "peer_median_rate": first["peer_median_rate"],
                "peer_p25": first["peer_p25"],
                "peer_p75": first["peer_p75"],
                "rankings": rows,
                "authenticity": authenticity.get(account, {}),
                "follower_history": followers[account],
                "posts": own,
                "top_posts": sorted(
                    (p for p in own if p["in_30d"]),
                    key=lambda p: (-(p["engagements"] or 0), p["created_at"]),
                )[:5],
                "niche_history": niche_history[account],
                "min_niche_share": min_niche_share,
            }
        )
    return details


def _own_posts(
    conn: duckdb.DuckDBPyConnection, as_of: datetime, keys: list[dict], sql_dir: Path | None
) -> list[Record]:
    """The accounts' own posts of the 90 days as ``int_own_posts`` counts them at
    ``as_of``: its SQL, run with the as-of set, with each post's link and text."""
    model = parse_model(
        "intermediate", (sql_dir or RadarSettings().sql_dir) / "intermediate/int_own_posts.sql"
    )
    conn.execute("set variable as_of = ?::timestamp", [as_of])
    return _records(
        conn,
        f"""
        with own as ({model.sql})
        select own.platform, own.account_id, own.post_id, own.created_at, own.in_30d,
               own.likes, own.comments, own.shares, own.views, own.engagements,
               own.engagement_rate::double as engagement_rate, posts.url, posts.text
        from own
        semi join (select unnest(?::struct(p varchar, a varchar)[], recursive := true)) as k
            on own.platform = k.p and own.account_id = k.a
        left join core.posts as posts
            on own.platform = posts.platform and own.post_id = posts.post_id
        order by own.created_at
        """,
        [keys],
    )


def _tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    """The warehouse's relations as ``schema.name``: a warehouse built before campaigns
    or sponsored posts existed has neither section, and no error."""
    rows = conn.execute(
        """select table_schema || '.' || table_name from information_schema.tables
           where table_catalog = current_database()"""
    ).fetchall()
    return {name for (name,) in rows}


def _campaign_posts(
    conn: duckdb.DuckDBPyConnection, as_of: datetime, tables: set[str], sql_dir: Path | None
) -> list[Record]:
    """Each campaign's posts as ``int_campaign_posts`` finds them at ``as_of``, over the
    terms ``int_campaign_creators`` holds then: both models' SQL run with the as-of set
    (the intermediate tables hold the newest run's). Nothing without campaign results."""
    if "marts.campaign_results" not in tables:
        return []
    (results,) = conn.execute(
        "select count(*) from marts.campaign_results where as_of = ?", [as_of]
    ).fetchone()
    if not results:
        return []
    models = (sql_dir or RadarSettings().sql_dir) / "intermediate"
    creators = parse_model("intermediate", models / "int_campaign_creators.sql")
    posts = parse_model("intermediate", models / "int_campaign_posts.sql")
    conn.execute("set variable as_of = ?::timestamp", [as_of])
    return _records(
        conn,
        f"""
        with campaign_creators_at_as_of as (
        {creators.sql}
        ),
        campaign_posts as (
        {posts.sql.replace("intermediate.int_campaign_creators", "campaign_creators_at_as_of")}
        )
        select cp.* exclude (engagement_rate), cp.engagement_rate::double as engagement_rate,
               posts.text
        from campaign_posts as cp
        left join core.posts as posts
            on cp.platform = posts.platform and cp.post_id = posts.post_id
        order by cp.campaign, cp.created_at, cp.post_id
        """,
        [],
    )


SPONSORSHIP_SQL = """
select s.platform, s.post_id, s.evidence
from intermediate.int_post_sponsorship as s
semi join (select unnest(?::struct(p varchar, a varchar)[], recursive := true)) as k
    on s.platform = k.p and s.account_id = k.a
"""


def _mark_sponsored(
    conn: duckdb.DuckDBPyConnection,
    as_of: datetime,
    details: list[Record],
    campaign_posts: list[Record],
    tables: set[str],
) -> None:
    """Give each candidate page's posts their sponsorship badges, list the sponsored posts
    of the 30 days that are not among the top ones, and add the account's disclosed
    sponsored share at ``as_of`` (``marts.account_sponsorship``) when there is one."""
    keys = [{"p": d["platform"], "a": d["account_id"]} for d in details]
    disclosed = {}
    if keys and "intermediate.int_post_sponsorship" in tables:
        disclosed = {
            (r["platform"], r["post_id"]): r["evidence"]
            for r in _records(conn, SPONSORSHIP_SQL, [keys])
        }
    in_campaigns = defaultdict(list)
    for post in campaign_posts:
        if post["is_sponsored"]:
            in_campaigns[(post["platform"], post["post_id"])].append(post)
    shares = {}
    if "marts.account_sponsorship" in tables:
        shares = {
            (r["platform"], r["account_id"]): r
            for r in _records(
                conn, "select * from marts.account_sponsorship where as_of = ?", [as_of]
            )
        }
    for detail in details:
        for post in detail["posts"]:
            key = (post["platform"], post["post_id"])
            post["badges"] = [
                {"label": f"campaign: {c['campaign']}", "evidence": c["campaign_evidence"]}
                for c in in_campaigns.get(key, [])
            ] + [{"label": _evidence_label(e), "evidence": []} for e in disclosed.get(key, [])]
        top = {p["post_id"] for p in detail["top_posts"]}
        detail["other_sponsored_posts"] = sorted(
            (p for p in detail["posts"] if p["in_30d"] and p["badges"] and p["post_id"] not in top),
            key=lambda p: p["created_at"],
            reverse=True,
        )[:10]
        detail["sponsorship"] = shares.get((detail["platform"], detail["account_id"]))
        detail["campaigns"] = []


CAMPAIGN_CREATORS_SQL = f"""
with {PROFILES}
select r.*, p.display_name, p.url as profile_url
from marts.campaign_creator_results as r
left join profiles as p on r.platform = p.platform and r.account_id = p.account_id
where r.as_of = ?
order by r.campaign, r.roi_rank
"""

CAMPAIGN_SHORTLIST_SQL = f"""
with {PROFILES}
select s.*, p.display_name, p.url as profile_url
from marts.campaign_shortlist as s
left join profiles as p on s.platform = p.platform and s.account_id = p.account_id
where s.as_of = ?
order by s.campaign, s.shortlist_rank
"""


def _campaigns(
    conn: duckdb.DuckDBPyConnection,
    as_of: datetime,
    tables: set[str],
    campaign_posts: list[Record],
    details: list[Record],
) -> list[Record]:
    """One record per campaign with results at ``as_of``: its totals, its creators by ROI
    rank with their sponsored posts, its attribution rules and its next shortlist; each
    creator with a candidate page gets a link to it, and that page one back."""
    if "marts.campaign_results" not in tables:
        return []
    results = _records(
        conn,
        "select * from marts.campaign_results where as_of = ? order by starts_on, campaign",
        [as_of],
    )
    if not results:
        return []
    creators = defaultdict(list)
    for row in _records(conn, CAMPAIGN_CREATORS_SQL, [as_of]):
        creators[row["campaign"]].append(row)
    shortlist = defaultdict(list)
    if "marts.campaign_shortlist" in tables:
        for row in _records(conn, CAMPAIGN_SHORTLIST_SQL, [as_of]):
            shortlist[row["campaign"]].append(row)
    posts = defaultdict(list)
    for post in campaign_posts:
        if post["is_sponsored"]:
            posts[(post["campaign"], post["platform"], post["handle"])].append(post)
    pages = {(d["platform"], d["account_id"]): d for d in details}
    campaigns = []
    for result in results:
        name = result["campaign"]
        campaign = dict(result, key=f"campaign-{_slug(name)}")
        rules: dict[str, list[str]] = defaultdict(list)
        for creator in creators[name]:
            page = pages.get((creator["platform"], creator["account_id"]))
            creator["detail_key"] = page["key"] if page else None
            creator["sponsored"] = posts[(name, creator["platform"], creator["handle"])]
            rules[creator["attribution_rule"]].append(creator["handle"])
            if page:
                page["campaigns"].append(
                    {"campaign": campaign, "creator": creator, "count": len(creators[name])}
                )
        for row in shortlist[name]:
            page = pages.get((row["platform"], row["account_id"]))
            row["detail_key"] = page["key"] if page else None
        campaign["creators"] = creators[name]
        campaign["rules"] = list(rules.items())
        campaign["shortlist"] = shortlist[name]
        campaigns.append(campaign)
    return campaigns


def campaign_chart(campaign: Record) -> alt.TopLevelMixin:
    """Revenue (net of refunds) beside cost for each creator, in ROI rank order."""
    values = []
    for creator in campaign["creators"]:
        roi = "no ROI" if creator["roi"] is None else f"ROI {_ratio(creator['roi'])}"
        label = f"#{creator['roi_rank']} {creator['handle']} · {roi}"
        for measure in ("revenue", "cost"):
            values.append(
                {
                    "creator": label,
                    "rank": creator["roi_rank"],
                    "measure": measure,
                    "amount": float(creator[measure]),
                }
            )
    return (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            x=alt.X("amount:Q", title=campaign["currency"]),
            y=alt.Y("creator:N", title=None, sort=alt.SortField("rank")),
            yOffset=alt.YOffset("measure:N", sort=["revenue", "cost"]),
            color=alt.Color(
                "measure:N",
                title=None,
                scale=alt.Scale(domain=["revenue", "cost"], range=["#59a14f", "#e15759"]),
                legend=alt.Legend(orient="top"),
            ),
        )
        .properties(
            width=360,
            height=alt.Step(11),
            title=alt.Title(
                "Revenue and cost per creator",
                subtitle=f"{campaign['currency']}, by ROI rank; revenue net of refunds",
            ),
        )
    )


def score_parts_chart(scope: Record) -> alt.TopLevelMixin:
    """One stacked bar per ranked candidate: what each part adds to the score, and the
    grey share authenticity took off."""
    fit_name = "niche fit" if scope["type"] == "niche" else "brand fit"
    values = []
    for row in scope["candidates"]:
        label = f"#{row['scope_rank']} {row['handle']}"
        authenticity = row["authenticity_part"]
        for part, weight, value in (
            ("engagement", row["w_engagement"], row["engagement_part"]),
            ("fit", row["w_fit"], row["fit_part"]),
            ("activity", row["w_activity"], row["activity_part"]),
        ):
            values.append(
                {
                    "candidate": label,
                    "rank": row["scope_rank"],
                    "part": part if part != "fit" else fit_name,
                    "order": list(PART_COLOURS).index(part),
                    "points": weight * value * authenticity,
                }
            )
        values.append(
            {
                "candidate": label,
                "rank": row["scope_rank"],
                "part": "lost to authenticity",
                "order": 3,
                "points": row["unscaled_score"] * (1 - authenticity),
            }
        )
    names = ["engagement", fit_name, "activity", "lost to authenticity"]
    return (
        alt.Chart(alt.Data(values=values))
        .mark_bar(height=12)
        .encode(
            x=alt.X("sum(points):Q", title="score", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("candidate:N", title=None, sort=alt.SortField("rank")),
            color=alt.Color(
                "part:N",
                title=None,
                scale=alt.Scale(domain=names, range=list(PART_COLOURS.values())),
                legend=alt.Legend(orient="top"),
            ),
            order=alt.Order("order:Q"),
        )
        .properties(
            width=360,
            height=alt.Step(16),
            title=alt.Title("Score by part", subtitle="the bar's length is the score"),
        )
    )


def follower_chart(detail: Record) -> alt.TopLevelMixin:
    """Daily followers; the robust-z spike day and the flagged jump day as red rules."""
    history = [
        {"day": r["day"].isoformat(), "followers": r["followers"]}
        for r in detail["follower_history"]
    ]
    marks = []
    auth = detail["authenticity"]
    for kind, day, gain in (
        ("spike", auth.get("spike_day"), auth.get("spike_gain")),
        ("jump", auth.get("jump_day"), auth.get("jump_gain")),
    ):
        if day is not None:
            marks.append({"day": day.isoformat(), "label": f"{kind} {gain or 0:+,}"})
    line = (
        alt.Chart(alt.Data(values=history))
        .mark_line(point=alt.OverlayMarkDef(size=18))
        .encode(
            x=alt.X("day:T", title=None, axis=alt.Axis(format="%b %d", tickCount=5)),
            y=alt.Y("followers:Q", title="followers", scale=alt.Scale(zero=False)),
        )
    )
    layers = [line]
    if marks:
        spikes = alt.Chart(alt.Data(values=marks))
        layers.append(spikes.mark_rule(color="#d62728", strokeDash=[4, 3]).encode(x="day:T"))
        layers.append(
            spikes.mark_text(color="#d62728", align="left", dx=4, dy=-4, baseline="top").encode(
                x="day:T", y=alt.value(0), text="label:N"
            )
        )
    return alt.layer(*layers).properties(
        width=250,
        height=150,
        title=alt.Title("Followers", subtitle="daily, 90 days; spikes and jumps in red"),
    )


def engagement_chart(detail: Record) -> alt.TopLevelMixin:
    """Each own post's engagement rate over time, against the peer group's p25-p75 band
    and median; sponsored posts in their own colour when there are any."""
    points = [
        {
            "created": p["created_at"].isoformat(),
            "rate": p["engagement_rate"],
            "window": "30 days" if p["in_30d"] else "older",
            "post": "sponsored" if p.get("badges") else "other",
        }
        for p in detail["posts"]
        if p["engagement_rate"] is not None
    ]
    layers = []
    if detail["peer_p25"] is not None and detail["peer_p75"] is not None:
        band = [{"low": detail["peer_p25"], "high": detail["peer_p75"]}]
        layers.append(
            alt.Chart(alt.Data(values=band))
            .mark_rect(color="#bbbbbb", opacity=0.35)
            .encode(y="low:Q", y2="high:Q")
        )
    if detail["peer_median_rate"] is not None:
        layers.append(
            alt.Chart(alt.Data(values=[{"median": detail["peer_median_rate"]}]))
            .mark_rule(color="#555555", strokeDash=[4, 3])
            .encode(y="median:Q")
        )
    encoding = {
        "x": alt.X("created:T", title=None, axis=alt.Axis(format="%b %d", tickCount=5)),
        "y": alt.Y("rate:Q", title="engagement rate", axis=alt.Axis(format=".1%")),
    }
    if any(p["post"] == "sponsored" for p in points):
        encoding["color"] = alt.Color(
            "post:N",
            title=None,
            scale=alt.Scale(domain=["other", "sponsored"], range=["#4c78a8", "#8250df"]),
            legend=alt.Legend(orient="bottom"),
        )
    layers.append(
        alt.Chart(alt.Data(values=points))
        .mark_circle(size=40, color="#4c78a8", opacity=0.85)
        .encode(**encoding)
    )
    return alt.layer(*layers).properties(
        width=250,
        height=150,
        title=alt.Title(
            "Engagement rate per post",
            subtitle=f"{detail['peer_group']} peers: median dashed, p25-p75 grey",
        ),
    )


def niche_share_chart(detail: Record) -> alt.TopLevelMixin:
    """The 30-day niche share at each as-of computed so far (marts.account_niches)."""
    values = [
        {"as_of": r["as_of"].isoformat(), "share": r["niche_share"], "niche": r["niche_label"]}
        for r in detail["niche_history"]
    ]
    minimum = [{"share": detail["min_niche_share"]}]
    layers = [
        alt.Chart(alt.Data(values=values))
        .mark_line(point=alt.OverlayMarkDef(size=30))
        .encode(
            x=alt.X("as_of:T", title=None, axis=alt.Axis(format="%b %d", tickCount=5)),
            y=alt.Y(
                "share:Q",
                title="niche share",
                axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("niche:N", title=None, legend=alt.Legend(orient="bottom")),
        )
    ]
    if minimum[0]["share"] is not None:
        layers.append(
            alt.Chart(alt.Data(values=minimum))
            .mark_rule(color="#999999", strokeDash=[2, 2])
            .encode(y="share:Q")
        )
    return alt.layer(*layers).properties(
        width=250,
        height=150,
        title=alt.Title("Niche share", subtitle="own posts of 30 days, at each as-of"),
    )


def _svg(chart: alt.TopLevelMixin, prefix: str) -> str:
    """The chart as inline SVG, its element ids made unique within the page."""
    spec = (
        chart.configure(
            font=FONT, background="white", padding={"left": 24, "top": 8, "right": 8, "bottom": 8}
        )
        .configure_view(stroke=None)
        .configure_title(anchor="start", fontSize=13, subtitleColor="#656d76")
    )
    svg = vl_convert.vegalite_to_svg(spec.to_dict())
    ids = set(_SVG_ID.findall(svg))
    for old in sorted(ids, key=len, reverse=True):
        new = f"{prefix}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"')
        svg = svg.replace(f"url(#{old})", f"url(#{new})").replace(f'"#{old}"', f'"#{new}"')
    return svg


def _account_key(platform: str, account_id: str) -> str:
    return f"account-{_slug(platform)}-{_slug(account_id)}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value * 100:.{digits}f}%"


def _count(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _day(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else f"{value:%Y-%m-%d}"


def _web_url(value: str | None) -> str | None:
    # only web links become hrefs: a javascript: or data: URL from a profile never does
    if value and re.match(r"https?://", value):
        return value
    return None


def _money(value: Any) -> str:
    return "–" if value is None else f"{value:,.2f}"


def _ratio(value: Any) -> str:
    # 3 significant digits: ROI 4.5, 0.236, -1; the marts keep 6 decimals
    return "–" if value is None else f"{float(value):.3g}"


def _evidence_label(item: str) -> str:
    """An evidence item of the sponsorship models as a reader would say it: ``hashtag:#ad``
    is #ad, ``phrase:paid partnership`` is "paid partnership", ``code:ANNA10`` code
    ANNA10, ``platform:paid_product_placement`` the platform's flag."""
    kind, _, value = item.partition(":")
    if kind in ("hashtag", "mention"):
        return value
    if kind == "phrase":
        return f"“{value}”"
    if kind == "platform":
        return f"platform flag: {value.replace('_', ' ')}"
    if kind in ("code", "link"):
        return f"{kind} {value}"
    if kind == "utm":
        return f"UTM {value}"
    return item
