"""The generated column reference of ``docs/data-model.md``: ``python -m
transforms.descriptions --write`` rewrites it from the descriptions files and the models'
headers; without ``--write`` it checks the doc is up to date. Here, not in ``radar``,
because the grains come from the transforms runner's header parser."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from radar.descriptions import load_descriptions, reference_markdown, with_reference
from transforms.runner import discover_models


def model_grains(sql_dir: Path) -> dict[str, str]:
    """``Grain: …. Key: ….`` per model, from its header (what the runner parses)."""
    return {
        m.relation: f"Grain: {m.grain}. Key: {', '.join(m.key)}." for m in discover_models(sql_dir)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m transforms.descriptions",
        description="Regenerate (--write) or check the column reference of docs/data-model.md",
    )
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--sql-dir", type=Path, default=root / "sql")
    parser.add_argument("--doc", type=Path, default=root / "docs" / "data-model.md")
    parser.add_argument("--write", action="store_true", help="rewrite the doc's block")
    args = parser.parse_args(argv)
    block = reference_markdown(load_descriptions(args.sql_dir, model_grains(args.sql_dir)))
    document = args.doc.read_text(encoding="utf-8")
    updated = with_reference(document, block)
    if args.write:
        args.doc.write_text(updated, encoding="utf-8")
        return 0
    if updated != document:
        print(
            f"{args.doc} is out of date: python -m transforms.descriptions --write", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
