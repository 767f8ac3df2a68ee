"""Builds small recorded feeds in the platforms' native shapes, for hand-computed tests."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def mastodon_account(
    user: str, instance: str, followers: int, *, local_id: str = "1", **extra: Any
) -> dict:
    return {
        "id": local_id,
        "username": user,
        "acct": user,
        "display_name": user.title(),
        "note": f"<p>{user} on {instance}</p>",
        "url": f"https://{instance}/@{user}",
        "bot": False,
        "created_at": "2022-11-05T00:00:00.000Z",
        "followers_count": followers,
        "following_count": 100,
        "statuses_count": 500,
        **extra,
    }


def mastodon_status(
    account: dict,
    instance: str,
    status_id: str,
    created: datetime,
    text: str,
    *,
    likes: int = 0,
    replies: int = 0,
    reblogs: int = 0,
    tags: list[str] | None = None,
    reblog: dict | None = None,
    in_reply_to_id: str | None = None,
) -> dict:
    user = account["username"]
    return {
        "id": status_id,
        "uri": f"https://{instance}/users/{user}/statuses/{status_id}",
        "url": f"https://{instance}/@{user}/{status_id}",
        "created_at": iso(created),
        "in_reply_to_id": in_reply_to_id,
        "language": "en",
        "content": f"<p>{text}</p>",
        "spoiler_text": "",
        "replies_count": replies,
        "reblogs_count": reblogs,
        "favourites_count": likes,
        "quotes_count": 0,
        "account": account,
        "reblog": reblog,
        "tags": [{"name": t} for t in tags or []],
        "mentions": [],
    }


def page_line(
    url: str,
    fetched_at: datetime,
    body: Any = None,
    body_text: str | None = None,
    status: int = 200,
) -> str:
    response: dict[str, Any] = {"status": status, "headers": {"content-type": "application/json"}}
    if body_text is not None:
        response["body_text"] = body_text
    else:
        response["body"] = body
    return json.dumps(
        {
            "fetched_at": iso(fetched_at),
            "request": {"method": "GET", "url": url},
            "response": response,
        },
        ensure_ascii=False,
    )


def write_pages(
    feed: Path, platform: str, endpoint: str, day: str, name: str, lines: list[str]
) -> Path:
    path = feed / platform / endpoint / f"dt={day}" / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
