"""What every benchmark shares: steps in fresh processes, the machine line of a heading,
and printing the table."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_step(module: str, step: str, *args: str) -> subprocess.Popen:
    """``python -m <module> --step <step> …`` in a fresh process, so wall time and peak
    RSS belong to that step alone."""
    return subprocess.Popen(
        [sys.executable, "-m", module, "--step", step, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def finish_step(proc: subprocess.Popen, step: str) -> dict:
    """The JSON the step printed last (see ``report_step``); its stderr if it failed."""
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"bench step {step} failed:\n{err[-3000:]}")
    return json.loads(out.splitlines()[-1])


def report_step(result: dict | None = None) -> None:
    """Inside a step: print its result with the process's peak RSS, for ``finish_step``."""
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({**(result or {}), "peak_rss_mb": round(peak_kb / 1024)}))


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
