"""``radar generate``: a seeded synthetic world as a replayable feed (synthetic/), with a
progress bar. The generator is a development tool the wheel leaves out: it is imported
only here, when the command runs, and its absence is said in one line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class GeneratorMissing(Exception):
    """The synthetic package is not installed (a wheel install)."""


def generate_world(
    out: Path,
    *,
    seed: int,
    accounts: int,
    days: int,
    start: date,
    platforms: tuple[str, ...],
    posts_per_day: float,
    accounts_per_file: int,
    niches: Path,
    console: Console,
    quiet: bool = False,
) -> str:
    """Write the world into ``out`` (created; must be empty or absent); return the summary
    line. The bar advances once per feed day, as SyntheticFeed reports them."""
    try:
        from synthetic.__main__ import load_niches
        from synthetic.feed import PLATFORMS, SyntheticFeed
    except ImportError as exc:
        raise GeneratorMissing(
            f"the synthetic generator is not installed ({exc}): run radar from a checkout "
            "of the project"
        ) from None
    unknown = sorted(set(platforms) - set(PLATFORMS))
    if unknown or not platforms:
        raise ValueError(f"unknown platform(s) {unknown}; choose from {', '.join(PLATFORMS)}")
    if accounts < len(platforms) or days < 1 or posts_per_day <= 0:
        raise ValueError("--accounts must cover every platform; --days and --posts-per-day > 0")
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty; a feed is written into a fresh directory")
    progress = Progress(
        TextColumn("[bold]writing the feed"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=console,
        disable=quiet,
    )
    day = progress.add_task("", total=days)

    def advance(message: str) -> None:
        # "day 3/90 (2026-08-03): 1,234 posts, 5 MB, 2 s": the bar shows the counts
        progress.update(day, advance=1, description=message.partition(": ")[2])

    feed = SyntheticFeed(
        out=out,
        seed=seed,
        accounts=accounts,
        days=days,
        start=start,
        niches=load_niches(niches),
        platforms=platforms,
        posts_per_day=posts_per_day,
        accounts_per_file=accounts_per_file,
        progress=advance,
    )
    out.mkdir(parents=True, exist_ok=True)
    with progress:
        totals = feed.write()
    return (
        f"wrote {totals.posts:,} posts ({totals.boosts:,} boosts, {totals.deleted:,} deleted) "
        f"of {totals.accounts:,} accounts in {totals.pages:,} pages, "
        f"{totals.bytes / 1e6:,.1f} MB, to {out}"
    )
