"""The HTML candidate report, opened in a real headless Chromium: a planted world with
three weekly as-ofs (so the charts have history), rendered offline, with no request."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from radar.settings import RadarSettings
from radar.warehouse import connect
from tests.helpers.core_builder import build_and_transform, config_with
from tests.helpers.planted_world import AS_OF, build_planted_world
from transforms.html_report import write_html_report
from transforms.runner import run_transforms

CHROMIUM = "/usr/bin/chromium"
AS_OFS = [AS_OF - timedelta(days=14), AS_OF - timedelta(days=7), AS_OF]
SPIKY = "houseplants-fake-spike"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted world (30 days of daily snapshots) computed at three weekly as-ofs,
    with the profile fields and post links a live load would bring."""
    tmp = tmp_path_factory.mktemp("report-world")
    world, _ = build_planted_world(7)
    for account in world.accounts:
        name = account["account_id"]
        account |= {
            "display_name": name.replace("-", " ").title(),
            "bio": f"Notes on {name.split('-')[0]}",
            "url": f"https://social.example/@{name}",
        }
    for post in world.posts:
        post["url"] = f"https://social.example/@{post['account_id']}/{post['post_id']}"
    path = tmp / "warehouse.duckdb"
    config = config_with(tmp)
    build_and_transform(world, path, config, AS_OFS[0])
    with connect(path) as conn:
        for as_of in AS_OFS[1:]:
            run_transforms(conn, RadarSettings().sql_dir, config, as_of)
    return path


def browser() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    # CI installs it (.ci/run); there a missing browser is a failure, never a skip
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")


# the browser's own service calls (time, sign-in, variations), which its flags do not all
# stop; never anything a page asked for
BROWSER_SERVICES = re.compile(r"[\w.-]*\b(google|googleapis|gvt\d)\.com(:\d+)?$")


class RequestRecorder:
    """A TCP listener the browser is told to use as its proxy: every request it makes for
    an http(s) URL (a CDN script, a font, a prefetch) arrives here; the request line's
    host is kept."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.hosts: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with client:
                client.settimeout(5)
                try:
                    line = client.recv(4096).split(b"\r\n")[0].decode("latin-1")
                except OSError:
                    line = "? unreadable"
            if not line:
                # a connection closed without a request line asked for nothing: Chromium
                # opens such spare connections to its proxy ahead of need
                continue
            # "CONNECT host:443 HTTP/1.1" or "GET http://host/path HTTP/1.1"
            target = line.split(" ")[1] if " " in line else line
            self.hosts.append(re.sub(r"^https?://|/.*$", "", target))

    def page_requests(self) -> list[str]:
        return [h for h in self.hosts if not BROWSER_SERVICES.fullmatch(h)]

    def close(self) -> None:
        self.server.close()


def run_chromium(tmp_path: Path, page: Path, proxy_port: int, *args: str) -> str:
    """Headless Chromium on ``page``, started here and stopped by its process group."""
    command = [
        browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--proxy-server=http://127.0.0.1:{proxy_port}",
        "--proxy-bypass-list=<-loopback>",
        "--window-size=1280,2000",
        "--hide-scrollbars",
        *args,
        page.as_uri(),
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, f"chromium exited {process.returncode}"
    return out


def test_report_renders_its_charts_offline_in_chromium(warehouse: Path, tmp_path: Path):
    page = tmp_path / "report.html"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert write_html_report(conn, AS_OF, page, detail_per_scope=12) == page
        ranked = conn.execute(
            "select count(*) from marts.candidates where as_of = ?", [AS_OF]
        ).fetchone()[0]
        excluded = conn.execute(
            """select account_id, exclusion_reason from marts.candidate_exclusions
               where as_of = ? and scope = 'houseplants'
                 and account_id = 'houseplants-off-niche-minority'""",
            [AS_OF],
        ).fetchone()
        own_links = {
            url
            for (url,) in conn.execute(
                "select url from core.accounts union all select url from core.posts"
            ).fetchall()
        }
        spike_day = conn.execute(
            "select spike_day from marts.account_authenticity where as_of = ? and account_id = ?",
            [AS_OF, SPIKY],
        ).fetchone()[0]
    assert ranked > 40 and excluded is not None and spike_day is not None

    html = page.read_text()
    # one file: no script, stylesheet, font or image is loaded from anywhere
    assert not re.search(r"<script|<link|<img|<iframe|@import|@font-face", html, re.I)
    assert re.findall(r"\bsrc\s*=", html, re.I) == []
    external = set(re.findall(r'href="(https?://[^"]*)"', html))
    assert external and external <= own_links
    assert not re.search(r"url\(\s*['\"]?https?:", html)

    recorder = RequestRecorder()
    try:
        dom = run_chromium(tmp_path, page, recorder.port, "--dump-dom")
        shot = tmp_path / "report.png"
        run_chromium(tmp_path, page, recorder.port, f"--screenshot={shot}")
    finally:
        recorder.close()
    assert recorder.page_requests() == [], "the page made the browser fetch something"
    assert shot.stat().st_size > 50_000

    # every ranked row, and the excluded account with the mart's own reason
    assert dom.count('<tr class="candidate">') == ranked
    row = re.search(r'<tr class="exclusion">(?:(?!</tr>).)*off-niche-minority.*?</tr>', dom, re.S)
    assert row and excluded[1] in row.group(0).replace("&amp;", "&")
    assert "below the 50% minimum" in excluded[1]

    # the charts were drawn: a score chart per scope, three per candidate page
    svgs = re.findall(r"<svg.*?</svg>", dom, re.S)
    scopes = dom.count('<section id="niche-') + dom.count('<section id="brand-')
    pages = dom.count('class="card candidate-detail"')
    assert scopes == 6 and pages >= 12
    assert len(svgs) == scopes + 3 * pages
    assert all(re.search(r"<path[^>]+d=\"M", svg) for svg in svgs), "an empty chart"
    for title in ("Score by part", "Followers", "Engagement rate per post", "Niche share"):
        assert title in dom
    # the planted spike is marked on its follower chart, on its day
    spiky = re.search(rf'<article id="account-mastodon-{SPIKY}".*?</article>', dom, re.S)
    assert spiky and re.search(r">spike \+9,0\d\d<", spiky.group(0))
    # niche share over the three as-ofs: a point at each
    niche_chart = re.search(r'class="chart niche-chart">(.*?)</svg>', spiky.group(0), re.S)
    points = re.findall(r'aria-label="as_of: (\w+ \d+); niche share: (\d+)%', niche_chart[1])
    assert list(dict.fromkeys(day for day, _ in points)) == [f"{d:%b %d}" for d in AS_OFS]


def test_the_recorder_sees_a_page_that_loads_from_a_cdn(tmp_path: Path):
    """The check above can fail: a page with a CDN script and a web font is caught."""
    page = tmp_path / "cdn.html"
    page.write_text(
        '<html><head><script src="http://cdn.example/vega.js"></script>'
        "<style>@font-face{font-family:x;src:url(https://fonts.example/x.woff2)}"
        "body{font-family:x}</style></head><body>text</body></html>"
    )
    recorder = RequestRecorder()
    try:
        run_chromium(tmp_path, page, recorder.port, "--dump-dom")
    finally:
        recorder.close()
    assert {"cdn.example", "fonts.example:443"} <= set(recorder.page_requests())


def test_a_report_of_an_earlier_as_of_shows_only_what_was_known_then(
    warehouse: Path, tmp_path: Path
):
    earlier = AS_OFS[1]
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        html = write_html_report(conn, earlier, tmp_path / "r.html").read_text()
        ranked = conn.execute(
            "select count(*) from marts.candidates where as_of = ?", [earlier]
        ).fetchone()[0]
        last_post = conn.execute(
            "select max(created_at) from core.posts where created_at < ?", [AS_OF]
        ).fetchone()[0]
    assert html.count('<tr class="candidate">') == ranked
    assert f"As of {earlier:%Y-%m-%d %H:%M} UTC" in html
    posted = [
        datetime.fromisoformat(d) for d in re.findall(r"<td>(2026-\d\d-\d\d \d\d:\d\d)<", html)
    ]
    # top posts come from before the as-of, though later ones are in the warehouse
    assert posted and max(posted) < earlier < last_post


def test_an_as_of_without_candidates_writes_no_file(warehouse: Path, tmp_path: Path):
    page = tmp_path / "empty.html"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert write_html_report(conn, datetime(2025, 1, 1), page) is None
    assert not page.exists()


def test_the_signals_dag_writes_the_report_beside_the_csv(demo_run):
    assert demo_run.states == ("success", "success")
    exports = demo_run.data_dir / "exports"
    page = exports / "candidates-2026-11-21.html"
    assert (exports / "candidates-2026-11-21.csv").exists() and page.exists()
    html = page.read_text()
    with duckdb.connect(str(demo_run.warehouse), read_only=True) as conn:
        (ranked,) = conn.execute("select count(*) from marts.candidates").fetchone()
    assert html.count('<tr class="candidate">') == ranked > 0
    assert "<svg" in html and "<script" not in html
