"""An author-feed walk stops by the time that orders the feed: a repost's own time, not
its original post's (issue #21). Against a real server on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ingest.batch import MappedBatch
from ingest.bluesky.client import BlueskyClient
from ingest.bluesky.mapping import map_get_author_feed
from ingest.http import RawArchive
from ingest.pages import read_pages
from tests.helpers.feed_builder import iso
from tests.helpers.replay_server import ReplayServer, Reply

NOW = datetime(2026, 11, 20, 6)
SINCE = NOW - timedelta(days=7)
FEED = "/xrpc/app.bsky.feed.getAuthorFeed"
ALICE = ("did:plc:alice", "alice.bsky.social")


def _post(did: str, handle: str, rkey: str, at: datetime) -> dict:
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": "bafy",
        "author": {"did": did, "handle": handle},
        "record": {"text": "crumb shot", "createdAt": iso(at)},
        "likeCount": 5,
        "repostCount": 1,
        "replyCount": 0,
        "quoteCount": 0,
        "indexedAt": iso(at),
    }


def test_an_old_post_reposted_on_top_of_the_feed_does_not_end_the_walk(tmp_path: Path):
    """Alice reposts a post from 2024 an hour ago: the first item of her feed carries the
    old post, the repost's reason its own time. Her own posts of the last week follow,
    over two pages; the walk must read both."""
    old = _post("did:plc:carol", "carol.bsky.social", "old", NOW - timedelta(days=700))
    repost = {
        "post": old,
        "reason": {
            "$type": "app.bsky.feed.defs#reasonRepost",
            "by": {"did": ALICE[0], "handle": ALICE[1]},
            "uri": f"at://{ALICE[0]}/app.bsky.feed.repost/r1",
            "indexedAt": iso(NOW - timedelta(hours=1)),
        },
    }
    first = [repost, *({"post": _post(*ALICE, f"a{d}", NOW - timedelta(days=d))} for d in (1, 2))]
    second = [{"post": _post(*ALICE, f"a{d}", NOW - timedelta(days=d))} for d in (4, 6, 9)]
    with ReplayServer() as server:
        server.routes[FEED] = [
            Reply(body=json.dumps({"feed": first, "cursor": "p2"})),
            Reply(body=json.dumps({"feed": second})),
        ]
        archive = RawArchive(tmp_path / "feed.jsonl.gz")
        with BlueskyClient(server.url, archive) as client:
            pages = list(client.author_feed(ALICE[0], SINCE))
        archive.close()
        cursors = [parse_qs(urlsplit(s.path).query).get("cursor") for s in server.seen]

    assert cursors == [None, ["p2"]] and len(pages) == 2
    batch = MappedBatch("bluesky")
    for page in read_pages(archive.path):
        map_get_author_feed(page, batch)
    own = {p.post_id.rsplit("/", 1)[-1] for p in batch.posts if p.account_id == ALICE[0]}
    # her posts of the week (a1, a2, a4, a6), the one past it that ended the walk, the repost
    assert own == {"a1", "a2", "a4", "a6", "a9", "r1"}
