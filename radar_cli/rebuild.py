"""``radar run``: the signals rebuilt as of one or many instants, with a progress bar (a
backfill of the marts over days already loaded)."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from transforms.runner import run_transforms


def as_of_instants(
    given: list[datetime], first_day: datetime | None, last_day: datetime | None
) -> list[datetime]:
    """The given instants and the end of every day from ``first_day`` to ``last_day``
    (inclusive, as a backfill names days), oldest first, each once."""
    instants = set(given)
    if first_day is not None and last_day is not None:
        day = first_day
        while day <= last_day:
            instants.add(day + timedelta(days=1))
            day += timedelta(days=1)
    return sorted(instants)


def rebuild(settings: RadarSettings, instants: list[datetime], console: Console) -> None:
    progress = Progress(
        TextColumn("[bold]signals"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
    )
    with connect(settings.warehouse) as conn, progress:
        apply_schema(conn, settings.sql_dir)
        task = progress.add_task("", total=len(instants))
        for as_of in instants:
            progress.update(task, description=f"as of {as_of}")
            summary = run_transforms(conn, settings.sql_dir, settings.config_dir, as_of)
            progress.advance(task)
            candidates = summary.rows.get("marts.candidates", 0)
            progress.console.print(f"as of {as_of}: {candidates:,} candidate row(s)")
