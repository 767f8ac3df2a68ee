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
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from ingest.campaigns.terms import normalize_code, normalize_short_link, utm_of
from radar.canonical import Reject, has_lone_surrogate, to_naive_utc
from radar.errors import one_line

KINDS = ("shopify", "ga4", "short_links")
# the record of a reject, cut like the feed's
RECORD_CHARS = 4000


class _ExportRow(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _landable(cls, value: object, info: ValidationInfo) -> object:
        """Naive UTC timestamps and no text Parquet refuses (a lone surrogate)."""
        if isinstance(value, datetime):
            return to_naive_utc(value)
        if isinstance(value, str) and has_lone_surrogate(value):
            raise ValueError(f"{info.field_name} holds a lone surrogate")
        return value


class Order(_ExportRow):
    """Key: (source, order_id). The newest export wins on merge (a refund comes later)."""

    source: str
    order_id: str
    ordered_at: datetime
    currency: str
    subtotal: Decimal
    total: Decimal
    discount_codes: list[str]
    landing_url: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_content: str | None
    refunded: Decimal
    cancelled_at: datetime | None
    observed_at: datetime
    financial_status: str | None
    discount_amount: Decimal | None
    shipping: Decimal | None
    taxes: Decimal | None


class LinkClick(_ExportRow):
    """Key: (source, click_key). A click of a short link, or a day's sessions of a UTM
    tuple; the newest export wins on merge (analytics revise their counts)."""

    source: str
    click_key: str
    clicked_on: date
    clicked_at: datetime | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_content: str | None
    short_link: str | None
    clicks: int
    sessions: int | None
    observed_at: datetime
    views: int | None


ENTITY_OF_KIND = {"shopify": "orders", "ga4": "link_clicks", "short_links": "link_clicks"}
MODEL_OF_ENTITY: dict[str, type[_ExportRow]] = {"orders": Order, "link_clicks": LinkClick}


@dataclass
class ParsedExport:
    source: str
    entity: str
    observed_at: datetime
    rows: list[_ExportRow] = field(default_factory=list)
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
    """One export file's lines and what became of them."""

    source: str
    entity: str
    source_path: str
    observed_at: datetime
    parsed: ParsedExport = field(init=False)

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

    def add(self, line: int, record: dict, model: type[_ExportRow], **values: object) -> None:
        """The row, or a reject when the row model refuses a value."""
        try:
            self.parsed.rows.append(model(**values))
        except ValueError as exc:
            self.reject(line, f"line {line}: {one_line(exc)}", record)

    def fail_file(self, reason: str, header: list[str]) -> ParsedExport:
        self.reject(1, reason, {"header": header})
        self.parsed.file_error = reason
        return self.parsed


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


def _cell(row: list[str], columns: dict[str, int], name: str) -> str:
    i = columns.get(name.lower())
    return row[i].strip() if i is not None and i < len(row) else ""


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


_SHOPIFY_TIME = "%Y-%m-%d %H:%M:%S %z"


def _timestamp(value: str, column: str, required: bool = False) -> datetime | None:
    """Shopify's ``2026-11-14 10:23:45 +0100``, or ISO 8601; naive values are UTC."""
    if value == "":
        if required:
            raise _BadValue(f"{column} is empty")
        return None
    try:
        parsed = datetime.strptime(value, _SHOPIFY_TIME)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _BadValue(f"{column} {value!r} is not a timestamp") from None
    try:
        return to_naive_utc(parsed)
    except ValueError as exc:
        raise _BadValue(f"{column} {value!r}: {exc}") from None


def _day(value: str, column: str) -> date:
    """GA4's ``20261114``, or ``2026-11-14``."""
    try:
        if re.fullmatch(r"\d{8}", value):
            return datetime.strptime(value, "%Y%m%d").date()
        return date.fromisoformat(value)
    except ValueError:
        raise _BadValue(f"{column} {value!r} is not a date") from None


def _lines(text: str) -> tuple[list[str] | None, int, csv.reader]:
    """The header (None for an empty file) and a reader over the rest; GA4's leading
    ``#`` comment lines and blank lines are skipped. Also returns the header's line."""
    reader = csv.reader(io.StringIO(text, newline=""))
    for row in reader:
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        return row, reader.line_num, reader
    return None, 0, reader


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


def parse_shopify(text: str, read: _Reader) -> ParsedExport:
    header, _, reader = _lines(text)
    columns = _columns(header or [])
    missing = _missing(columns, SHOPIFY_COLUMNS)
    if header is None or missing:
        return read.fail_file(
            f"missing column(s) {', '.join(missing or SHOPIFY_COLUMNS)} "
            "(a Shopify orders export has them)",
            header or [],
        )
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        if not "".join(row).strip():
            continue
        name = _cell(row, columns, "Name")
        if not name:
            read.reject(line, f"line {line}: Name is empty", _record(header, row))
            continue
        if name in seen:
            continue  # another line item of an order read at its first line
        seen.add(name)
        try:
            read.parsed.rows.append(_shopify_order(row, columns, read, name))
        except ValueError as exc:  # a _BadValue, or a value the row model refuses
            read.reject(line, f"line {line}: order {name}: {one_line(exc)}", _record(header, row))
    return read.parsed


def _shopify_order(row: list[str], columns: dict[str, int], read: _Reader, name: str) -> Order:
    value = lambda column: _cell(row, columns, column)  # noqa: E731
    currency = value("Currency").upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise _BadValue(f"Currency {value('Currency')!r} is not an ISO 4217 code")
    codes = [normalize_code(c) for c in value("Discount Code").split(",") if c.strip()]
    landing = value(SHOPIFY_LANDING_COLUMN) or None
    utm = (
        utm_of(landing)
        if landing
        else dict.fromkeys(("utm_source", "utm_medium", "utm_campaign", "utm_content"))
    )
    return Order(
        source=read.source,
        order_id=name,
        ordered_at=_timestamp(value("Created at"), "Created at", required=True),
        currency=currency,
        subtotal=_amount(value("Subtotal"), "Subtotal", required=True),
        total=_amount(value("Total"), "Total", required=True),
        discount_codes=list(dict.fromkeys(codes)),
        landing_url=landing,
        **utm,
        refunded=_amount(value("Refunded Amount"), "Refunded Amount") or Decimal("0.00"),
        cancelled_at=_timestamp(value("Cancelled at"), "Cancelled at"),
        observed_at=read.observed_at,
        financial_status=value("Financial Status").lower() or None,
        discount_amount=_amount(value("Discount Amount"), "Discount Amount"),
        shipping=_amount(value("Shipping"), "Shipping"),
        taxes=_amount(value("Taxes"), "Taxes"),
    )


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


def parse_ga4(text: str, read: _Reader) -> ParsedExport:
    header, _, reader = _lines(text)
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
    totals: dict[tuple, dict] = {}
    for row in reader:
        line = reader.line_num
        value = lambda column, row=row: _cell(row, columns, column)  # noqa: E731
        if not "".join(row).strip() or not value("Date"):
            continue  # a blank line, or a totals row (no date)
        try:
            day = _day(value("Date"), "Date")
            if value("Session source / medium"):
                source, _, medium = value("Session source / medium").partition(" / ")
            else:
                source, medium = value("Session source"), value("Session medium")
            utm = (
                _dimension(source),
                _dimension(medium),
                _dimension(value("Session campaign")),
                _dimension(value("Session manual ad content")),
            )
            sessions = _count(value("Sessions"), "Sessions", required=True)
            views = _count(value("Views"), "Views")
            clicks = _count(value("Clicks"), "Clicks")
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
            _record(header, total["row"]),
            LinkClick,
            source=read.source,
            click_key="|".join([day.isoformat(), *(v or "" for v in utm)]),
            clicked_on=day,
            clicked_at=None,
            utm_source=utm[0],
            utm_medium=utm[1],
            utm_campaign=utm[2],
            utm_content=utm[3],
            short_link=None,
            # GA4 counts no clicks: a session that began from a tagged link began with one
            clicks=total["clicks"] if total["clicks"] is not None else total["sessions"],
            sessions=total["sessions"],
            observed_at=read.observed_at,
            views=total["views"],
        )
    return read.parsed


SHORT_LINK_COLUMNS: list[str | tuple[str, ...]] = ["Timestamp", ("Short Link", "Domain")]


def parse_short_links(text: str, read: _Reader) -> ParsedExport:
    header, _, reader = _lines(text)
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
    occurrences: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        value = lambda column, row=row: _cell(row, columns, column)  # noqa: E731
        if not "".join(row).strip():
            continue
        try:
            clicked_at = _timestamp(value("Timestamp"), "Timestamp", required=True)
            link = value("Short Link") or (
                f"{value('Domain')}/{value('Key')}" if value("Domain") else ""
            )
            if not link:
                raise _BadValue("Short Link is empty")
        except _BadValue as exc:
            read.reject(line, f"line {line}: {exc}", _record(header, row))
            continue
        key = value("Click ID")
        if not key:
            # the same click in two overlapping exports must get the same key: the row's
            # content, and how often that content came before in the file
            digest = hashlib.sha256("\x1f".join(c.strip() for c in row).encode()).hexdigest()
            occurrences[digest] = occurrences.get(digest, 0) + 1
            key = f"sha256:{digest[:32]}:{occurrences[digest]}"
        destination = value("Destination URL") or value("URL")
        utm = utm_of(destination) if destination else {}
        read.add(
            line,
            _record(header, row),
            LinkClick,
            source=read.source,
            click_key=key,
            clicked_on=clicked_at.date(),
            clicked_at=clicked_at,
            utm_source=utm.get("utm_source"),
            utm_medium=utm.get("utm_medium"),
            utm_campaign=utm.get("utm_campaign"),
            utm_content=utm.get("utm_content"),
            short_link=normalize_short_link(link),
            clicks=1,
            sessions=None,
            observed_at=read.observed_at,
            views=None,
        )
    return read.parsed


PARSERS: dict[str, Callable[[str, _Reader], ParsedExport]] = {
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


def parse_export(path: Path, source: str, source_path: str) -> ParsedExport:
    """One export file of the folder ``source`` (its layout the kind the name starts
    with). ``source_path``: how rejects point at it (``<source>/<file>``)."""
    read = _Reader(source, entity_of(source), source_path, observed_at_of(path))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return read.fail_file(f"not UTF-8 text (byte {exc.start}): export it as UTF-8 CSV", [])
    try:
        return PARSERS[kind_of(source)](text.replace("\x00", ""), read)
    except csv.Error as exc:
        return read.fail_file(f"not a readable CSV: {one_line(exc)}", [])
