"""What every benchmark shares: the machine line of its heading, and printing its table."""

from __future__ import annotations

import os
import platform
from datetime import datetime
from pathlib import Path


def machine() -> str:
    """``2026-11-26, x86_64, 2 cores, python 3.11.7`` for a table's heading."""
    return (
        f"{datetime.now():%Y-%m-%d}, {platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}"
    )


def publish(text: str, append_to: Path | None) -> None:
    """Print the table; append it to a markdown file too when asked."""
    print(text)
    if append_to:
        with append_to.open("a", encoding="utf-8") as handle:
            handle.write("\n" + text)
