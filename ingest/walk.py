"""Walks over a platform's pages, shared by every platform's live fetching."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any

from ingest.pages import RecordedPage


def as_pages(fetch_one: Callable[..., RecordedPage]) -> Callable[..., list[RecordedPage]]:
    return lambda *args: [fetch_one(*args)]


def walk(
    endpoint: str, fetch: Callable[..., Iterable[RecordedPage]], *args: object
) -> Generator[tuple[str, RecordedPage], None, RecordedPage | None]:
    """Yield each page fetched; a definitive 4xx ends the walk as its archived page, which
    the mapping turns into a reject. Returns the last good page, or None after an error."""
    from ingest.http import PlatformHTTPError  # here: a fixture extract never imports httpx

    last = None
    try:
        for last in fetch(*args):
            yield endpoint, last
    except PlatformHTTPError as exc:
        yield endpoint, exc.page
        return None
    return last


def noting(
    walked: Generator[tuple[str, RecordedPage], None, RecordedPage | None],
    ids_of: Callable[[Any], Iterable[str]],
    seen: set[str],
) -> Generator[tuple[str, RecordedPage], None, RecordedPage | None]:
    """``walked`` page by page, adding to ``seen`` the post ids ``ids_of`` finds in each
    answered page's body (a post a walk shows still exists); returns what ``walked`` does."""
    while True:
        try:
            endpoint, page = next(walked)
        except StopIteration as done:
            return done.value
        if page.status < 400:
            try:
                seen.update(ids_of(page.json()))
            except ValueError:
                pass  # the mapping rejects the page
        yield endpoint, page
