"""Recorded HTTP pages: the one format shared by the raw archive and fixture feeds.

One JSON object per line (``.jsonl`` or ``.jsonl.gz``)::

    {"fetched_at": "...", "request": {"method": "GET", "url": "...", "body": <json>?},
     "response": {"status": 200, "headers": {...}, "body": <json> | "body_text": "<raw>"}}
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ingest.canonical import to_naive_utc


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


def _open(path: Path):
    # by content, not name: an archive in progress is named ``.<name>.jsonl.gz.tmp``
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def read_pages(path: Path, display_path: str | None = None) -> Iterator[RecordedPage]:
    """Yield each recorded page of one file. ``body`` stays raw bytes for bulk validation."""
    shown = display_path or str(path)
    with _open(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                response = entry["response"]
                if "body_text" in response:
                    body = response["body_text"].encode("utf-8")
                else:
                    body = json.dumps(response["body"], ensure_ascii=False).encode("utf-8")
                yield RecordedPage(
                    ref=PageRef(shown, line_no),
                    fetched_at=to_naive_utc(datetime.fromisoformat(entry["fetched_at"])),
                    method=entry["request"].get("method", "GET"),
                    url=entry["request"]["url"],
                    status=int(response["status"]),
                    headers={k.lower(): v for k, v in response.get("headers", {}).items()},
                    body=body,
                    request_body=_request_body(entry["request"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise PageFormatError(f"{shown}:{line_no}: not a recorded page: {exc}") from exc
