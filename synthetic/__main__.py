"""``python -m synthetic --seed 7 --accounts 2000 --days 90 --out data/synthetic``

Writes a seeded world as recorded platform pages that ``RADAR_FEED_DIR`` can replay, with
its planted truth (``truth.csv``) beside it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import yaml

from synthetic.feed import PLATFORMS, SyntheticFeed, stderr_progress
from synthetic.world import Niche

ROOT = Path(__file__).resolve().parents[1]


def load_niches(path: Path) -> list[Niche]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["niches"]
    return [
        Niche(name, tuple(spec.get("keywords", [])), tuple(spec.get("hashtags", [])))
        for name, spec in raw.items()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m synthetic",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--accounts", type=int, default=2000, help="across all platforms")
    parser.add_argument("--days", type=int, default=90, help="days of feed to write")
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=date(2026, 8, 1),
        help="first feed day (its posts were created the day before)",
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--platforms",
        default=",".join(PLATFORMS),
        help="comma-separated, from: " + ", ".join(PLATFORMS),
    )
    parser.add_argument(
        "--posts-per-day", type=float, default=1.0, help="mean own posts per account per day"
    )
    parser.add_argument("--accounts-per-file", type=int, default=1000)
    parser.add_argument("--niches", type=Path, default=ROOT / "config" / "niches.yaml")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)

    platforms = tuple(p.strip() for p in args.platforms.split(",") if p.strip())
    unknown = sorted(set(platforms) - set(PLATFORMS))
    if unknown or not platforms:
        parser.error(f"unknown platform(s) {unknown}; choose from {', '.join(PLATFORMS)}")
    if args.accounts < len(platforms) or args.days < 1 or args.posts_per_day <= 0:
        parser.error("--accounts must cover every platform; --days and --posts-per-day > 0")
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty; a feed is written into a fresh directory")

    feed = SyntheticFeed(
        out=args.out,
        seed=args.seed,
        accounts=args.accounts,
        days=args.days,
        start=args.start,
        niches=load_niches(args.niches),
        platforms=platforms,
        posts_per_day=args.posts_per_day,
        accounts_per_file=args.accounts_per_file,
        progress=None if args.quiet else stderr_progress,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    totals = feed.write()
    print(
        f"wrote {totals.posts:,} posts ({totals.boosts:,} boosts, {totals.deleted:,} deleted) "
        f"of {totals.accounts:,} accounts in {totals.pages:,} pages, "
        f"{totals.bytes / 1e6:,.1f} MB, to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
