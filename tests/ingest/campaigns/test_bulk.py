"""The bulk path (DuckDB) lands exactly what the careful path lands from a click export:
the same rows in the same order and the same rejects, whatever each line holds; and it
steps aside for a file it cannot read line for line."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from ingest.campaigns.bulk import parse_shopify_bulk, parse_short_links_bulk
from ingest.campaigns.exports import SHOPIFY_COLUMNS
from ingest.campaigns.landing import land_exports
from tests.helpers.paths import ROOT

HEADER = "Timestamp,Click ID,Short Link,Destination URL,URL,Country"
D = "https://shop.example/w?utm_source=Bluesky&utm_medium=social&utm_campaign=winter"
LINES = [
    f"2026-11-08T17:35:12Z,c1,https://grnov.en/ofen,{D}&utm_content=ofen,,DE",
    f"2026-11-08 17:35:12,c2,grnov.en/Ofen/,{D},,AT",
    f"2026-11-08T17:35:12.5+01:00,c3,http://GRNOV.EN:8080/x,{D}#utm_content=no,,CH",
    "2026-11-08T17:35:12.123456-05:30,c4,https://grnov.en/lena,,https://u.example/?utm_source=u,DE",
    f"2026-11-08T17:35:12Z,c5,HTTPS://grnov.en/ofen,{D},,DE",  # a scheme in capitals
    "2026-11-08T17:35:12Z,c6,https://grnov.en/ofen,https://s.example/?utm_source=a%20b,,DE",
    "2026-11-08T17:35:12Z,c7,https://grnov.en/ofen,https://s.example/?utm_source=a+b,,DE",
    "2026-11-08T17:35:12Z,c8,https://grnov.en/ofen,https://s.example/?utm_source=&utm_source=Two,,DE",
    "2026-11-08T17:35:12Z,,https://grnov.en/ofen,,,DE",  # no click id: a key from the row
    "2026-11-08T17:35:12Z,,https://grnov.en/ofen,,,DE",  # the same row again: another click
    "2026-11-08T24:00:00Z,c11,https://grnov.en/ofen,,,DE",
    "2026-02-30T10:00:00Z,c12,https://grnov.en/ofen,,,DE",
    "0001-01-01T00:00:00+01:00,c13,https://grnov.en/ofen,,,DE",
    "9999-12-31T23:59:59-05:00,c14,https://grnov.en/ofen,,,DE",
    "yesterday,c15,https://grnov.en/ofen,,,DE",
    ",c16,https://grnov.en/ofen,,,DE",
    "2026-11-08T17:35:12Z,c17,,,,DE",
    "2026-11-08T17:35:12Z,c18,https://grnov.en/ofen",  # fewer cells
    "2026-11-08T17:35:12Z, c19 ,https://grnov.en/ofen,,,DE",  # padded
    "2026-11-08T17:35:12Z,c20,https://grnov.en/ofen,https://s.example/?utm_source=Über,,DE",
    "2026-11-08T17:35:12Z,c1,https://grnov.en/other,,,DE",  # c1 again, later in the file
    "2026-11-08T17:35:12Z,c22,https://grnov.en/a?b,,,DE",
    "2026-11-08T17:35:12,c23,grnov.en,,,DE",
    "2026-11-08T17:35:12Z,c24,https://grnov.en/ofen,https://s.example/#f?utm_source=x,,DE",
    "2026-11-08T17:35:12Z,c25,https://grnov.en/ofen,https://s.example/utm_source=x,,DE",
    "2026-11-08T17:35:12Z,c26,https://grnov.en/ofen,https://s.example/?xutm_source=y&utm_content=,,DE",
]

# lines DuckDB reads as Python does: a file of them only is read without line numbers
PLAIN = [line for line in LINES if line.split(",")[1] in {"c1", "c2", "c3", "c4", "c23"}]
# printable ASCII throughout: the text checks are "no space" instead of a regular expression
ASCII = [line for line in LINES if line.isascii()]
# a tab is not printable: the regular expressions again
TAB = [*ASCII, "2026-11-08T17:35:12Z,c40\t,https://grnov.en/ofen,,,DE"]
BULK = (LINES, PLAIN, ASCII, TAB)


def _land(exports: Path, landing: Path, bulk_min_bytes: int) -> tuple[list, list, dict]:
    summary = land_exports(exports, landing, bulk_min_bytes=bulk_min_bytes)
    found = {}
    with duckdb.connect() as conn:
        for entity in ("link_clicks", "rejects"):
            files = sorted((landing / "short_links" / entity).glob("*/*.parquet"))
            found[entity] = (
                conn.execute("select * from read_parquet(?)", [[str(f) for f in files]]).fetchall()
                if files
                else []
            )
    rows, rejects = found["link_clicks"], found["rejects"]
    return rows, rejects, {"landed": summary.landed, "rows": summary.rows}


@pytest.mark.parametrize(
    "lines",
    [
        LINES,
        PLAIN,
        ASCII,
        TAB,
        # a quote: records may span lines, so the careful path reads it
        [*LINES, '2026-11-08T17:35:12Z,c30,https://grnov.en/q,"https://s.example/?a=1,2",,DE'],
        # a line with more cells than the header: DuckDB refuses, the careful path reads it
        [*LINES, "2026-11-08T17:35:12Z,c31,https://grnov.en/q,,,DE,extra"],
        # not UTF-8: one reject for the file either way
        [*LINES, "2026-11-08T17:35:12Z,c32,https://grnov.en/café,,,DE"],
    ],
    ids=["mixed", "plain", "ascii", "tab", "quoted", "long line", "latin-1"],
)
def test_bulk_and_careful_paths_land_the_same(tmp_path: Path, lines: list[str]):
    exports = tmp_path / "exports" / "short_links"
    exports.mkdir(parents=True)
    (exports / "clicks_2026-11-21.csv").write_text(
        "\n".join([HEADER, *lines]) + "\n", encoding="latin-1" if "é" in lines[-1] else "utf-8"
    )
    taken = parse_short_links_bulk(
        exports / "clicks_2026-11-21.csv", "short_links", "x", tmp_path / "probe.parquet"
    )
    assert (taken is not None) == (lines in BULK)  # the others are not for the bulk path
    careful = _land(tmp_path / "exports", tmp_path / "careful", bulk_min_bytes=1 << 40)
    bulk = _land(tmp_path / "exports", tmp_path / "bulk", bulk_min_bytes=0)
    assert bulk == careful
    rows, rejects, _ = careful
    if lines is PLAIN:
        assert len(rows) == 6 and not rejects  # c1 twice, the later one last
        assert [r[1] for r in rows] == ["c1", "c2", "c3", "c4", "c1", "c23"]
    else:
        assert len(rejects) >= 5 if rows else len(rejects) == 1


ORDER_HEADER = [*SHOPIFY_COLUMNS, "Lineitem name", "Landing Site"]
GOOD = {
    "Financial Status": "paid",
    "Currency": "EUR",
    "Subtotal": "30.00",
    "Shipping": "4.90",
    "Taxes": "2.10",
    "Total": "37.00",
    "Created at": "2026-11-05 14:03:22 +0100",
    "Refunded Amount": "0.00",
    "Lineitem name": "Rye loaf",
}
# (Name, the values that differ from GOOD): plain orders, odd ones DuckDB leaves to the
# careful path, bad ones (rejects), extra line items and lines without a name
ORDERS = [
    ("#1", {"Discount Code": "lena10, Winter5,,lena10", "Discount Amount": "3.00"}),
    ("#1", {"Lineitem name": "Seeded rolls", "Total": "999.00", "Currency": "XX"}),
    ("#2", {"Landing Site": "/p?utm_source=Bluesky&utm_campaign=W&utm_source=x#utm_content=n"}),
    ("#3", {"Landing Site": "/p?utm_source=a%20b&utm_medium=c+d"}),
    ("#4", {"Created at": "2026-11-05T14:03:22Z", "Cancelled at": "2026-11-06 01:00:00 -0530"}),
    ("#5", {"Created at": "2026-11-05 14:03:22.5 +0100", "Currency": "usd"}),
    (
        "#6",
        {"Subtotal": "7", "Total": "0007.5", "Shipping": "", "Taxes": "", "Refunded Amount": ""},
    ),
    ("#7", {"Subtotal": "12,50"}),
    ("#8", {"Total": ""}),
    ("#9", {"Refunded Amount": "-5.00"}),
    ("#10", {"Shipping": "4.999"}),
    ("#11", {"Created at": "05/11/2026"}),
    ("#12", {"Cancelled at": "soon"}),
    ("#13", {"Currency": "Euro"}),
    ("#14", {"Created at": "2026-02-30 10:00:00 +0100"}),
    ("#15", {"Total": "99999999999999999.00"}),
    ("#16", {"Financial Status": "Partially_Refunded", "Discount Code": " Ofen10 "}),
    ("#17", {"Financial Status": "Über"}),
    ("", {"Lineitem name": "a line without its order"}),
    ("", {key: "" for key in GOOD}),
    ("#7", {}),  # the bad order's next line item: not read
    ("#18", {"Lineitem name": "Brot, 500 g"}),  # a quoted cell
]


def _orders_file(path: Path, orders=ORDERS, header=ORDER_HEADER, end: str = "\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator=end)
        writer.writerow(header)
        for name, values in orders:
            row = {**GOOD, "Name": name, **values}
            writer.writerow([row.get(column, "") for column in header])


def _land_orders(exports: Path, landing: Path, bulk_min_bytes: int) -> tuple[list, list, dict]:
    summary = land_exports(exports, landing, bulk_min_bytes=bulk_min_bytes)
    found = {}
    with duckdb.connect() as conn:
        for entity in ("orders", "rejects"):
            files = sorted((landing / "shopify" / entity).glob("*/*.parquet"))
            found[entity] = (
                conn.execute(
                    "select * from read_parquet(?, hive_partitioning = false)",
                    [[str(f) for f in files]],
                ).fetchall()
                if files
                else []
            )
    return found["orders"], found["rejects"], {"landed": summary.landed, "rows": summary.rows}


@pytest.mark.parametrize(
    ("case", "bulk_taken"),
    [
        ("mixed", True),
        ("crlf", True),
        ("plain", True),
        ("recorded", True),
        ("multi-line cell", False),
        ("name padded", False),
        ("lone cr", False),
        ("missing column", False),
        ("latin-1", False),
    ],
)
def test_orders_bulk_and_careful_paths_land_the_same(tmp_path: Path, case: str, bulk_taken):
    export = tmp_path / "exports" / "shopify" / "orders_export_2026-11-22.csv"
    if case == "recorded":
        for fixture in (ROOT / "fixtures" / "campaigns" / "exports" / "shopify").glob("*.csv"):
            export.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(fixture, export.parent / fixture.name)
        export = export.parent / "orders_export_2026-11-20.csv"
    elif case == "plain":
        _orders_file(export, [o for o in ORDERS if o[0] in ("#1", "#2", "#4", "#6", "#16")])
    elif case == "crlf":
        _orders_file(export, end="\r\n")
    elif case == "multi-line cell":
        _orders_file(export, [*ORDERS, ("#19", {"Lineitem name": "two\nlines"})])
    elif case == "name padded":
        _orders_file(export, [*ORDERS, ("#1 ", {})])
    elif case == "lone cr":
        _orders_file(export, [*ORDERS, ("#19", {"Lineitem name": "a\rb"})])
    elif case == "missing column":
        _orders_file(export, header=[c for c in ORDER_HEADER if c != "Total"])
    else:
        _orders_file(export)
    if case == "latin-1":
        export.write_bytes(export.read_text().replace("Über", "Üb").encode("latin-1"))
    taken = parse_shopify_bulk(export, "shopify", "x", tmp_path / "probe.parquet")
    assert (taken is not None) == bulk_taken
    careful = _land_orders(tmp_path / "exports", tmp_path / "careful", bulk_min_bytes=1 << 40)
    bulk = _land_orders(tmp_path / "exports", tmp_path / "bulk", bulk_min_bytes=0)
    assert bulk == careful
    rows, rejects, _ = careful
    if case in ("mixed", "crlf"):
        assert len(rows) == 9 and len(rejects) == 10
    elif case == "plain":
        assert len(rows) == 5 and not rejects
