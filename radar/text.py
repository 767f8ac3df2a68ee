"""Text cleanup shared by every platform mapping."""

from __future__ import annotations

import unicodedata
from html.parser import HTMLParser

_BLOCK_TAGS = {"p", "div", "li", "blockquote", "pre"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def clean_text(value: str | None) -> str | None:
    """NFC-normalise and drop NUL bytes (DuckDB and Postgres reject them)."""
    if value is None:
        return None
    return unicodedata.normalize("NFC", value.replace("\x00", ""))


def html_to_text(html: str | None) -> str | None:
    """Mastodon HTML (``content``, ``note``) to plain text with entities unescaped."""
    if html is None:
        return None
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines = [line.strip() for line in text.split("\n")]
    collapsed = "\n".join(lines).strip()
    while "\n\n\n" in collapsed:
        collapsed = collapsed.replace("\n\n\n", "\n\n")
    return clean_text(collapsed)


def normalize_tag(tag: str) -> str:
    """Hashtags compare lowercase, NFC, without the leading ``#``."""
    return unicodedata.normalize("NFC", tag.lstrip("#").replace("\x00", "")).lower()
