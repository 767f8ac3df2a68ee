"""``make demo``'s runner (``python -m ops.demo``): a failure's cause comes first, and two
demos at once take turns instead of breaking each other; the history it replays
(``synthetic.history``) holds only what each earlier day could have shown."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from synthetic.history import SPIKES, parse_time, write_history
from tests.helpers.paths import DEMO_FEED
from tests.helpers.warehouse_helpers import query

ROOT = Path(__file__).resolve().parents[1]


def _demo_env(home: Path, data: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RADAR_")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        RADAR_DATA_DIR=str(data),
        RADAR_PLATFORMS='["mastodon", "bluesky"]',
        **extra,
    )
    return env


def _demo(env: dict[str, str], weeks: int = 5) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ops.demo", "--date", "2026-11-20", "--weeks", str(weeks)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.slow
def test_a_failed_demo_prints_its_cause_first_and_fails_within_seconds(tmp_path: Path):
    began = time.monotonic()
    demo = _demo(_demo_env(tmp_path / "airflow", tmp_path / "data", RADAR_SOURCE="lvie"))
    out, _ = demo.communicate(timeout=300)
    assert demo.returncode == 1
    first = out.splitlines()[0]
    # both platforms' plans fail with this cause; either may come first
    assert re.fullmatch(
        r"RADAR FAILED plan_(mastodon|bluesky) \(not retried\): "
        r"RADAR_SOURCE='lvie': choose one of fixture, live",
        first,
    ), out
    assert "social_ingest run: failed (full log: " in out
    assert "no candidates" not in out  # the report is not printed over a failed run
    assert time.monotonic() - began < 90  # migrating the metadata DB included


@pytest.mark.slow
def test_two_demos_at_once_take_turns(tmp_path: Path):
    """(A week each: the turns are what is tested; tests/report runs the five weeks.)"""
    home, data = tmp_path / "airflow", tmp_path / "data"
    first = _demo(_demo_env(home, data), weeks=1)
    # the first holds the lock once it has written its pid
    deadline = time.monotonic() + 60
    while not (home / "demo.lock").exists() or not (home / "demo.lock").read_text():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    second = _demo(_demo_env(home, data), weeks=1)
    second_out, _ = second.communicate(timeout=600)
    first_out, _ = first.communicate(timeout=600)

    assert first.returncode == 0, first_out[-3000:]
    assert second.returncode == 0, second_out[-3000:]
    assert second_out.splitlines()[0] == (
        f"another make demo is running (pid {first.pid}); waiting for it to finish"
    )
    for out in (first_out, second_out):
        assert "social_ingest run: success for [2026-11-14 00:00, 2026-11-21 00:00)" in out
        assert "signals run: success as of 2026-11-21 00:00" in out
        assert "as of 2026-11-21 00:00:00 (UTC)" in out
    # both ran whole: two ingest runs of the week, each with its signals
    runs = query(
        data / "warehouse.duckdb",
        "select count(*), count(transformed_at) from meta.runs where dag_id = 'social_ingest'",
    )
    assert runs == [(2, 2)]
    # a successful run logs no error: reading the mapped extracts' results is one request
    # each, not a walk past their end that Airflow logs as "XCom not found"
    logs = sorted(home.glob("demo-*-2026-11-14.log"))
    assert [log.name.split("-")[1] for log in logs] == [
        "campaign_ingest",
        "signals",
        "social_ingest",
    ]
    for log in logs:
        text = log.read_text()
        assert "[error" not in text, [ln for ln in text.splitlines() if "[error" in ln][:3]


def _pages(feed: Path, endpoint: str, day: str) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted(feed.glob(f"*/{endpoint}/dt={day}/*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def _statuses(feed: Path, day: str) -> dict[str, dict]:
    return {
        s["id"]: s
        for page in _pages(feed, "account_statuses", day)
        if isinstance(page["response"].get("body"), list)
        for s in page["response"]["body"]
        if parse_time(s["created_at"])
    }


def test_the_history_shows_each_day_only_what_existed_then(tmp_path: Path):
    feed = tmp_path / "feed"
    assert write_history(DEMO_FEED, date(2026, 11, 20), 34, feed) > 300
    again = tmp_path / "again"
    write_history(DEMO_FEED, date(2026, 11, 20), 34, again)
    files = sorted(p.relative_to(feed) for p in feed.rglob("*.jsonl"))
    assert files == sorted(p.relative_to(again) for p in again.rglob("*.jsonl"))
    assert all((feed / f).read_bytes() == (again / f).read_bytes() for f in files)
    # the recorded day is linked in, not copied
    day = feed / "mastodon" / "account_statuses" / "dt=2026-11-20"
    assert day.is_symlink() and day.resolve() == (
        DEMO_FEED / "mastodon" / "account_statuses" / "dt=2026-11-20"
    )
    days = sorted({p.parent.name[3:] for p in feed.rglob("dt=*/*.jsonl")})
    assert days[0] == "2026-10-17" and days[-1] == "2026-11-20" and len(days) == 35

    recorded = _statuses(feed, "2026-11-20")
    seen: dict[str, int] = {}
    for day in days[:-1]:
        pages = _pages(feed, "account_statuses", day)
        fetched = min(parse_time(p["fetched_at"]) for p in pages)
        assert fetched.date().isoformat() == day
        for status_id, status in _statuses(feed, day).items():
            assert parse_time(status["created_at"]) < fetched
            favourites = status["favourites_count"]
            # counts grow with age, up to what the recorded day shows
            assert seen.get(status_id, 0) <= favourites <= recorded[status_id]["favourites_count"]
            seen[status_id] = favourites
    assert len(seen) > 80
    assert any(seen[i] < s["favourites_count"] for i, s in recorded.items() if i in seen)

    # followers: a steady climb to the recorded count, and the planted jump on its day
    (spiky, (spike_day, _)), *_ = SPIKES.items()
    followers = {}
    for day in days:
        for page in _pages(feed, "accounts_lookup", day):
            if page["response"]["body"]["id"] == spiky:
                followers[day] = page["response"]["body"]["followers_count"]
    counts = list(followers.values())
    gains = [b / a - 1 for a, b in zip(counts, counts[1:], strict=False)]
    jump = days.index(spike_day.isoformat()) - 1
    assert gains[jump] > 0.4 and all(-0.001 < g < 0.01 for n, g in enumerate(gains) if n != jump)
