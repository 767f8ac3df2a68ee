"""Bluesky pages → canonical rows: reposts, facets, post time, hidden counts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ingest.batch import MappedBatch
from ingest.bluesky.mapping import map_get_author_feed, map_get_posts, map_get_profiles
from ingest.pages import PageRef, RecordedPage

FETCHED = datetime(2026, 11, 20, 6)
FEED_URL = "https://public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed?actor=did:plc:alice"


def page(body, url=FEED_URL):
    return RecordedPage(
        PageRef("feed/b.jsonl", 1), FETCHED, "GET", url, 200, {}, json.dumps(body).encode()
    )


def post_view(
    did,
    rkey,
    text,
    *,
    facets=None,
    created="2026-11-18T10:00:00.000Z",
    indexed="2026-11-18T10:00:01.000Z",
    likes=10,
    **record_extra,
):
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": "bafy",
        "author": {"did": did, "handle": f"{did.split(':')[-1]}.bsky.social"},
        "record": {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": created,
            "langs": ["de"],
            "facets": facets or [],
            **record_extra,
        },
        "replyCount": 1,
        "repostCount": 2,
        "likeCount": likes,
        "quoteCount": 0,
        "indexedAt": indexed,
    }


def tag_facet(text: str, tag: str) -> dict:
    raw = text.encode("utf-8")
    start = raw.index(f"#{tag}".encode())
    end = start + len(f"#{tag}".encode())
    return {
        "index": {"byteStart": start, "byteEnd": end},
        "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
    }


def test_repost_item_belongs_to_the_original_author_and_adds_a_repost_event():
    original = post_view("did:plc:bob", "3aaa", "Brot!", likes=500)
    item = {
        "post": original,
        "reason": {
            "$type": "app.bsky.feed.defs#reasonRepost",
            "by": {"did": "did:plc:alice", "handle": "alice.bsky.social"},
            "uri": "at://did:plc:alice/app.bsky.feed.repost/3bbb",
            "indexedAt": "2026-11-19T09:00:00.000Z",
        },
    }
    batch = MappedBatch("bluesky")
    map_get_author_feed(page({"feed": [item]}), batch)
    post, repost = batch.posts
    assert (post.account_id, post.kind) == ("did:plc:bob", "original")
    assert (repost.account_id, repost.kind) == ("did:plc:alice", "repost")
    assert repost.original_post_id == post.post_id and repost.original_account_id == "did:plc:bob"
    assert [m.likes for m in batch.post_metric_snapshots] == [500]


def test_facet_tags_after_emoji_and_the_earlier_of_client_and_server_time():
    text = "🌱🍞 Frisches #Sauerteigbrot aus dem Ofen"
    view = post_view(
        "did:plc:alice",
        "3ccc",
        text,
        facets=[tag_facet(text, "Sauerteigbrot")],
        created="2025-01-01T00:00:00.000Z",
        indexed="2026-11-18T10:00:01.500Z",
        tags=["Brot"],
    )
    batch = MappedBatch("bluesky")
    map_get_author_feed(page({"feed": [{"post": view}]}), batch)
    (post,) = batch.posts
    assert post.hashtags == ["brot", "sauerteigbrot"]
    assert post.created_at == post.client_created_at == datetime(2025, 1, 1)
    assert post.language == "de" and post.text == text


INDEXED = datetime(2026, 11, 19, 8)


@pytest.mark.parametrize(
    ("created", "created_at"),
    [
        # an import of an old post, indexed today: it was made in 2023, not today
        ("2023-05-02T14:22:19.211Z", datetime(2023, 5, 2, 14, 22, 19, 211000)),
        # the usual second between the client and the AppView
        ("2026-11-19T07:59:59.000Z", datetime(2026, 11, 19, 7, 59, 59)),
        # a client clock ahead (here in another zone) cannot post-date it past indexing
        ("2026-11-19T10:00:00+01:00", INDEXED),
        ("2027-11-19T08:00:00.000Z", INDEXED),
        # a client's zero time is no moment: Go's, Unix's (also in a zone), none at all
        ("0001-01-01T00:00:00Z", INDEXED),
        ("1970-01-01T00:00:00.000Z", INDEXED),
        ("1969-12-31T19:00:00-05:00", INDEXED),
        (None, INDEXED),
        # past the zero times, an old createdAt is believed
        ("1999-12-31T23:59:59Z", datetime(1999, 12, 31, 23, 59, 59)),
    ],
)
def test_post_time_is_the_earlier_of_created_and_indexed(created, created_at):
    view = post_view("did:plc:alice", "3ttt", "Sauerteig", indexed="2026-11-19T08:00:00.000Z")
    if created is None:
        del view["record"]["createdAt"]
    else:
        view["record"]["createdAt"] = created
    said = None if created is None else datetime.fromisoformat(created).astimezone(UTC)
    posts_url = f"https://public.api.bsky.app/xrpc/app.bsky.feed.getPosts?uris={view['uri']}"
    # a feed page and a re-read of the post map it alike
    for mapper, body, url in [
        (map_get_author_feed, {"feed": [{"post": view}]}, FEED_URL),
        (map_get_posts, {"posts": [view]}, posts_url),
    ]:
        batch = MappedBatch("bluesky")
        mapper(page(body, url=url), batch)
        (post,) = batch.posts
        assert post.created_at == created_at
        # what the client said is kept as it said it
        assert post.client_created_at == (said and said.replace(tzinfo=None))


def test_reply_with_deleted_parent_is_a_reply():
    view = post_view(
        "did:plc:alice",
        "3ddd",
        "agreed",
        reply={"root": {"uri": "at://x/y/1"}, "parent": {"uri": "at://x/y/1"}},
    )
    item = {
        "post": view,
        "reply": {
            "root": {
                "$type": "app.bsky.feed.defs#notFoundPost",
                "uri": "at://x/y/1",
                "notFound": True,
            },
            "parent": {
                "$type": "app.bsky.feed.defs#notFoundPost",
                "uri": "at://x/y/1",
                "notFound": True,
            },
        },
    }
    batch = MappedBatch("bluesky")
    map_get_author_feed(page({"feed": [item]}), batch)
    assert batch.posts[0].kind == "reply"


def test_item_without_uri_is_rejected_and_the_rest_kept():
    good = post_view("did:plc:alice", "3eee", "fine")
    bad = post_view("did:plc:alice", "3fff", "broken")
    del bad["uri"]
    batch = MappedBatch("bluesky")
    map_get_author_feed(page({"feed": [{"post": good}, {"post": bad}], "cursor": "c1"}), batch)
    assert len(batch.posts) == 1
    (reject,) = batch.rejects
    assert reject.entity == "posts" and reject.record_index == 1 and "uri" in reject.reason


def test_missing_follower_count_is_hidden_not_zero():
    body = {
        "profiles": [
            {"did": "did:plc:zed", "handle": "zed.bsky.social"},
            {
                "did": "did:plc:amy",
                "handle": "amy.bsky.social",
                "followersCount": 12_000,
                "followsCount": 80,
                "postsCount": 900,
            },
        ]
    }
    batch = MappedBatch("bluesky")
    map_get_profiles(
        page(body, url="https://public.api.bsky.app/xrpc/app.bsky.actor.getProfiles"), batch
    )
    zed, amy = batch.account_snapshots
    assert (zed.followers, zed.follower_precision) == (None, "hidden")
    assert (amy.followers, amy.follower_precision) == (12_000, "exact")


def test_get_posts_refreshes_counts_and_marks_missing_uris_deleted():
    alive = post_view("did:plc:alice", "3kept", "still here", likes=77)
    broken = post_view("did:plc:alice", "3bad", "malformed")
    del broken["author"]
    url = (
        "https://public.api.bsky.app/xrpc/app.bsky.feed.getPosts?"
        "uris=at://did:plc:alice/app.bsky.feed.post/3kept&"
        "uris=at://did:plc:alice/app.bsky.feed.post/3gone&"
        "uris=at://did:plc:alice/app.bsky.feed.post/3bad"
    )
    batch = MappedBatch("bluesky")
    map_get_posts(page({"posts": [alive, broken]}, url=url), batch)
    assert [m.likes for m in batch.post_metric_snapshots] == [77]
    assert [d.post_id for d in batch.post_deletions] == [
        "at://did:plc:alice/app.bsky.feed.post/3gone"
    ]
    assert len(batch.rejects) == 1  # malformed is rejected, never taken for deleted


def test_get_posts_with_an_item_without_its_uri_marks_nothing_deleted():
    """The item that has no uri might be either requested post: neither is known gone."""
    alive = post_view("did:plc:alice", "3kept", "still here", likes=77)
    nameless = post_view("did:plc:alice", "3what", "which one?")
    del nameless["uri"]
    url = (
        "https://public.api.bsky.app/xrpc/app.bsky.feed.getPosts?"
        "uris=at://did:plc:alice/app.bsky.feed.post/3kept&"
        "uris=at://did:plc:alice/app.bsky.feed.post/3what"
    )
    batch = MappedBatch("bluesky")
    map_get_posts(page({"posts": [alive, nameless]}, url=url), batch)
    assert [m.likes for m in batch.post_metric_snapshots] == [77]
    assert batch.post_deletions == [] and len(batch.rejects) == 1
