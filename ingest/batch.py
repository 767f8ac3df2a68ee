"""Accumulates canonical rows and rejects while pages are mapped."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ingest.pages import PageRef, RecordedPage
from radar.canonical import (
    Account,
    AccountDiscovery,
    AccountSnapshot,
    Platform,
    Post,
    PostDeletion,
    PostDisclosure,
    PostMetricSnapshot,
    Reject,
    has_lone_surrogate,
)

log = logging.getLogger(__name__)

PageT = TypeVar("PageT", bound=BaseModel)

_MAX_RECORD_CHARS = 4000


def _text(value: str) -> str:
    """Text a reject row can hold: lone surrogates written as ``\\udXXX`` escapes."""
    if has_lone_surrogate(value):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value.replace("\x00", "\\x00") if "\x00" in value else value


def _record_text(record: Any) -> str | None:
    if record is None:
        return None
    if isinstance(record, bytes):
        record = record.decode("utf-8", "replace")
    elif not isinstance(record, str):
        try:
            record = json.dumps(record, ensure_ascii=False, default=str)
        except (ValueError, RecursionError):  # nested past what json can write
            record = repr(record)[:_MAX_RECORD_CHARS]
    return _text(record[:_MAX_RECORD_CHARS]) or None


def item_problem(item: Any) -> str | None:
    """What makes a raw JSON item unusable although its model might accept it: a string
    with a lone surrogate (``"\\ud83c"`` without its pair). Walked without recursion, so
    deep nesting cannot raise here."""
    stack = [item]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if has_lone_surrogate(value):
                return "a string holds a lone surrogate escape (not valid Unicode)"
        elif isinstance(value, dict):
            for key, inner in value.items():
                stack.append(key)
                stack.append(inner)
        elif isinstance(value, list):
            stack.extend(value)
    return None


def describe_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "record"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


@dataclass
class MappedBatch:
    platform: Platform
    accounts: list[Account] = field(default_factory=list)
    account_snapshots: list[AccountSnapshot] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    post_metric_snapshots: list[PostMetricSnapshot] = field(default_factory=list)
    post_deletions: list[PostDeletion] = field(default_factory=list)
    post_disclosures: list[PostDisclosure] = field(default_factory=list)
    account_discoveries: list[AccountDiscovery] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    pages: int = 0

    def reject(self, page: RecordedPage, entity: str, index: int, reason: str, record: Any) -> None:
        self.reject_at(page.ref, page.fetched_at, entity, index, reason, record)

    def reject_at(
        self,
        ref: PageRef,
        observed_at: datetime,
        entity: str,
        index: int,
        reason: str,
        record: Any,
    ) -> None:
        """A reject pointing at ``ref``; also for a line that is no page at all."""
        self.rejects.append(
            Reject(
                platform=self.platform,
                entity=entity,
                source_path=_text(ref.path),
                source_line=ref.line,
                record_index=index,
                reason=_text(reason),
                record=_record_text(record),
                observed_at=observed_at,
            )
        )

    def _sizes(self) -> dict[str, int]:
        return {entity: len(rows) for entity, rows in self.rows().items()}

    def _truncate(self, sizes: dict[str, int]) -> None:
        for entity, rows in self.rows().items():
            del rows[sizes[entity] :]

    def rows(self) -> dict[str, list[BaseModel]]:
        return {
            "accounts": self.accounts,
            "account_snapshots": self.account_snapshots,
            "posts": self.posts,
            "post_metric_snapshots": self.post_metric_snapshots,
            "post_deletions": self.post_deletions,
            "post_disclosures": self.post_disclosures,
            "account_discoveries": self.account_discoveries,
            "rejects": self.rejects,
        }


Mapper = Callable[[RecordedPage, "MappedBatch"], None]


def guarded(mapper: Mapper) -> Mapper:
    """``mapper``, made unable to fail its batch: whatever it raises on a page (a value no
    validation foresaw), the rows it added for that page are taken back and the page
    becomes one reject naming the error. The rest of the batch still lands."""

    @functools.wraps(mapper)
    def guarded_mapper(page: RecordedPage, batch: MappedBatch) -> None:
        sizes = batch._sizes()
        try:
            mapper(page, batch)
        except Exception as exc:  # noqa: BLE001 - any error of one page is that page's reject
            batch._truncate(sizes)
            reason = f"mapping failed: {type(exc).__name__}: {str(exc)[:500]}"
            log.warning("%s:%s %s", page.ref.path, page.ref.line, reason)
            batch.reject(page, "page", -1, reason, page.body)

    return guarded_mapper


def guard_all(mappers: dict[str, Mapper]) -> dict[str, Mapper]:
    return {endpoint: guarded(mapper) for endpoint, mapper in mappers.items()}


def validate_page(
    page: RecordedPage,
    page_model: type[PageT],
    item_model: type[BaseModel],
    items_key: str | None,
    entity: str,
    batch: MappedBatch,
) -> PageT | None:
    """Validate a whole page in one call; on failure, reject only the bad items.

    The fast path is one ``model_validate_json`` per page. When it fails, the page is
    parsed once more and each item validated on its own so one bad record does not
    cost the good ones. Returns None when nothing of the page is usable.
    """
    if page.status >= 400:
        batch.reject(page, "page", -1, f"HTTP {page.status}", page.body.decode("utf-8", "replace"))
        return None
    try:
        return page_model.model_validate_json(page.body)
    except ValidationError as first_error:
        raw = parse_body(page, batch)
        if raw is NOT_JSON:
            return None
        items = raw if items_key is None else raw.get(items_key) if isinstance(raw, dict) else None
        if not isinstance(items, list):
            if items_key is None and (problem := item_problem(raw)):
                batch.reject(page, entity, -1, problem, raw)
            else:
                batch.reject(page, entity, -1, describe_error(first_error), raw)
            return None
        good = valid_items(page, batch, items, item_model, entity)
        try:
            return page_model.model_validate(
                good if items_key is None else {**raw, items_key: good}
            )
        except ValidationError as exc:
            batch.reject(page, "page", -1, describe_error(exc), raw)
            return None


NOT_JSON = object()


def parse_body(page: RecordedPage, batch: MappedBatch) -> Any:
    """The page's JSON body parsed in Python, after the one-call validation failed; or
    ``NOT_JSON`` (and a page reject) when it is no JSON (invalid UTF-8, nested past what
    Python parses)."""
    try:
        return json.loads(page.body)
    except (ValueError, RecursionError) as exc:
        batch.reject(page, "page", -1, f"body is not valid JSON: {exc}", page.body)
        return NOT_JSON


def valid_items(
    page: RecordedPage,
    batch: MappedBatch,
    items: list,
    item_model: type[BaseModel],
    entity: str,
) -> list:
    """The items that validate; each other one becomes a reject at its index."""
    good = []
    for index, item in enumerate(items):
        problem = item_problem(item)
        if problem is not None:
            batch.reject(page, entity, index, problem, item)
            continue
        try:
            item_model.model_validate(item)
        except ValidationError as exc:
            batch.reject(page, entity, index, describe_error(exc), item)
        except RecursionError:
            batch.reject(page, entity, index, "record nested too deeply to validate", None)
        else:
            good.append(item)
    return good
