"""Accumulates canonical rows and rejects while pages are mapped."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ingest.canonical import (
    Account,
    AccountDiscovery,
    AccountSnapshot,
    Platform,
    Post,
    PostDeletion,
    PostMetricSnapshot,
    Reject,
)
from ingest.pages import RecordedPage

PageT = TypeVar("PageT", bound=BaseModel)

_MAX_RECORD_CHARS = 4000


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
    account_discoveries: list[AccountDiscovery] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    pages: int = 0

    def reject(self, page: RecordedPage, entity: str, index: int, reason: str, record: Any) -> None:
        if record is not None and not isinstance(record, str):
            record = json.dumps(record, ensure_ascii=False, default=str)
        self.rejects.append(
            Reject(
                platform=self.platform,
                entity=entity,
                source_path=page.ref.path,
                source_line=page.ref.line,
                record_index=index,
                reason=reason,
                record=record[:_MAX_RECORD_CHARS] if record else None,
                observed_at=page.fetched_at,
            )
        )

    def rows(self) -> dict[str, list[BaseModel]]:
        return {
            "accounts": self.accounts,
            "account_snapshots": self.account_snapshots,
            "posts": self.posts,
            "post_metric_snapshots": self.post_metric_snapshots,
            "post_deletions": self.post_deletions,
            "account_discoveries": self.account_discoveries,
            "rejects": self.rejects,
        }


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
        try:
            raw = json.loads(page.body)
        except ValueError as exc:
            batch.reject(page, "page", -1, f"body is not valid JSON: {exc}", page.body.decode())
            return None
        items = raw if items_key is None else raw.get(items_key) if isinstance(raw, dict) else None
        if not isinstance(items, list):
            batch.reject(page, entity, -1, describe_error(first_error), raw)
            return None
        good = []
        for index, item in enumerate(items):
            try:
                item_model.model_validate(item)
            except ValidationError as exc:
                batch.reject(page, entity, index, describe_error(exc), item)
            else:
                good.append(item)
        try:
            return page_model.model_validate(
                good if items_key is None else {**raw, items_key: good}
            )
        except ValidationError as exc:
            batch.reject(page, "page", -1, describe_error(exc), raw)
            return None
