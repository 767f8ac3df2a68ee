"""Mastodon pages → canonical rows, rejects for what does not validate."""

from __future__ import annotations

import json
from datetime import datetime

from ingest.batch import MappedBatch
from ingest.mastodon.mapping import map_account_statuses, map_accounts_lookup
from ingest.pages import PageRef, RecordedPage
from radar.text import html_to_text
from tests.helpers.feed_builder import iso, mastodon_account, mastodon_status

FETCHED = datetime(2026, 11, 20, 6)
INSTANCE = "bakers.social"


def page(body, url=f"https://{INSTANCE}/api/v1/accounts/1/statuses", status=200, raw=None):
    data = raw.encode() if raw is not None else json.dumps(body).encode()
    return RecordedPage(PageRef("feed/x.jsonl", 3), FETCHED, "GET", url, status, {}, data)


def test_html_content_becomes_plain_text_with_entities_unescaped():
    html = (
        '<p>Crumb &amp; crust &lt;3 <a href="https://bakers.social/tags/sourdough" '
        'class="mention hashtag" rel="tag">#<span>Sourdough</span></a></p>'
        '<p>Line one<br />it&#39;s <span class="h-card"><a href="https://x.y/@bob" '
        'class="u-url mention">@<span>bob</span></a></span></p>'
    )
    assert html_to_text(html) == "Crumb & crust <3 #Sourdough\n\nLine one\nit's @bob"


def test_hidden_follower_count_is_null_not_zero():
    batch = MappedBatch("mastodon")
    hidden = mastodon_account("anna", INSTANCE, -1)
    map_accounts_lookup(page(hidden, url=f"https://{INSTANCE}/api/v1/accounts/lookup"), batch)
    (snapshot,) = batch.account_snapshots
    assert snapshot.followers is None and snapshot.follower_precision == "hidden"
    assert batch.accounts[0].account_id == f"anna@{INSTANCE}"


def test_boost_is_a_repost_event_and_the_original_keeps_its_author_and_counts():
    alice = mastodon_account("alice", INSTANCE, 20_000)
    carol = mastodon_account("carol", "other.example", 50_000, local_id="9")
    carol["acct"] = "carol@other.example"
    original = mastodon_status(
        carol, "other.example", "77", datetime(2026, 11, 18), "hi", likes=900, reblogs=40
    )
    boost = mastodon_status(alice, INSTANCE, "88", datetime(2026, 11, 19), "", reblog=original)
    batch = MappedBatch("mastodon")
    map_account_statuses(page([boost]), batch)
    repost, post = batch.posts
    assert (repost.kind, repost.account_id) == ("repost", f"alice@{INSTANCE}")
    assert repost.original_post_id == post.post_id == original["uri"]
    assert repost.original_account_id == post.account_id == "carol@other.example"
    (metrics,) = batch.post_metric_snapshots
    assert (metrics.post_id, metrics.likes, metrics.shares) == (original["uri"], 900, 40)


def test_a_malformed_status_is_rejected_and_the_rest_of_the_page_kept():
    alice = mastodon_account("alice", INSTANCE, 20_000)
    good = mastodon_status(alice, INSTANCE, "1", datetime(2026, 11, 18), "ok")
    bad = mastodon_status(alice, INSTANCE, "2", datetime(2026, 11, 18), "bad")
    bad["created_at"] = "not-a-date"
    batch = MappedBatch("mastodon")
    map_account_statuses(page([good, bad]), batch)
    assert [p.post_id for p in batch.posts] == [good["uri"]]
    (reject,) = batch.rejects
    assert (reject.entity, reject.source_path, reject.source_line, reject.record_index) == (
        "posts",
        "feed/x.jsonl",
        3,
        1,
    )
    assert "created_at" in reject.reason and '"not-a-date"' in reject.record


def test_a_truncated_page_is_one_reject_with_its_text():
    batch = MappedBatch("mastodon")
    map_account_statuses(page(None, raw='[{"id": "1", "uri": "https://bak'), batch)
    (reject,) = batch.rejects
    assert reject.entity == "page" and reject.reason.startswith("body is not valid JSON")
    assert not batch.posts


def test_non_ascii_hashtags_are_lowercased_and_nfc():
    alice = mastodon_account("alice", INSTANCE, 20_000)
    status = mastodon_status(
        alice,
        INSTANCE,
        "5",
        datetime(2026, 11, 18),
        "Vegane Küche",
        tags=["Ku\u0308che", "VeganeKÜCHE"],
    )
    batch = MappedBatch("mastodon")
    map_account_statuses(page([status]), batch)
    assert batch.posts[0].hashtags == ["küche", "veganeküche"]
    assert batch.posts[0].created_at == datetime(2026, 11, 18)
    assert iso(batch.posts[0].observed_at) == "2026-11-20T06:00:00.000Z"


def test_a_boosted_remote_author_without_a_domain_keeps_its_own_instance():
    """Issue 15, finding 8: a remote author whose ``acct`` lacks its domain was keyed on the
    instance serving the page (the booster's), and the newest-wins merge moved the post to
    that phantom account. Its own ``url`` names its home."""
    alice = mastodon_account("alice", INSTANCE, 20_000)
    carol = mastodon_account("carol", "other.example", 50_000, local_id="9")  # acct "carol"
    original = mastodon_status(carol, "other.example", "77", datetime(2026, 11, 18), "hi")
    boost = mastodon_status(alice, INSTANCE, "88", datetime(2026, 11, 19), "", reblog=original)
    batch = MappedBatch("mastodon")
    map_account_statuses(page([boost]), batch)
    repost, post = batch.posts
    assert repost.account_id == f"alice@{INSTANCE}"
    assert post.account_id == repost.original_account_id == "carol@other.example"


def test_counts_mastodon_hides_are_unknown_and_other_negative_counts_are_rejects():
    hidden = mastodon_account("anna", INSTANCE, -1, following_count=-1)
    batch = MappedBatch("mastodon")
    map_accounts_lookup(page(hidden, url=f"https://{INSTANCE}/api/v1/accounts/lookup"), batch)
    (snapshot,) = batch.account_snapshots
    assert (snapshot.followers, snapshot.following) == (None, None) and not batch.rejects
    alice = mastodon_account("alice", INSTANCE, 20_000)
    bad = mastodon_status(alice, INSTANCE, "2", datetime(2026, 11, 18), "x", likes=-4)
    batch = MappedBatch("mastodon")
    map_account_statuses(page([bad]), batch)
    (reject,) = batch.rejects
    assert "negative count favourites_count" in reject.reason and not batch.posts
