"""The campaign page of the HTML report and the sponsored posts marked on candidate pages,
on the worked example of docs/campaigns.md (campaign `spring`, tests/transforms/
test_campaign_marts.py), opened in headless Chromium with no network request."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ops.report_screenshots import Chromium
from radar.settings import RadarSettings
from radar.warehouse import connect
from tests.helpers.campaign_world import CampaignWorld, build_campaign_world
from tests.helpers.core_builder import config_with, insert_rows
from tests.report.test_html_report import RequestRecorder, browser
from tests.transforms.test_campaign_marts import AS_OF, EVERY_WINDOW_RATED, spring_world
from transforms.html_report import render_html_report, write_html_report
from transforms.runner import run_transforms

MID_CAMPAIGN = datetime(2026, 2, 9)


def linked_world():
    """The worked example with the profile and post links a live load brings."""
    world, campaigns = spring_world()
    for account in world.accounts:
        account["url"] = f"https://social.example/@{account['account_id']}"
    for post in world.posts:
        post["url"] = f"https://social.example/@{post['account_id']}/{post['post_id']}"
    return world, campaigns


@pytest.fixture(scope="module")
def spring(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Computed mid-campaign, then on 1 March: the intermediate tables hold 1 March's run.
    Before that run, the platform flags eve's post of 12 February as a paid placement (as
    YouTube's paidProductPlacementDetails would)."""
    tmp = tmp_path_factory.mktemp("campaign-report")
    world, campaigns = linked_world()
    warehouse = tmp / "warehouse.duckdb"
    config = config_with(tmp, engagement=EVERY_WINDOW_RATED)
    build_campaign_world(world, campaigns, warehouse, config, MID_CAMPAIGN)
    with connect(warehouse) as conn:
        flagged = datetime(2026, 2, 20)
        insert_rows(conn, "core.post_disclosures", [
            {"platform": "mastodon", "post_id": "eve12", "kind": "paid_product_placement",
             "disclosed": True, "first_seen_at": flagged, "observed_at": flagged},
        ])  # fmt: skip
        run_transforms(conn, RadarSettings().sql_dir, config, AS_OF)
    return warehouse


def section(dom: str, tag: str, element_id: str) -> str:
    found = re.search(rf'<{tag} id="{element_id}".*?</{tag}>', dom, re.S)
    assert found, f"no {tag} #{element_id}"
    return found.group(0)


def post_row(html: str, post_id: str) -> str:
    return re.search(rf'<tr class="[^"]*" data-post="{post_id}">.*?</tr>', html, re.S).group(0)


def test_campaign_page_and_sponsored_posts_render_offline(spring: Path, tmp_path: Path):
    page = tmp_path / "report.html"
    with duckdb.connect(str(spring), read_only=True) as conn:
        assert write_html_report(conn, AS_OF, page) == page
        by_roi = conn.execute(
            """select handle, revenue from marts.campaign_creator_results
               where as_of = ? order by roi_rank""",
            [AS_OF],
        ).fetchall()
    assert [h for h, _ in by_roi] == ["cara", "ben", "anna", "dan"]  # the worked example

    browser()  # skips, or fails under CI, without the Debian package
    recorder = RequestRecorder()
    try:
        with Chromium(tmp_path / "profile", proxy_port=recorder.port) as chromium:
            chromium.open(page.as_uri())
            dom = chromium.dom()
            shot = chromium.screenshot("#campaign-spring", tmp_path / "campaign.png")
    finally:
        recorder.close()
    assert recorder.page_requests() == [], "the page made the browser fetch something"
    assert shot.stat().st_size > 30_000

    campaign = section(dom, "section", "campaign-spring")
    assert '<a href="#campaign-spring">Campaign: Spring pans</a>' in dom
    # totals in the campaign's currency, revenue net of the refund
    assert re.search(r'class="revenue">899\.00\s+EUR<', campaign)
    assert re.search(r'class="cost">870\.00 EUR<', campaign)
    assert re.search(r'class="roi">0\.0333<', campaign)
    # the creators in ROI order, each with its reason; the attribution rule once
    handles = re.findall(r'<tr class="campaign-creator" data-handle="(\w+)"', campaign)
    assert handles == ["cara", "ben", "anna", "dan"]
    assert "ROI 4.5 = (110.00 - 20.00) / 20.00 EUR: 2 orders" in campaign
    assert campaign.count('class="why attribution-rule"') == 1
    assert "[2026-02-01, 2026-02-22)" in campaign
    # the chart: drawn, titled, a revenue bar per creator at the mart's value
    chart = re.search(r'class="chart campaign-chart">(.*?)</svg>', campaign, re.S).group(1)
    assert re.search(r"<path[^>]+d=\"M", chart), "an empty chart"
    assert "Title text 'Revenue and cost per creator'" in chart
    bars = re.findall(r'aria-label="EUR: ([\d.]+); creator: #\d (\w+)[^;]*; measure: revenue"',
                      chart)  # fmt: skip
    assert {h: float(a) for a, h in bars} == {h: float(r) for h, r in by_roi}
    # each creator's sponsored posts with their evidence; the next shortlist
    assert campaign.count('<tr class="sponsored-post">') == 7
    b2 = re.search(r'<tr class="sponsored-post">(?:(?!</tr>).)*grn\.to/ben/.*?</tr>', campaign,
                   re.S).group(0)  # fmt: skip
    assert re.findall(r'class="badge paid"\s*>([^<]+)<', b2) == ["link grn.to/ben", "#ad"]
    assert re.findall(r'<tr class="shortlisted">.*?@(\w+)', campaign, re.S) == ["eve", "gil"]

    # candidate pages: sponsored posts carry their badge and evidence, false friends none
    ben = section(dom, "article", "account-mastodon-ben")
    assert re.findall(r'class="badge paid">([^<]+)<', post_row(ben, "b2")) == [
        "campaign: spring",
        "#ad",
    ]
    assert "link grn.to/ben" in post_row(ben, "b2")
    assert "badge" not in post_row(ben, "b3")  # grn.to/benny
    assert "1 of 3 own posts of" in ben and '<a href="#campaign-spring">' in ben
    dan = section(dom, "article", "account-mastodon-dan")
    assert re.findall(r'class="badge paid">([^<]+)<', post_row(dan, "d2")) == [
        "“paid partnership”"  # another brand's deal: disclosed, not the campaign's
    ]
    eve = section(dom, "article", "account-mastodon-eve")
    assert re.findall(r'class="badge paid">([^<]+)<', eve) == [
        "platform flag: paid product placement"
    ]
    assert "badge paid" in post_row(eve, "eve12") and "1 flagged by the platform" in eve
    anna = section(dom, "article", "account-mastodon-anna")
    # a6 is not among her top five: listed after them as a sponsored post of the 30 days
    assert "not among the top" in anna and "@greenpan" in post_row(anna, "a6")
    # her engagement chart draws the three sponsored posts in their own colour
    chart = re.search(r'class="chart engagement-chart">(.*?)</svg>', anna, re.S).group(1)
    sponsored = re.findall(r'aria-label="created: (\w+ \d+); [^"]*; post: sponsored"', chart)
    assert sorted(sponsored) == ["Feb 03", "Feb 05", "Feb 14"]
    assert "badge" not in post_row(anna, "a7")  # #greenspringtime, ANNA100, @greenpanda


def test_a_mid_campaign_report_lists_the_posts_known_then(spring: Path):
    """As of 9 February: anna's a6 (14 February) is not yet a post, though the
    intermediate tables, last built for 1 March, hold it."""
    with duckdb.connect(str(spring), read_only=True) as conn:
        html = render_html_report(conn, MID_CAMPAIGN)
        (newest,) = conn.execute(
            """select list(post_id order by post_id) from intermediate.int_campaign_posts
               where handle = 'anna' and is_sponsored"""
        ).fetchone()
    assert newest == ["a1", "a2", "a6"]
    campaign = section(html, "section", "campaign-spring")
    anna = re.search(r"@anna: (\d) sponsored posts", campaign)
    assert anna and anna.group(1) == "2"
    assert "thanks!" not in campaign and "use code anna10" in campaign
    # her figures then (test_campaign_marts): 230.00 back for the flat 300.00 of then
    row = re.search(r'data-handle="anna">.*?</tr>', campaign, re.S).group(0)
    assert re.findall(r'<td class="num">([^<]*)</td>', row)[-4:] == [
        "230.00",
        "300.00",
        "0.767",
        "-0.233",
    ]


def test_no_campaign_data_no_campaign_section(tmp_path: Path):
    world, _ = linked_world()
    warehouse = tmp_path / "warehouse.duckdb"
    config = config_with(tmp_path, engagement=EVERY_WINDOW_RATED)
    build_campaign_world(world, CampaignWorld(), warehouse, config, AS_OF)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        html = render_html_report(conn, AS_OF)
    assert html is not None and 'class="campaign"' not in html and "Campaign:" not in html
    # disclosure needs no campaign: ben's #ad is still marked
    ben = section(html, "article", "account-mastodon-ben")
    assert re.findall(r'class="badge paid">([^<]+)<', post_row(ben, "b2")) == ["#ad"]
