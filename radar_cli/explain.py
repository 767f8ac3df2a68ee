"""``radar explain ACCOUNT``: per niche and brand the account matched, candidate or not,
its rank and score parts, or every rule that kept it out with the values involved; read
from marts.candidate_exclusions, marts.candidates, marts.account_authenticity and
marts.account_niches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from transforms.runs import profile_url_sql

# the values each exclusion rule of marts.candidate_exclusions is decided on
RULE_VALUES = {
    "not_tracked": (),
    "inactive": ("status",),
    "followers_hidden": ("followers", "follower_precision"),
    "outside_tier": ("tier", "required_tier", "followers"),
    "too_few_posts": ("own_posts_30d", "min_own_posts_30d"),
    "no_rated_posts": ("engagement_rate_30d_mean", "engagement_null_reason_30d"),
    "niche_share_below_minimum": (
        "niche_share",
        "min_niche_share",
        "niche_posts_30d",
        "own_posts_30d",
    ),
    "authenticity_below_minimum": (
        "authenticity_score",
        "min_authenticity_score",
        "flags",
        "flag_reasons",
    ),
}
SCORE_PARTS = ("engagement_part", "fit_part", "authenticity_part", "activity_part")
PERCENT_COLUMNS = {"niche_share", "min_niche_share", "engagement_rate_30d_mean"}

# every account the warehouse knows, with those seen only in others' reposts (not tracked)
KNOWN_ACCOUNTS = f"""
with known as (
    select a.platform, a.account_id, a.handle, a.display_name,
        {profile_url_sql("a", "a")} as profile_url
    from core.accounts as a
    union all
    select distinct e.platform, e.account_id, e.handle, null, null
    from marts.candidate_exclusions as e
    anti join core.accounts as a using (platform, account_id)
)
select * from known
"""


def records(result: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def find_accounts(
    conn: duckdb.DuckDBPyConnection, account: str, platform: str | None
) -> list[dict[str, Any]]:
    """Exact matches on id, handle (a leading @ optional) or profile URL; failing those,
    a Mastodon handle without its instance or a Bluesky handle without .bsky.social."""
    name = account.strip().removeprefix("@").lower()
    url = account.strip().rstrip("/").lower()
    params = {"name": name, "url": url, "platform": platform}
    on_platform = "($platform is null or platform = $platform)"
    exact = records(
        conn.execute(
            f"""{KNOWN_ACCOUNTS} where {on_platform} and (lower(account_id) = $name
                or lower(handle) = $name or rtrim(lower(profile_url), '/') = $url)
                order by platform, handle""",
            params,
        )
    )
    if exact:
        return exact
    return records(
        conn.execute(
            f"""{KNOWN_ACCOUNTS} where {on_platform} and (
                (platform = 'mastodon' and lower(split_part(handle, '@', 1)) = $name)
                or (platform = 'bluesky' and lower(handle) = $name || '.bsky.social'))
                order by platform, handle""",
            {"name": name, "platform": platform},
        )
    )


def value_text(column: str, value: Any) -> str:
    if value is None:
        return "NULL"
    if column in PERCENT_COLUMNS:
        return f"{value * 100:.1f}%"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def account_panel(account: dict, authenticity: dict | None, niches: list[dict]) -> Panel:
    lines = Table.grid(padding=(0, 2))
    lines.add_column(style="bold")
    lines.add_column()
    lines.add_row("platform", account["platform"])
    lines.add_row("account id", account["account_id"])
    if account["display_name"]:
        lines.add_row("name", Text(account["display_name"]))
    if account["profile_url"]:
        lines.add_row("profile", account["profile_url"])
    if authenticity:
        flags = ", ".join(authenticity["flags"] or []) or "none"
        lines.add_row(
            "authenticity",
            Text(f"{authenticity['authenticity_score']:.0f} / 100, flags: {flags}"),
        )
        for label, key in (
            ("flag reasons", "flag_reasons"),
            ("growth", "growth_reason"),
            ("jump evidence", "jump_evidence"),
        ):
            if authenticity.get(key):
                lines.add_row(label, Text(str(authenticity[key])))
    for niche in niches:
        lines.add_row(
            "niche share" if niche is niches[0] else "",
            Text(
                f"{niche['niche']}: {niche['niche_share'] * 100:.0f}% "
                f"({niche['niche_posts_30d']} of {niche['own_posts_30d']} own posts in 30 days)"
            ),
        )
    title = account["handle"] or account["account_id"]
    return Panel(lines, title=Text(title, style="bold"), title_align="left")


def scope_panel(row: dict, candidate: dict | None, scope_size: int) -> Panel:
    title = Text(f"{row['scope_type']} {row['scope']}", style="bold")
    title.append(f" ({row['scope_label']})", style="dim")
    parts: list[Any] = [Text(f"fit: {row['fit_reason']}")]
    if row["is_candidate"] and candidate:
        parts.insert(
            0,
            Text(
                f"candidate, rank {candidate['scope_rank']} of {scope_size}, "
                f"score {candidate['score']:.3f}",
                style="bold green",
            ),
        )
        table = Table("part", "value", box=None, padding=(0, 2))
        for part in SCORE_PARTS:
            table.add_row(part, f"{candidate[part]:.3f}")
        parts += [table, Text(f"reason: {candidate['reason']}")]
        border = "green"
    else:
        parts.insert(0, Text("not a candidate", style="bold red"))
        table = Table("rule", "values", title_justify="left", padding=(0, 1))
        for rule in row["exclusion_rules"]:
            values = "; ".join(
                f"{column} = {value_text(column, row[column])}"
                for column in RULE_VALUES.get(rule, ())
            )
            table.add_row(Text(rule, style="red"), Text(values or "-"))
        parts += [table, Text(f"why: {row['exclusion_reason']}")]
        border = "red"
    return Panel(Group(*parts), title=title, title_align="left", border_style=border)


def explain(
    conn: duckdb.DuckDBPyConnection,
    account: str,
    console: Console,
    *,
    niche: str | None = None,
    brand: str | None = None,
    platform: str | None = None,
    as_of: datetime | None = None,
) -> int:
    """Print the explanation; the exit code: 0 shown, 1 nothing to show, 2 ambiguous."""
    found = find_accounts(conn, account, platform)
    if not found:
        console.print(
            f"No account {account!r} in the warehouse"
            + (f" on {platform}" if platform else "")
            + ': give a handle, an account id or a profile URL (radar sql "select platform, '
            'handle from core.accounts" lists them).',
            markup=False,
        )
        return 1
    if len(found) > 1:
        table = Table("platform", "handle", "account id", "name", title=f"{account!r} is ambiguous")
        for match in found:
            table.add_row(
                match["platform"], match["handle"], match["account_id"], match["display_name"]
            )
        console.print(table)
        console.print("Name one with --platform, or give its account id.", markup=False)
        return 2
    (match,) = found
    key = [match["platform"], match["account_id"]]
    newest = conn.execute("select max(as_of) from marts.candidate_exclusions").fetchone()[0]
    if newest is None:
        console.print("No signals computed yet: marts.candidate_exclusions is empty.")
        return 1
    as_of = as_of or newest
    computed = conn.execute(
        "select count(*) > 0 from marts.candidate_exclusions where as_of = ?", [as_of]
    ).fetchone()[0]
    if not computed:
        recent = ", ".join(
            str(instant)
            for (instant,) in conn.execute(
                "select distinct as_of from marts.candidate_exclusions order by 1 desc limit 5"
            ).fetchall()
        )
        console.print(
            f"No signals computed as of {as_of}; the newest as-ofs: {recent} "
            "(radar run --as-of computes one from what is loaded).",
            markup=False,
        )
        return 1
    params = {"as_of": as_of, "platform": key[0], "account_id": key[1]}
    # --niche and --brand narrow to those scopes; both given, either shows
    wanted = []
    for scope_type, name in (("niche", niche), ("brand", brand)):
        if name:
            params[scope_type] = name.lower()
            wanted.append(
                f"(scope_type = '{scope_type}' and (scope = ${scope_type} "
                f"or lower(scope_label) = ${scope_type}))"
            )
    scope_filter = f"and ({' or '.join(wanted)})" if wanted else ""
    rows = records(
        conn.execute(
            f"""select * from marts.candidate_exclusions
                where as_of = $as_of and platform = $platform and account_id = $account_id
                {scope_filter}
                order by scope_type desc, not is_candidate, scope""",
            params,
        )
    )
    authenticity = records(
        conn.execute(
            "select * from marts.account_authenticity where as_of = ? and platform = ? "
            "and account_id = ?",
            [as_of, *key],
        )
    )
    niches = records(
        conn.execute(
            "select niche, niche_share, niche_posts_30d, own_posts_30d from marts.account_niches "
            "where as_of = ? and platform = ? and account_id = ? and niche_posts_30d > 0 "
            "order by niche_share desc, niche",
            [as_of, *key],
        )
    )
    console.print(f"as of {as_of} (UTC)", style="dim", markup=False)
    console.print(account_panel(match, authenticity[0] if authenticity else None, niches))
    if not rows:
        console.print(no_row_message(conn, match, as_of, niche, brand), markup=False)
        return 1
    candidates = {
        (c["scope_type"], c["scope"]): c
        for c in records(
            conn.execute(
                f"""select scope_type, scope, scope_rank, score, reason, {", ".join(SCORE_PARTS)},
                           count(*) over (partition by scope_type, scope) as scope_size
                    from marts.candidates where as_of = $as_of
                    qualify platform = $platform and account_id = $account_id""",
                {"as_of": as_of, "platform": key[0], "account_id": key[1]},
            )
        )
    }
    for row in rows:
        candidate = candidates.get((row["scope_type"], row["scope"]))
        size = candidate["scope_size"] if candidate else 0
        console.print(scope_panel(row, candidate, size))
    return 0


def no_row_message(
    conn: duckdb.DuckDBPyConnection,
    account: dict,
    as_of: datetime,
    niche: str | None,
    brand: str | None,
) -> str:
    name = account["handle"] or account["account_id"]
    key = [account["platform"], account["account_id"]]
    if niche or brand:
        asked = " or ".join(
            f"{kind} {value!r}" for kind, value in (("niche", niche), ("brand", brand)) if value
        )
        return (
            f"{name} has no row for {asked} as of {as_of}: a niche needs one of the account's "
            "own posts in the 30 days before on it, a brand a fit above 0 (or a post with its "
            "excluded terms); or no niche or brand has that name."
        )
    seen = [
        str(instant)
        for (instant,) in conn.execute(
            "select distinct as_of from marts.candidate_exclusions where platform = ? "
            "and account_id = ? order by as_of desc limit 5",
            key,
        ).fetchall()
    ]
    where = f"; it has rows as of {', '.join(seen)}" if seen else ""
    return (
        f"{name} matched no niche or brand as of {as_of} (no own post on a niche in the 30 "
        f"days before, no brand fit){where}."
    )
