"""Exports parsed as the shops and tools write them: Shopify orders (one row per line item,
the order's columns on its first line), GA4 CSVs and short-link click exports. Each bad
value is one reject naming the column, the value and the line; a missing column is one
reject for the file."""

from __future__ import annotations

import csv
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.campaigns.exports import (
    SHOPIFY_COLUMNS,
    observed_at_of,
    parse_export,
)
from tests.helpers.paths import ROOT

EXPORTS = ROOT / "fixtures" / "campaigns" / "exports"
HEADER = [*SHOPIFY_COLUMNS, "Lineitem name", "Landing Site"]


def _shopify(tmp_path: Path, rows: list[dict], header: list[str] = HEADER) -> Path:
    path = tmp_path / "shopify" / "orders_export_2026-11-22.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows([row.get(c, "") for c in header] for row in rows)
    return path


def _order(name: str, **values: str) -> dict:
    return {
        "Name": name,
        "Financial Status": "paid",
        "Currency": "EUR",
        "Subtotal": "30.00",
        "Shipping": "4.90",
        "Taxes": "2.10",
        "Total": "37.00",
        "Created at": "2026-11-05 14:03:22 +0100",
        "Refunded Amount": "0.00",
        "Lineitem name": "Rye loaf",
        **values,
    }


def test_the_recorded_orders_export_reads_each_order_once_from_its_first_line():
    path = EXPORTS / "shopify" / "orders_export_2026-11-20.csv"
    parsed = parse_export(path, "shopify", "shopify/orders_export_2026-11-20.csv")
    orders = {o.order_id: o for o in parsed.rows}
    # 13 orders on 17 lines: #1001 and #1003 have two line items, #1012 three
    assert sorted(orders) == [f"#10{n:02d}" for n in range(1, 14) if n not in (7, 8)]
    first = orders["#1001"]
    assert first.ordered_at == datetime(2026, 11, 5, 13, 3, 22)  # +0100 → UTC
    assert (first.subtotal, first.total, first.shipping) == (
        Decimal("36.90"),
        Decimal("44.38"),
        Decimal("4.90"),
    )
    assert first.discount_codes == ["CRUMB10"] and first.observed_at == datetime(2026, 11, 20)
    both = orders["#1003"]  # a code typed in lowercase, and a tracked landing page
    assert both.discount_codes == ["OFEN10"]
    assert (both.utm_source, both.utm_medium, both.utm_campaign, both.utm_content) == (
        "bluesky",
        "social",
        "winter_loaves",
        "ofenfrisch",
    )
    cancelled = orders["#1013"]
    assert cancelled.cancelled_at == datetime(2026, 11, 19, 7) and cancelled.currency == "EUR"
    assert orders["#1005"].currency == "GBP" and orders["#1010"].currency == "USD"
    assert [(r.source_line, r.reason) for r in parsed.rejects] == [
        (10, "line 10: order #1007: Total '4O.90' is not an amount"),
        (11, "line 11: order #1008: Created at '2026-11-31 25:00:00 +0100' is not a timestamp"),
    ]


def test_line_items_never_override_their_order_and_codes_split(tmp_path: Path):
    path = _shopify(
        tmp_path,
        [
            _order("#1", **{"Discount Code": "lena10, Winter5", "Discount Amount": "3.00"}),
            {"Name": "#1", "Lineitem name": "Seeded rolls", "Total": "999.00"},
            _order("#2", **{"Landing Site": "/p?utm_source=Bluesky&utm_campaign=W"}),
        ],
    )
    parsed = parse_export(path, "shopify", "shopify/x.csv")
    assert parsed.rejects == []
    first, second = parsed.rows
    assert (first.total, first.discount_codes) == (Decimal("37.00"), ["LENA10", "WINTER5"])
    assert first.discount_amount == Decimal("3.00") and first.refunded == Decimal("0.00")
    assert (second.landing_url, second.utm_source, second.utm_campaign) == (
        "/p?utm_source=Bluesky&utm_campaign=W",
        "bluesky",
        "w",
    )


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"Subtotal": "12,50"}, "line 2: order #9: Subtotal '12,50' is not an amount"),
        ({"Total": ""}, "line 2: order #9: Total is empty"),
        ({"Refunded Amount": "-5.00"}, "Refunded Amount '-5.00' is not an amount of at most"),
        ({"Shipping": "4.999"}, "Shipping '4.999' is not an amount of at most 2 decimals"),
        ({"Created at": "05/11/2026"}, "Created at '05/11/2026' is not a timestamp"),
        ({"Cancelled at": "soon"}, "Cancelled at 'soon' is not a timestamp"),
        ({"Currency": "Euro"}, "Currency 'Euro' is not an ISO 4217 code"),
        ({"Name": ""}, "line 2: Name is empty"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_bad_value_is_one_reject_and_the_other_orders_load(tmp_path: Path, values, reason):
    path = _shopify(tmp_path, [_order("#9", **values), _order("#10")])
    parsed = parse_export(path, "shopify", "shopify/orders.csv")
    assert [o.order_id for o in parsed.rows] == ["#10"]
    (reject,) = parsed.rejects
    assert reason in reject.reason
    assert (reject.platform, reject.entity, reject.source_path, reject.source_line) == (
        "shopify",
        "orders",
        "shopify/orders.csv",
        2,
    )
    assert '"Lineitem name": "Rye loaf"' in reject.record
    assert parsed.file_error is None


def test_a_file_without_a_required_column_is_one_reject_and_no_rows(tmp_path: Path):
    header = [c for c in HEADER if c not in ("Total", "Refunded Amount")]
    path = _shopify(tmp_path, [_order("#1"), _order("#2")], header)
    parsed = parse_export(path, "shopify", "shopify/orders.csv")
    assert parsed.rows == []
    assert parsed.file_error.startswith("missing column(s) Total, Refunded Amount")
    (reject,) = parsed.rejects
    assert (reject.source_line, reject.reason) == (1, parsed.file_error)


def test_a_file_that_is_not_utf8_is_one_reject(tmp_path: Path):
    path = _shopify(tmp_path, [_order("#1", **{"Lineitem name": "Brötchen"})])
    path.write_bytes(path.read_text().encode("latin-1"))
    parsed = parse_export(path, "shopify", "shopify/orders.csv")
    assert parsed.rows == [] and parsed.file_error.startswith("not UTF-8 text")


def test_the_ga4_export_skips_its_comments_and_sums_a_day_s_utm_tuple(tmp_path: Path):
    path = EXPORTS / "ga4" / "traffic_acquisition_2026-11-21.csv"
    parsed = parse_export(path, "ga4", "ga4/traffic_acquisition_2026-11-21.csv")
    rows = {r.click_key: r for r in parsed.rows}
    crumb = rows["2026-11-07|mastodon|social|winter_loaves|crumbshot"]  # written in mixed case
    assert (crumb.clicks, crumb.sessions, crumb.views, crumb.clicked_on) == (
        5,
        5,
        9,
        date(2026, 11, 7),
    )
    direct = rows["2026-11-10||||"]  # (direct) / (none), (not set)
    assert (direct.utm_source, direct.utm_medium, direct.utm_campaign) == (None, None, None)
    assert [(r.source_line, r.reason) for r in parsed.rejects] == [
        (17, "line 17: Sessions '12a' is not a whole number >= 0")
    ]
    # two lines of one day and tuple (another dimension split them) are one row
    two = tmp_path / "ga4" / "report.csv"
    two.parent.mkdir()
    two.write_text(
        "Date,Session source,Session medium,Session campaign,Device category,Sessions,Clicks\n"
        "2026-11-05,mastodon,social,winter,mobile,4,3\n"
        "2026-11-05,mastodon,social,winter,desktop,2,1\n"
    )
    (summed,) = parse_export(two, "ga4", "ga4/report.csv").rows
    assert (summed.sessions, summed.clicks) == (6, 4)


def test_short_link_clicks_keep_their_id_or_a_stable_key(tmp_path: Path):
    path = EXPORTS / "short_links" / "clicks_2026-11-21.csv"
    parsed = parse_export(path, "short_links", "short_links/clicks_2026-11-21.csv")
    clicks = {r.click_key: r for r in parsed.rows}
    assert clicks["clk_0003"].short_link == "grnov.en/ofen"  # trailing / dropped
    assert clicks["clk_0007"].short_link == "grnov.en/lena"  # host lowercased
    assert clicks["clk_0001"].clicked_at == datetime(2026, 11, 8, 17, 35, 12)
    assert clicks["clk_0001"].utm_content == "ofenfrisch"  # from the destination URL
    assert [r.reason for r in parsed.rejects] == [
        "line 6: Timestamp 'yesterday' is not a timestamp"
    ]
    # without a click id: the same click in two exports gets the same key, and two equal
    # rows of one export are two clicks
    lines = (
        "Timestamp,Domain,Key\n2026-11-08 10:00:00,grn.ov,Lena\n2026-11-08 10:00:00,grn.ov,Lena\n"
    )
    keys = []
    for name in ("a.csv", "b.csv"):
        export = tmp_path / "short_links" / name
        export.parent.mkdir(exist_ok=True)
        export.write_text(lines)
        keys.append([r.click_key for r in parse_export(export, "short_links", name).rows])
    assert keys[0] == keys[1] and len(set(keys[0])) == 2
    assert parse_export(export, "short_links", "b.csv").rows[0].short_link == "grn.ov/Lena"


def test_an_export_is_dated_by_its_name_else_by_its_file_time(tmp_path: Path):
    assert observed_at_of(Path("orders_export_2026-11-22.csv")) == datetime(2026, 11, 22)
    assert observed_at_of(Path("clicks_2026-11-22T0630.csv")) == datetime(2026, 11, 22, 6, 30)
    undated = tmp_path / "orders_export_1.csv"
    undated.write_text("x")
    os.utime(undated, (1_790_000_000, 1_790_000_000))
    assert observed_at_of(undated) == datetime(2026, 9, 21, 14, 13, 20)


@pytest.mark.parametrize(
    "url",
    [
        "/p?utm_source=Blue%20sky&utm_campaign=W+X&utm_source=second",
        "https://x.example/?a=1&utm_medium=&utm_medium=m#utm_content=not-the-query",
        "x?utm%5Fsource=encoded&utm_content=%C3%BCber",
        "/plain/page",
        "",
    ],
)
def test_utm_parameters_are_read_as_parse_qs_reads_them(url: str):
    from urllib.parse import parse_qs, urlsplit

    from ingest.campaigns.terms import UTM_FIELDS, utm_of

    query = parse_qs(urlsplit(url).query)
    expected = {f: query[f][0].strip().lower() if f in query else None for f in UTM_FIELDS}
    assert utm_of(url) == expected


def test_a_row_its_model_refuses_is_a_reject_and_the_others_load(tmp_path: Path):
    # eleven lines of one day and tuple sum past the 64-bit range the warehouse holds
    big = "2026-11-05,mastodon / social,winter,900000000000000000\n" * 11
    export = tmp_path / "ga4" / "report.csv"
    export.parent.mkdir()
    export.write_text(
        "Date,Session source / medium,Session campaign,Sessions\n"
        + big
        + "2026-11-06,mastodon / social,winter,7\n"
    )
    parsed = parse_export(export, "ga4", "ga4/report.csv")
    assert [(r.clicked_on, r.sessions) for r in parsed.rows] == [(date(2026, 11, 6), 7)]
    (reject,) = parsed.rejects
    assert reject.source_line == 2
    assert "sessions: Input should be less than or equal to 9223372036854775807" in reject.reason
