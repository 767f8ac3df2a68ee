"""Synthetic accounts and posts in the platforms' native response shapes.

Field sets follow real responses closely (media, emojis, card, avatar URLs) so that file
sizes and parse costs are realistic, not just the fields the radar reads.
"""

from __future__ import annotations

import html
from datetime import datetime

from synthetic.world import SynthAccount, SynthPost, did_of

_EPOCH = datetime(1970, 1, 1)
_B32 = "234567abcdefghijklmnopqrstuvwxyz"  # atproto's sortable base32


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def snowflake(ts: datetime, seq: int) -> str:
    """Mastodon ids: milliseconds since the epoch, shifted, plus a sequence."""
    millis = int((ts - _EPOCH).total_seconds() * 1000)
    return str((millis << 16) | (seq & 0xFFFF))


def tid(ts: datetime, seq: int) -> str:
    """A Bluesky record key: 13 sortable base32 chars from microseconds and a clock id."""
    value = (int((ts - _EPOCH).total_seconds() * 1_000_000) << 10) | (seq & 0x3FF)
    return "".join(_B32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


# --- Mastodon -------------------------------------------------------------------------


def mastodon_account(account: SynthAccount, on: datetime, seen_from: str | None = None) -> dict:
    """The account as the instance ``seen_from`` (its own by default) serves it: Mastodon
    writes ``acct`` without a domain only for the serving instance's own accounts, and as
    ``user@domain`` for every remote one (a boosted author of another instance)."""
    user, instance = account.user, account.instance
    media = f"https://files.{instance}/accounts/avatars/{account.index:09d}"
    followers = -1 if account.hidden_followers else int(account.followers)
    local = seen_from is None or seen_from == instance
    return {
        "id": str(100_000_000_000 + account.index),
        "username": user,
        "acct": user if local else f"{user}@{instance}",
        "display_name": user.split("_")[0].title() + " " + str(account.index),
        "locked": False,
        "bot": False,
        "discoverable": True,
        "group": False,
        "created_at": "2022-11-05T00:00:00.000Z",
        "note": f"<p>{html.escape(_bio(account))}</p>",
        "url": f"https://{instance}/@{user}",
        "uri": f"https://{instance}/users/{user}",
        "avatar": f"{media}/original/avatar.png",
        "avatar_static": f"{media}/original/avatar.png",
        "header": f"{media}/original/header.jpeg",
        "header_static": f"{media}/original/header.jpeg",
        "followers_count": followers,
        "following_count": account.following,
        "statuses_count": account.statuses,
        "last_status_at": on.date().isoformat(),
        "hide_collections": account.hidden_followers,
        "emojis": [],
        "fields": [],
    }


def _bio(account: SynthAccount) -> str:
    if account.bio is not None:
        return account.bio
    if account.niche is None:
        return "Posting about whatever."
    return f"Into {account.niche.keywords[0]} & more. Opinions my own."


def mastodon_content(post: SynthPost, instance: str) -> str:
    links = " ".join(
        f'<a href="https://{instance}/tags/{tag.lower()}" class="mention hashtag" rel="tag">'
        f"#<span>{tag}</span></a>"
        for tag in post.hashtags
    )
    return f"<p>{html.escape(post.text)}</p><p>{links}</p>"


def mastodon_status(post: SynthPost, account_json: dict) -> dict:
    author = post.author
    status_id = snowflake(post.created_at, post.post_no)
    base = f"https://{author.instance}"
    return {
        "id": status_id,
        "created_at": iso(post.created_at),
        "in_reply_to_id": snowflake(post.created_at, post.post_no + 1) if post.is_reply else None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": post.language,
        "uri": f"{base}/users/{author.user}/statuses/{status_id}",
        "url": f"{base}/@{author.user}/{status_id}",
        "replies_count": post.comments,
        "reblogs_count": post.shares,
        "favourites_count": post.likes,
        "quotes_count": post.quotes,
        "edited_at": None,
        "content": mastodon_content(post, author.instance),
        "reblog": None,
        "application": {"name": "Web", "website": None},
        "account": account_json,
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": tag, "url": f"{base}/tags/{tag.lower()}"} for tag in post.hashtags],
        "emojis": [],
        "card": None,
        "poll": None,
    }


def mastodon_boost(
    booster: SynthAccount, booster_json: dict, boosted: dict, at: datetime, seq: int
) -> dict:
    status_id = snowflake(at, seq)
    base = f"https://{booster.instance}"
    return {
        "id": status_id,
        "created_at": iso(at),
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": None,
        "uri": f"{base}/users/{booster.user}/statuses/{status_id}/activity",
        "url": None,
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "content": "",
        "reblog": boosted,
        "account": booster_json,
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }


# --- Bluesky --------------------------------------------------------------------------


def bluesky_author(account: SynthAccount) -> dict:
    did = did_of(account)
    return {
        "did": did,
        "handle": account.handle,
        "displayName": account.user.split("_")[0].title() + " " + str(account.index),
        "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkrei{account.index:08d}@jpeg",
        "labels": [],
        "createdAt": "2023-05-02T14:22:19.211Z",
    }


def bluesky_profile(account: SynthAccount) -> dict:
    return {
        **bluesky_author(account),
        "description": _bio(account),
        "followersCount": int(account.followers),
        "followsCount": account.following,
        "postsCount": account.statuses,
        "indexedAt": "2024-01-01T00:00:00.000Z",
    }


def bluesky_uri(post: SynthPost) -> str:
    return f"at://{did_of(post.author)}/app.bsky.feed.post/{tid(post.created_at, post.post_no)}"


def bluesky_post_view(post: SynthPost) -> dict:
    text = post.text
    facets = []
    for tag in post.hashtags:
        start = len(text.encode("utf-8")) + 1  # facets index UTF-8 bytes, not characters
        text = f"{text} #{tag}"
        facets.append(
            {
                "index": {"byteStart": start, "byteEnd": len(text.encode("utf-8"))},
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
            }
        )
    record = {
        "$type": "app.bsky.feed.post",
        "createdAt": iso(post.created_at),
        "langs": [post.language],
        "text": text,
        "facets": facets,
    }
    if post.is_reply:
        parent = {"cid": "bafyreiparent", "uri": f"{bluesky_uri(post)}-parent"}
        record["reply"] = {"parent": parent, "root": parent}
    return {
        "uri": bluesky_uri(post),
        "cid": f"bafyrei{post.post_no:016d}",
        "author": bluesky_author(post.author),
        "record": record,
        "bookmarkCount": post.likes // 20,
        "replyCount": post.comments,
        "repostCount": post.shares,
        "likeCount": post.likes,
        "quoteCount": post.quotes,
        "indexedAt": iso(post.created_at),
        "labels": [],
    }


def bluesky_repost_item(reposter: SynthAccount, original: dict, at: datetime, seq: int) -> dict:
    did = did_of(reposter)
    return {
        "post": original,
        "reason": {
            "$type": "app.bsky.feed.defs#reasonRepost",
            "by": {"did": did, "handle": reposter.handle},
            "uri": f"at://{did}/app.bsky.feed.repost/{tid(at, seq)}",
            "indexedAt": iso(at),
        },
    }
