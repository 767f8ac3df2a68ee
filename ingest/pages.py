"""Recorded HTTP pages: the one format shared by the raw archive and fixture feeds.

One JSON object per line (``.jsonl`` or ``.jsonl.gz``)::

    {"fetched_at": "...", "request": {"method": "GET", "url": "...", "body": <json>?},
     "response": {"status": 200, "headers": {...}, "body": <json> | "body_text": "<raw>"}}
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from radar.canonical import to_naive_utc


@dataclass(frozen=True)
class PageRef:
    """Where a page came from: enough to find it again by hand."""

    path: str
    line: int


@dataclass(frozen=True)
class RecordedPage:
    ref: PageRef
    fetched_at: datetime
    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    # the JSON body of a POST (TikTok queries): part of what identifies the page
    request_body: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


def request_key(body: Any) -> str | None:
    """A request's JSON body in one spelling, so a replayed request finds its page."""
    return None if body is None else json.dumps(body, ensure_ascii=False, sort_keys=True)


def _request_body(request: dict) -> str | None:
    body = request.get("body")
    return body if isinstance(body, str) else request_key(body)


class PageFormatError(ValueError):
    """A line of a recording is not a recorded page at all."""


@dataclass(frozen=True)
class BadLine:
    """A line of a recording that is no recorded page (truncated, not UTF-8, not JSON, a
    field missing or of the wrong type, nested past what Python parses), or the part of a
    gzip file that could not be decompressed. ``text`` is the line as far as it decodes."""

    ref: PageRef
    reason: str
    text: str | None = None


_BOM = b"\xef\xbb\xbf"
_MAX_TEXT = 4000


def _open(path: Path):
    # by content, not name: an archive in progress is named ``.<name>.jsonl.gz.tmp``
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def _encoded(text: str) -> bytes:
    # a lone surrogate (a JSON escape like "\ud83c" without its pair) cannot be UTF-8:
    # it is written back as the escape it came from, so the body stays valid UTF-8 and the
    # mapping rejects the one record that holds it
    return text.encode("utf-8", "backslashreplace")


def _page(line: str, ref: PageRef) -> RecordedPage:
    entry = json.loads(line)
    if not isinstance(entry, dict):
        raise TypeError(f"a recorded page is a JSON object, not {type(entry).__name__}")
    request, response = entry["request"], entry["response"]
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise TypeError("request and response must be JSON objects")
    status = response["status"]
    if type(status) is not int or not 100 <= status <= 599:
        raise ValueError(f"status {status!r} is not an HTTP status")
    url, method = request["url"], request.get("method", "GET")
    if not isinstance(url, str) or not isinstance(method, str):
        raise TypeError("request url and method must be strings")
    if "body_text" in response:
        if not isinstance(response["body_text"], str):
            raise TypeError("body_text must be a string")
        body = _encoded(response["body_text"])
    else:
        body = _encoded(json.dumps(response["body"], ensure_ascii=False))
    headers = response.get("headers", {})
    if not isinstance(headers, dict):
        raise TypeError("headers must be a JSON object")
    return RecordedPage(
        ref=ref,
        fetched_at=to_naive_utc(datetime.fromisoformat(entry["fetched_at"])),
        method=method,
        url=url,
        status=status,
        headers={k.lower(): v for k, v in headers.items()},
        body=body,
        request_body=_request_body(request),
    )


def _read(raw: bytes, ref: PageRef) -> RecordedPage | BadLine | None:
    """One line: its page, a ``BadLine`` saying why it is none, or None when blank."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8", "replace")[:_MAX_TEXT]
        return BadLine(ref, f"line is not valid UTF-8: {exc}", text)
    if not line.strip():
        return None
    try:
        return _page(line, ref)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        return BadLine(ref, f"not a recorded page: {what}"[:1000], line[:_MAX_TEXT])
    except RecursionError:
        return BadLine(ref, "not a recorded page: JSON nested too deeply", line[:_MAX_TEXT])


def scan_pages(path: Path, display_path: str | None = None) -> Iterator[RecordedPage | BadLine]:
    """Each line of one file, in order: a ``RecordedPage``, or a ``BadLine`` for one that is
    none. A damaged line never costs the others. A gzip file cut short or corrupt yields
    what decompressed, then one ``BadLine`` for the rest. A UTF-8 byte order mark at the
    very start of a file is an encoding marker, and is skipped; anywhere else it is damage.
    """
    shown = display_path or str(path)
    line_no = 0
    with _open(path) as handle:
        try:
            for line_no, raw in enumerate(handle, start=1):
                if line_no == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
                found = _read(raw, PageRef(shown, line_no))
                if found is not None:
                    yield found
        except (EOFError, zlib.error, OSError) as exc:
            reason = f"file cut short or corrupt after line {line_no}, the rest is lost: {exc}"
            yield BadLine(PageRef(shown, line_no + 1), reason)


def read_pages(path: Path, display_path: str | None = None) -> Iterator[RecordedPage]:
    """Yield each recorded page of one file. ``body`` stays raw bytes for bulk validation.

    Strict: the first line that is no page raises ``PageFormatError`` (the raw archive's
    salvage keeps what precedes a cut). Extract uses ``scan_pages``, which rejects a bad
    line and goes on."""
    for found in scan_pages(path, display_path):
        if isinstance(found, BadLine):
            raise PageFormatError(f"{found.ref.path}:{found.ref.line}: {found.reason}")
        yield found
