"""The ingest schedule: which data interval a date names."""

from __future__ import annotations

import os
from datetime import datetime

from croniter import croniter

# whole UTC days by default (RADAR_INGEST_CRON); a run covers one interval of it
INGEST_CRON = os.environ.get("RADAR_INGEST_CRON", "0 0 * * *")


def interval_starting_at(start: datetime, cron: str = INGEST_CRON) -> tuple[datetime, datetime]:
    """The interval of ``cron`` that starts at ``start``: a date names the interval that
    starts on it, as Airflow's scheduled runs and backfills do."""
    return start, croniter(cron, start).get_next(datetime)
