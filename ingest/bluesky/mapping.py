"""Bluesky responses to canonical rows. Accounts key on the DID, posts on the at:// URI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from ingest.batch import MappedBatch, validate_page
from ingest.bluesky import models
from ingest.pages import RecordedPage
from radar.canonical import (
    PROFILE_TERM,
    Account,
    AccountDiscovery,
    AccountSnapshot,
    AccountStatus,
    FollowerPrecision,
    Post,
    PostDeletion,
    PostKind,
    PostMetricSnapshot,
)
from radar.text import clean_text, normalize_tag

PLATFORM = "bluesky"
REASON_REPOST = "app.bsky.feed.defs#reasonRepost"
_QUOTE_EMBEDS = ("app.bsky.embed.record#view", "app.bsky.embed.recordWithMedia#view")
# a createdAt before this is a client's zero time, no moment: Go's zero time is year 1,
# Unix's and JavaScript's 1970-01-01 (shifted by at most a day's offset), and the AppView
# itself puts 1970-01-01 for a createdAt it cannot read
_CLIENT_ZERO_TIMES_END = datetime(1970, 1, 2)


def profile_url(handle: str) -> str:
    return f"https://bsky.app/profile/{handle}"


def post_url(post: models.PostView) -> str:
    return f"{profile_url(post.author.handle)}/post/{post.uri.rsplit('/', 1)[-1]}"


def map_profile(profile: models.Profile, page: RecordedPage, batch: MappedBatch) -> None:
    labels = {label.get("val") for label in profile.labels}
    status = AccountStatus.suspended if "!takedown" in labels else AccountStatus.active
    batch.accounts.append(
        Account(
            platform=PLATFORM,
            account_id=profile.did,
            handle=profile.handle,
            display_name=clean_text(profile.displayName) or None,
            bio=clean_text(profile.description) or None,
            url=profile_url(profile.handle),
            home_instance=None,
            is_bot=None,
            status=status,
            created_at=profile.createdAt,
            discovered_via="tracked",
            observed_at=page.fetched_at,
        )
    )
    batch.account_snapshots.append(
        AccountSnapshot(
            platform=PLATFORM,
            account_id=profile.did,
            observed_at=page.fetched_at,
            followers=profile.followersCount,
            following=profile.followsCount,
            posts_count=profile.postsCount,
            follower_precision=FollowerPrecision.of(profile.followersCount),
        )
    )


def _post_time(created_at: datetime | None, indexed_at: datetime) -> datetime:
    """When a post can be trusted to have been made (its ``created_at``, which the windows
    read): the earlier of the client's ``record.createdAt`` and the AppView's
    ``indexedAt``, the time the AppView sorts feeds by. A client clock cannot place a post
    after it was indexed, and an import of old posts (written years ago, indexed today)
    must not look fresh. A missing createdAt, or a client's zero time, names no moment:
    then ``indexedAt``."""
    if created_at is None or created_at < _CLIENT_ZERO_TIMES_END:
        return indexed_at
    return min(created_at, indexed_at)


def _quoted_uri(embed: dict | None) -> str | None:
    if not embed or embed.get("$type") not in _QUOTE_EMBEDS:
        return None
    record = embed.get("record")
    if embed["$type"].startswith("app.bsky.embed.recordWithMedia"):
        record = record.get("record") if isinstance(record, dict) else None
    uri = record.get("uri") if isinstance(record, dict) else None
    # a uri that is no string names no post: the post is then no quote
    return uri if isinstance(uri, str) and uri else None


def _post_row(post: models.PostView, page: RecordedPage) -> Post:
    record = post.record
    tags = {f.tag for facet in record.facets or [] for f in facet.features if f.tag}
    tags.update(record.tags or [])
    mentions = {f.did for facet in record.facets or [] for f in facet.features if f.did}
    kind, original = PostKind.original, None
    if record.reply is not None:
        kind = PostKind.reply
    elif (quoted := _quoted_uri(post.embed)) is not None:
        kind, original = PostKind.quote, quoted
    return Post(
        platform=PLATFORM,
        post_id=post.uri,
        account_id=post.author.did,
        created_at=_post_time(record.createdAt, post.indexedAt),
        client_created_at=record.createdAt,
        text=clean_text(record.text),
        language=(record.langs or [None])[0],
        hashtags=sorted({normalize_tag(t) for t in tags}),
        mentions=sorted(mentions),
        url=post_url(post),
        kind=kind,
        original_post_id=original,
        observed_at=page.fetched_at,
    )


def _metrics_row(post: models.PostView, page: RecordedPage) -> PostMetricSnapshot:
    return PostMetricSnapshot(
        platform=PLATFORM,
        post_id=post.uri,
        observed_at=page.fetched_at,
        likes=post.likeCount,
        comments=post.replyCount,
        shares=post.repostCount,
        quotes=post.quoteCount,
        views=None,
    )


def _feed_actor(page: RecordedPage) -> str | None:
    return (parse_qs(urlsplit(page.url).query).get("actor") or [None])[0]


def map_feed_item(item: models.FeedItem, page: RecordedPage, batch: MappedBatch) -> None:
    batch.posts.append(_post_row(item.post, page))
    batch.post_metric_snapshots.append(_metrics_row(item.post, page))
    if item.reason is None or item.reason.type != REASON_REPOST:
        return
    # the item is the original author's post; the repost itself is the reposter's event
    reposter = item.reason.by.did if item.reason.by else _feed_actor(page)
    if reposter is None:
        return
    batch.posts.append(
        Post(
            platform=PLATFORM,
            post_id=item.reason.uri or f"at://{reposter}/app.bsky.feed.repost?of={item.post.uri}",
            account_id=reposter,
            created_at=item.reason.indexedAt or page.fetched_at,
            kind=PostKind.repost,
            original_post_id=item.post.uri,
            original_account_id=item.post.author.did,
            observed_at=page.fetched_at,
        )
    )


def map_get_profiles(page: RecordedPage, batch: MappedBatch) -> None:
    result = validate_page(page, models.ProfilesPage, models.Profile, "profiles", "accounts", batch)
    for profile in result.profiles if result else []:
        map_profile(profile, page, batch)


def map_get_author_feed(page: RecordedPage, batch: MappedBatch) -> None:
    result = validate_page(page, models.AuthorFeedPage, models.FeedItem, "feed", "posts", batch)
    for item in result.feed if result else []:
        map_feed_item(item, page, batch)


def map_get_posts(page: RecordedPage, batch: MappedBatch) -> None:
    """A re-read of known posts: fresh counts, and every requested uri missing is deleted."""
    result = validate_page(page, models.PostsPage, models.PostView, "posts", "posts", batch)
    if result is None:
        return
    for post in result.posts:
        batch.posts.append(_post_row(post, page))
        batch.post_metric_snapshots.append(_metrics_row(post, page))
    # a malformed item is rejected, not deleted: look at every uri the body holds, and
    # when an item has none it might be any requested post, so none is known deleted
    items = page.json().get("posts", [])
    returned = {p.get("uri") if isinstance(p, dict) else None for p in items}
    if not all(isinstance(uri, str) for uri in returned):
        return
    for uri in parse_qs(urlsplit(page.url).query).get("uris", []):
        if uri not in returned:
            batch.post_deletions.append(
                PostDeletion(platform=PLATFORM, post_id=uri, observed_at=page.fetched_at)
            )


def _query(page: RecordedPage) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def _sighting(did: str, handle: str, term: str, followers: int | None, page: RecordedPage):
    return AccountDiscovery(
        platform=PLATFORM,
        account_id=did,
        term=term,
        handle=handle,
        followers=followers,
        observed_at=page.fetched_at,
    )


def map_search_actors(page: RecordedPage, batch: MappedBatch) -> None:
    """Accounts whose name, handle or bio match a niche keyword: one sighting each."""
    found = validate_page(
        page, models.SearchActorsPage, models.ActorView, "actors", "accounts", batch
    )
    term = normalize_tag(_query(page).get("q", ""))
    seen = set()
    for actor in found.actors if found else []:
        if actor.did not in seen:
            seen.add(actor.did)
            batch.account_discoveries.append(_sighting(actor.did, actor.handle, term, None, page))


def map_search_posts(page: RecordedPage, batch: MappedBatch) -> None:
    """Authors of posts under a niche's tag (``#tag``) or keyword. A repost in the results
    is the original author's post, so the sighting is the author's."""
    found = validate_page(page, models.SearchPostsPage, models.PostView, "posts", "posts", batch)
    query = _query(page)
    term = f"#{normalize_tag(query['tag'])}" if query.get("tag") else normalize_tag(query["q"])
    seen = set()
    for post in found.posts if found else []:
        if post.author.did not in seen:
            seen.add(post.author.did)
            batch.account_discoveries.append(
                _sighting(post.author.did, post.author.handle, term, None, page)
            )


def map_discovery_profiles(page: RecordedPage, batch: MappedBatch) -> None:
    """Profiles of sighted accounts: their follower counts, as sightings under
    ``PROFILE_TERM``, which no niche watches; the queue takes an account's followers from
    its latest sighting that has them. Nothing goes to core.accounts: the account is not
    tracked until the queue says so."""
    result = validate_page(page, models.ProfilesPage, models.Profile, "profiles", "accounts", batch)
    for profile in result.profiles if result else []:
        batch.account_discoveries.append(
            _sighting(profile.did, profile.handle, PROFILE_TERM, profile.followersCount, page)
        )


MAPPERS: dict[str, Callable[[RecordedPage, MappedBatch], None]] = {
    "get_profiles": map_get_profiles,
    "get_author_feed": map_get_author_feed,
    "get_posts": map_get_posts,
}
# endpoints niche_discovery reads; social_ingest never plans them
DISCOVERY_MAPPERS: dict[str, Callable[[RecordedPage, MappedBatch], None]] = {
    "search_actors": map_search_actors,
    "search_posts": map_search_posts,
    "discovery_profiles": map_discovery_profiles,
}
