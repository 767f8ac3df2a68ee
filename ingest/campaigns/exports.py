"""Results as shops and analytics tools export them, parsed into canonical rows.

Three layouts, each chosen by the export's folder under the exports dir (its name is the
rows' ``source`` and the rejects' ``platform``):

- ``shopify…``: Shopify's orders CSV (Admin → Orders → Export): one row per line item, the
  order's own columns filled on its first line only;
- ``ga4…``: a GA4 report downloaded as CSV: ``#`` comment lines, then one row per day ×
  session source / medium / campaign / manual ad content with its sessions;
- ``short_links…``: a short-link service's click export, one row per click.

A value that cannot be read makes a reject naming the column, the value and the line; a
file without a column the layout needs makes one reject for the file. Nothing raises.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ingest.campaigns.terms import normalize_code, normalize_short_link, utm_of
from radar.canonical import Reject, to_naive_utc
from radar.errors import one_line

KINDS = ("shopify", "ga4", "short_links")
# the record of a reject, cut like the feed's
RECORD_CHARS = 4000


class _ExportRow(BaseModel):
    """A canonical row of an export. Its values are built by the parsers below (timestamps
    already naive UTC; text from strictly decoded UTF-8, so no lone surrogate), and checked
    against the model a batch at a time (``_Reader.flush``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# the constraints the warehouse and the merge rely on: the parsers keep to them, and a
# row that would not is a reject (``_Reader.flush``), never a failed load
_MONEY = {"ge": 0, "max_digits": 18, "decimal_places": 2}
_SOURCE = r"^[a-z][a-z0-9_]*$"


class Order(_ExportRow):
    """Key: (source, order_id). The newest export wins on merge (a refund comes later)."""

    source: str = Field(pattern=_SOURCE)
    order_id: str = Field(min_length=1)
    ordered_at: datetime
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    subtotal: Decimal = Field(**_MONEY)
    total: Decimal = Field(**_MONEY)
    discount_codes: list[str]
    landing_url: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_content: str | None
    refunded: Decimal = Field(**_MONEY)
    cancelled_at: datetime | None
    observed_at: datetime
    financial_status: str | None
    discount_amount: Decimal | None = Field(**_MONEY)
    shipping: Decimal | None = Field(**_MONEY)
    taxes: Decimal | None = Field(**_MONEY)


class LinkClick(_ExportRow):
    """Key: (source, click_key). A click of a short link, or a day's sessions of a UTM
    tuple; the newest export wins on merge (analytics revise their counts)."""

    source: str = Field(pattern=_SOURCE)
    click_key: str = Field(min_length=1)
    clicked_on: date
    clicked_at: datetime | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_content: str | None
    short_link: str | None
    clicks: int = Field(ge=0, le=2**63 - 1)
    sessions: int | None = Field(ge=0, le=2**63 - 1)
    observed_at: datetime
    views: int | None = Field(ge=0, le=2**63 - 1)


ENTITY_OF_KIND = {"shopify": "orders", "ga4": "link_clicks", "short_links": "link_clicks"}
MODEL_OF_ENTITY: dict[str, type[_ExportRow]] = {"orders": Order, "link_clicks": LinkClick}


# rows checked and handed on together: bounds the memory of a large export
BATCH_ROWS = 50_000


@dataclass
class ParsedExport:
    source: str
    entity: str
    observed_at: datetime
    # the rows, as models; empty when they were handed to ``on_rows`` instead
    rows: list[_ExportRow] = field(default_factory=list)
    row_count: int = 0
    rejects: list[Reject] = field(default_factory=list)
    # why the whole file could not be read (a missing column); its one reject is above
    file_error: str | None = None


def kind_of(source: str) -> str | None:
    """The layout of an export folder: the known kind its name starts with (``shopify``,
    ``shopify_eu``); None for another name (it is also the rejects' platform, which is
    lowercase letters, digits and ``_``)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", source):
        return None
    return next((k for k in KINDS if source == k or source.startswith(f"{k}_")), None)


def entity_of(source: str) -> str:
    """The warehouse entity an export folder's files hold (``orders``, ``link_clicks``)."""
    kind = kind_of(source)
    if kind is None:
        raise ValueError(f"export folder {source!r} is none of {', '.join(KINDS)}")
    return ENTITY_OF_KIND[kind]


class _BadValue(ValueError):
    """A value of a line that cannot be read; the message names the column and value."""


@dataclass
class _Reader:
    """One export file's lines and what became of them. Rows gather as plain values and are
    checked against their model a batch at a time; a batch that passes goes to
    ``on_rows`` (as dicts, for the landing writer) or, without it, to ``parsed.rows``."""

    source: str
    entity: str
    source_path: str
    observed_at: datetime
    on_rows: Callable[[list[dict]], None] | None = None
    parsed: ParsedExport = field(init=False)
    _pending: list[tuple[int, list[str], dict]] = field(default_factory=list, init=False)
    header: list[str] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.parsed = ParsedExport(self.source, self.entity, self.observed_at)

    def reject(self, line: int, reason: str, record: dict | None) -> None:
        text = None if record is None else json.dumps(record, ensure_ascii=False)[:RECORD_CHARS]
        self.parsed.rejects.append(
            Reject(
                platform=self.source,
                entity=self.entity,
                source_path=self.source_path,
                source_line=line,
                record_index=0,
                reason=reason,
                record=text,
                observed_at=self.observed_at,
            )
        )

    def add(self, line: int, row: list[str], values: dict) -> None:
        self._pending.append((line, row, values))
        if len(self._pending) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Check the gathered rows against the entity's model, all at once; only when that
        fails, row by row, so that each refused row is a reject and the others go on."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        model = MODEL_OF_ENTITY[self.entity]
        values = [v for _, _, v in pending]
        try:
            models = _adapter(model).validate_python(values)
        except ValidationError:
            models, kept = [], []
            for line, row, value in pending:
                try:
                    models.append(model.model_validate(value))
                    kept.append(value)
                except ValidationError as exc:
                    self.reject(line, f"line {line}: {one_line(exc)}", _record(self.header, row))
            values = kept
        self.parsed.row_count += len(values)
        if self.on_rows is None:
            self.parsed.rows.extend(models)
        else:
            self.on_rows(values)

    def fail_file(self, reason: str, header: list[str]) -> ParsedExport:
        self._pending = []
        self.parsed.rows, self.parsed.row_count, self.parsed.rejects = [], 0, []
        self.reject(1, reason, {"header": header})
        self.parsed.file_error = reason
        return self.parsed


@cache
def _adapter(model: type[_ExportRow]) -> TypeAdapter:
    return TypeAdapter(list[model])


def _columns(header: list[str]) -> dict[str, int]:
    """Column positions by lowercase name (exports differ in case; the first one wins)."""
    found: dict[str, int] = {}
    for i, name in enumerate(header):
        found.setdefault(name.strip().lower(), i)
    return found


def _missing(columns: dict[str, int], needed: list[str | tuple[str, ...]]) -> list[str]:
    """The needed columns (a tuple: any one of them) the header lacks, as named."""
    return [
        " or ".join(n) if isinstance(n, tuple) else n
        for n in needed
        if not any(c.lower() in columns for c in (n if isinstance(n, tuple) else (n,)))
    ]


def _cells(columns: dict[str, int], row: list[str]) -> Callable[[str], str]:
    """The row's value of a column by its lowercase name, stripped; '' when absent."""
    width = len(row)

    def value(name: str) -> str:
        i = columns.get(name)
        return row[i].strip() if i is not None and i < width else ""

    return value


def _record(header: list[str], row: list[str]) -> dict:
    return {name: value for name, value in zip(header, row, strict=False) if value != ""}


def _amount(value: str, column: str, required: bool = False) -> Decimal | None:
    if value == "":
        if required:
            raise _BadValue(f"{column} is empty")
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise _BadValue(f"{column} {value!r} is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -2:
        raise _BadValue(f"{column} {value!r} is not an amount of at most 2 decimals, >= 0")
    if abs(amount) >= Decimal(10) ** 16:
        raise _BadValue(f"{column} {value!r} is too large")
    return amount.quantize(Decimal("0.01"))


def _count(value: str, column: str, required: bool = False) -> int | None:
    if value == "":
        if required:
            raise _BadValue(f"{column} is empty")
        return None
    if not re.fullmatch(r"\d{1,18}", value):
        raise _BadValue(f"{column} {value!r} is not a whole number >= 0")
    return int(value)


def _timestamp(value: str, column: str, required: bool = False) -> datetime | None:
    """Shopify's ``2026-11-14 10:23:45 +0100``, or ISO 8601; naive values are UTC."""
    if value == "":
        if required:
            raise _BadValue(f"{column} is empty")
        return None
    text = value
    if len(text) > 20 and text[-6] == " " and text[-5] in "+-":
        text = text[:-6] + text[-5:]  # Shopify's zone after a space
    try:
        return to_naive_utc(datetime.fromisoformat(text))
    except ValueError:
        raise _BadValue(f"{column} {value!r} is not a timestamp") from None


def _day(value: str, column: str) -> date:
    """GA4's ``20261114``, or ``2026-11-14``."""
    try:
        if re.fullmatch(r"\d{8}", value):
            return datetime.strptime(value, "%Y%m%d").date()
        return date.fromisoformat(value)
    except ValueError:
        raise _BadValue(f"{column} {value!r} is not a date") from None


def _lines(lines: Iterable[str]) -> tuple[list[str] | None, csv.reader]:
    """The header (None for an empty file) and a reader over the rest; GA4's leading
    ``#`` comment lines and blank lines are skipped."""
    reader = csv.reader(lines)
    for row in reader:
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        return row, reader
    return None, reader


SHOPIFY_COLUMNS = [
    "Name",
    "Financial Status",
    "Currency",
    "Subtotal",
    "Shipping",
    "Taxes",
    "Total",
    "Discount Code",
    "Discount Amount",
    "Created at",
    "Refunded Amount",
    "Cancelled at",
]
# not in Shopify's own export: added by a report app, or from the Admin API's landing_site
SHOPIFY_LANDING_COLUMN = "Landing Site"


def parse_shopify(lines: Iterable[str], read: _Reader) -> ParsedExport:
    header, reader = _lines(lines)
    columns = _columns(header or [])
    missing = _missing(columns, SHOPIFY_COLUMNS)
    if header is None or missing:
        return read.fail_file(
            f"missing column(s) {', '.join(missing or SHOPIFY_COLUMNS)} "
            "(a Shopify orders export has them)",
            header or [],
        )
    read.header = header
    seen: set[str] = set()
    for row in reader:
        shopify_line(read, columns, row, reader.line_num, seen)
    read.flush()
    return read.parsed


def shopify_line(
    read: _Reader, columns: dict[str, int], row: list[str], line: int, seen: set[str]
) -> None:
    """One line of an orders export: its order (at the order's first line), or its reject.
    ``seen``: the names of the orders read so far."""
    value = _cells(columns, row)
    name = value("name")
    if not name:
        if "".join(row).strip():
            read.reject(line, f"line {line}: Name is empty", _record(read.header, row))
        return
    if name in seen:
        return  # another line item of an order read at its first line
    seen.add(name)
    try:
        read.add(line, row, _shopify_order(value, read, name))
    except _BadValue as exc:
        read.reject(line, f"line {line}: order {name}: {exc}", _record(read.header, row))


def _shopify_order(value: Callable[[str], str], read: _Reader, name: str) -> dict:
    currency = value("currency").upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise _BadValue(f"Currency {value('currency')!r} is not an ISO 4217 code")
    codes = [normalize_code(c) for c in value("discount code").split(",") if c.strip()]
    landing = value(SHOPIFY_LANDING_COLUMN.lower()) or None
    return {
        "source": read.source,
        "order_id": name,
        "ordered_at": _timestamp(value("created at"), "Created at", required=True),
        "currency": currency,
        "subtotal": _amount(value("subtotal"), "Subtotal", required=True),
        "total": _amount(value("total"), "Total", required=True),
        "discount_codes": list(dict.fromkeys(codes)),
        "landing_url": landing,
        **utm_of(landing or ""),
        "refunded": _amount(value("refunded amount"), "Refunded Amount") or Decimal("0.00"),
        "cancelled_at": _timestamp(value("cancelled at"), "Cancelled at"),
        "observed_at": read.observed_at,
        "financial_status": value("financial status").lower() or None,
        "discount_amount": _amount(value("discount amount"), "Discount Amount"),
        "shipping": _amount(value("shipping"), "Shipping"),
        "taxes": _amount(value("taxes"), "Taxes"),
    }


GA4_COLUMNS: list[str | tuple[str, ...]] = [
    "Date",
    ("Session source / medium", "Session source"),
    "Session campaign",
    "Sessions",
]
# GA4's placeholders for a dimension without a value
_NOT_SET = {"", "(not set)", "(none)", "(direct)", "(not provided)", "(organic)", "(referral)"}


def _dimension(value: str) -> str | None:
    return None if value.strip().lower() in _NOT_SET else value.strip().lower()


def parse_ga4(lines: Iterable[str], read: _Reader) -> ParsedExport:
    header, reader = _lines(lines)
    columns = _columns(header or [])
    missing = _missing(columns, GA4_COLUMNS)
    if "session source / medium" not in columns and "session medium" not in columns:
        missing.append("Session medium")
    if header is None or missing:
        return read.fail_file(
            f"missing column(s) {', '.join(missing)} (a GA4 report by date and session "
            "source / medium / campaign has them)",
            header or [],
        )
    read.header = header
    totals: dict[tuple, dict] = {}
    for row in reader:
        line = reader.line_num
        value = _cells(columns, row)
        if not value("date"):
            continue  # a blank line, or a totals row (no date)
        try:
            day = _day(value("date"), "Date")
            if value("session source / medium"):
                source, _, medium = value("session source / medium").partition(" / ")
            else:
                source, medium = value("session source"), value("session medium")
            utm = (
                _dimension(source),
                _dimension(medium),
                _dimension(value("session campaign")),
                _dimension(value("session manual ad content")),
            )
            sessions = _count(value("sessions"), "Sessions", required=True)
            views = _count(value("views"), "Views")
            clicks = _count(value("clicks"), "Clicks")
        except _BadValue as exc:
            read.reject(line, f"line {line}: {exc}", _record(header, row))
            continue
        total = totals.setdefault(
            (day, *utm),
            {"sessions": 0, "views": None, "clicks": None, "line": line, "row": row},
        )
        total["sessions"] += sessions
        for name, count in (("views", views), ("clicks", clicks)):
            if count is not None:
                total[name] = (total[name] or 0) + count
    for (day, *utm), total in totals.items():
        read.add(
            total["line"],
            total["row"],
            {
                "source": read.source,
                "click_key": "|".join([day.isoformat(), *(v or "" for v in utm)]),
                "clicked_on": day,
                "clicked_at": None,
                "utm_source": utm[0],
                "utm_medium": utm[1],
                "utm_campaign": utm[2],
                "utm_content": utm[3],
                "short_link": None,
                # GA4 counts no clicks: a session from a tagged link began with one
                "clicks": total["sessions"] if total["clicks"] is None else total["clicks"],
                "sessions": total["sessions"],
                "observed_at": read.observed_at,
                "views": total["views"],
            },
        )
    read.flush()
    return read.parsed


SHORT_LINK_COLUMNS: list[str | tuple[str, ...]] = ["Timestamp", ("Short Link", "Domain")]


def parse_short_links(lines: Iterable[str], read: _Reader) -> ParsedExport:
    header, reader = _lines(lines)
    columns = _columns(header or [])
    missing = _missing(columns, SHORT_LINK_COLUMNS)
    if "short link" not in columns and "domain" in columns and "key" not in columns:
        missing.append("Key")
    if header is None or missing:
        return read.fail_file(
            f"missing column(s) {', '.join(missing)} (a click export has one row per click "
            "with its time and short link)",
            header or [],
        )
    read.header = header
    occurrences: dict[str, int] = {}
    for row in reader:
        short_link_click(read, columns, row, reader.line_num, occurrences)
    read.flush()
    return read.parsed


def short_link_click(
    read: _Reader, columns: dict[str, int], row: list[str], line: int, occurrences: dict
) -> None:
    """One line of a click export: its click, or its reject. ``occurrences`` counts the
    rows without a click id seen so far, by content (their key)."""
    value = _cells(columns, row)
    if not "".join(row).strip():
        return
    try:
        clicked_at = _timestamp(value("timestamp"), "Timestamp", required=True)
        link = value("short link") or (
            f"{value('domain')}/{value('key')}" if value("domain") else ""
        )
        if not link:
            raise _BadValue("Short Link is empty")
    except _BadValue as exc:
        read.reject(line, f"line {line}: {exc}", _record(read.header, row))
        return
    key = value("click id")
    if not key:
        # the same click in two overlapping exports must get the same key: the row's
        # content, and how often that content came before in the file
        digest = hashlib.sha256("\x1f".join(c.strip() for c in row).encode()).hexdigest()
        occurrences[digest] = occurrences.get(digest, 0) + 1
        key = f"sha256:{digest[:32]}:{occurrences[digest]}"
    read.add(
        line,
        row,
        {
            "source": read.source,
            "click_key": key,
            "clicked_on": clicked_at.date(),
            "clicked_at": clicked_at,
            **utm_of(value("destination url") or value("url")),
            "short_link": normalize_short_link(link),
            "clicks": 1,
            "sessions": None,
            "observed_at": read.observed_at,
            "views": None,
        },
    )


PARSERS: dict[str, Callable[[Iterable[str], _Reader], ParsedExport]] = {
    "shopify": parse_shopify,
    "ga4": parse_ga4,
    "short_links": parse_short_links,
}

_NAME_TIME = re.compile(
    r"(?<!\d)(\d{4}-\d{2}-\d{2})(?:[T_ ](\d{2})[:\-]?(\d{2})(?:[:\-]?(\d{2}))?)?(?!\d)"
)


def observed_at_of(path: Path) -> datetime:
    """When an export was taken: a date (and time) in its file name
    (``orders_export_2026-11-22.csv``, ``clicks_2026-11-22T0600.csv``), else the file's
    modification time, in UTC."""
    found = _NAME_TIME.search(path.name)
    if found:
        day, hour, minute, second = found.groups()
        try:
            return datetime.fromisoformat(day).replace(
                hour=int(hour or 0), minute=int(minute or 0), second=int(second or 0)
            )
        except ValueError:
            pass  # not a real date: the file's time
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)


def parse_export(
    path: Path,
    source: str,
    source_path: str,
    on_rows: Callable[[list[dict]], None] | None = None,
) -> ParsedExport:
    """One export file of the folder ``source`` (its layout the kind the name starts
    with), read as a stream. ``source_path``: how rejects point at it
    (``<source>/<file>``). ``on_rows``: where each checked batch of rows goes (else
    ``rows``); a file that fails as a whole may have sent some before it failed."""
    read = _Reader(source, entity_of(source), source_path, observed_at_of(path), on_rows)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            # DuckDB and Parquet refuse NUL; a stray one is dropped, not the file
            lines = (line.replace("\x00", "") for line in handle)
            return PARSERS[kind_of(source)](lines, read)
    except UnicodeDecodeError as exc:
        return read.fail_file(f"not UTF-8 text ({exc.reason}): export it as UTF-8 CSV", [])
    except csv.Error as exc:
        return read.fail_file(f"not a readable CSV: {one_line(exc)}", [])
