"""The HTML report ``make demo`` writes, opened in headless Chromium: the five weeks the
demo runs are drawn as charts (daily followers with the planted jump, engagement per post,
niche share at each weekly as-of), offline, and screenshotted as the README shows them."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ops.report_screenshots import Chromium
from tests.report.test_html_report import RequestRecorder, browser

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NICHE = "sourdough-baking"
ACCOUNT = "mastodon-crumbshot-bakers-social"  # the demo history's planted follower jump


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m ops.demo`` (what ``make demo`` runs) in a fresh Airflow home and data
    dir; returns the data dir."""
    tmp = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RADAR_")}
    env.update(
        AIRFLOW_HOME=str(tmp / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        RADAR_DATA_DIR=str(tmp / "data"),
    )
    began = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "ops.demo", "--date", "2026-11-20"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    print(f"make demo's runner took {time.monotonic() - began:.0f} s (metadata DB included)")
    weeks = re.findall(r"signals run: success as of (\S+)", run.stdout)
    assert weeks == ["2026-10-24", "2026-10-31", "2026-11-07", "2026-11-14", "2026-11-21"]
    return tmp / "data"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is no PNG"
    return struct.unpack(">II", data[16:24])


def test_the_demo_report_draws_five_weeks_of_history_offline(demo: Path, tmp_path: Path):
    page = demo / "exports" / "candidates-2026-11-21.html"
    with duckdb.connect(str(demo / "warehouse.duckdb"), read_only=True) as conn:
        snapshot_days, as_ofs = conn.execute(
            """select (select count(distinct observed_at::date) from core.account_snapshots
                       where account_id = 'crumbshot@bakers.social'),
                      (select count(distinct as_of) from marts.account_niches)"""
        ).fetchone()
    assert snapshot_days == 35 and as_ofs == 5

    browser()  # skips, or fails under CI, without the Debian package
    recorder = RequestRecorder()
    try:
        with Chromium(tmp_path / "profile", proxy_port=recorder.port) as chromium:
            chromium.open(page.as_uri())
            dom = chromium.dom()
            niche = chromium.screenshot(f"#niche-{NICHE}", tmp_path / "niche.png")
            candidate = chromium.screenshot(f"#account-{ACCOUNT}", tmp_path / "candidate.png")
    finally:
        recorder.close()
    assert recorder.page_requests() == [], "the page made the browser fetch something"
    for shot in (niche, candidate):
        width, height = png_size(shot)
        assert width > 1000 and height > 500 and shot.stat().st_size > 40_000

    section = re.search(rf'<section id="niche-{NICHE}".*?</section>', dom, re.S).group(0)
    assert "Score by part" in section and section.count('<tr class="candidate">') >= 4
    article = re.search(rf'<article id="account-{ACCOUNT}".*?</article>', dom, re.S).group(0)
    charts = dict(re.findall(r'class="chart (\w+)-chart">(.*?)</svg>', article, re.S))
    assert set(charts) == {"follower", "engagement", "niche"}
    assert all(re.search(r"<path[^>]+d=\"M", svg) for svg in charts.values()), "an empty chart"
    for title in ("Followers", "Engagement rate per post", "Niche share"):
        assert f"Title text '{title}'" in article
    # a follower point a day for the 35 days, the planted jump marked on its day
    days = set(re.findall(r'aria-label="day: (\w+ \d+); followers: \d+', charts["follower"]))
    assert len(days) == 35 and re.search(r">spike \+5,\d{3}<", charts["follower"])
    # posts over more than 30 days, and the niche share at each weekly as-of
    posted = set(re.findall(r'aria-label="created: (\w+ \d+)', charts["engagement"]))
    assert len(posted) > 30
    shares = re.findall(r'aria-label="as_of: (\w+ \d+); niche share', charts["niche"])
    assert list(dict.fromkeys(shares)) == ["Oct 24", "Oct 31", "Nov 07", "Nov 14", "Nov 21"]
    # the demo campaigns (campaign_ingest ran first): a section each, with its chart drawn
    campaigns = re.findall(r'<section id="[^"]+" class="campaign">(.*?)</section>', dom, re.S)
    assert len(campaigns) == 2
    for campaign in campaigns:
        (svg,) = re.findall(r'class="chart campaign-chart">(.*?)</svg>', campaign, re.S)
        assert re.search(r"<path[^>]+d=\"M", svg) or "<rect" in svg, "an empty campaign chart"
