"""Mastodon responses to canonical rows.

Keys: an account is ``user@home.instance`` (local ids differ per instance); a post is its
ActivityPub ``uri``, which is the same wherever the post is seen.

An ``acct`` without a domain is a local account of the instance that served the page,
which Mastodon always sends with its ``url`` on that instance. When such an account's
``url`` names another host (a remote account written without its domain, as a buggy
client or recorder may), the key is taken from that host: the account's own URL says
where it lives, and a post's author never moves to an account of the instance that
happened to serve the page (a booster's). Only without a usable ``url`` does the page's
instance complete the key.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from ingest.batch import MappedBatch, validate_page
from ingest.mastodon import models
from ingest.pages import RecordedPage
from radar.canonical import (
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
from radar.text import clean_text, html_to_text, normalize_tag

PLATFORM = "mastodon"


def account_key(acct: str, instance: str) -> str:
    """``alice`` seen on bakers.social and ``alice@bakers.social`` seen elsewhere are one key."""
    return acct.lower() if "@" in acct else f"{acct.lower()}@{instance.lower()}"


def _host(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).hostname or None
    except ValueError:  # an unparseable URL (a bad IPv6 literal) names no host
        return None


def key_of(account: models.Account | models.MovedAccount, instance: str) -> str:
    """An account object's key: its ``acct``, completed by the host of its own ``url``
    when it has no domain, else by the page's instance (see the module docstring)."""
    if "@" in account.acct:
        return account.acct.lower()
    return account_key(account.acct, _host(account.url) or instance)


def _known_count(value: int | None) -> int | None:
    # Mastodon sends -1 for a hidden count and some forks send 0: both mean unknown
    return value if value is not None and value > 0 else None


def map_account(account: models.Account, instance: str, page: RecordedPage, batch: MappedBatch):
    key = key_of(account, instance)
    status = AccountStatus.active
    if account.suspended:
        status = AccountStatus.suspended
    elif account.moved is not None:
        status = AccountStatus.moved
    batch.accounts.append(
        Account(
            platform=PLATFORM,
            account_id=key,
            handle=key,
            display_name=clean_text(account.display_name) or None,
            bio=html_to_text(account.note) or None,
            url=account.url,
            home_instance=key.split("@", 1)[1],
            is_bot=account.bot,
            status=status,
            moved_to=key_of(account.moved, key.split("@", 1)[1]) if account.moved else None,
            created_at=account.created_at,
            discovered_via="tracked",
            observed_at=page.fetched_at,
        )
    )
    followers = _known_count(account.followers_count)
    batch.account_snapshots.append(
        AccountSnapshot(
            platform=PLATFORM,
            account_id=key,
            observed_at=page.fetched_at,
            followers=followers,
            following=account.following_count if account.following_count is not None else None,
            posts_count=account.statuses_count,
            follower_precision=FollowerPrecision.of(followers),
        )
    )


def _post_row(status: models.Status, instance: str, page: RecordedPage) -> Post:
    kind = PostKind.original
    original = None
    if status.in_reply_to_id is not None:
        kind = PostKind.reply
    quoted = status.quote.quoted_status if status.quote else None
    if quoted is not None and quoted.uri:
        kind, original = PostKind.quote, quoted.uri
    text = html_to_text(status.content)
    if status.spoiler_text:
        text = f"{clean_text(status.spoiler_text)}\n\n{text}"
    return Post(
        platform=PLATFORM,
        post_id=status.uri,
        account_id=key_of(status.account, instance),
        created_at=status.created_at,
        text=text,
        language=status.language,
        hashtags=sorted({normalize_tag(tag.name) for tag in status.tags}),
        mentions=sorted({account_key(m.acct, instance) for m in status.mentions}),
        url=status.url,
        kind=kind,
        original_post_id=original,
        observed_at=page.fetched_at,
    )


def _metrics_row(status: models.Status, page: RecordedPage) -> PostMetricSnapshot:
    return PostMetricSnapshot(
        platform=PLATFORM,
        post_id=status.uri,
        observed_at=page.fetched_at,
        likes=status.favourites_count,
        comments=status.replies_count,
        shares=status.reblogs_count,
        quotes=status.quotes_count,
        views=None,
    )


def map_status(status: models.Status, instance: str, page: RecordedPage, batch: MappedBatch):
    if status.reblog is None:
        batch.posts.append(_post_row(status, instance, page))
        batch.post_metric_snapshots.append(_metrics_row(status, page))
        return
    # a boost: the outer status is only the event; text, author and counts are the original's
    original = status.reblog
    batch.posts.append(
        Post(
            platform=PLATFORM,
            post_id=status.uri,
            account_id=key_of(status.account, instance),
            created_at=status.created_at,
            url=status.url,
            kind=PostKind.repost,
            original_post_id=original.uri,
            original_account_id=key_of(original.account, instance),
            observed_at=page.fetched_at,
        )
    )
    batch.posts.append(_post_row(original, instance, page))
    batch.post_metric_snapshots.append(_metrics_row(original, page))


def _instance(page: RecordedPage, accounts: list[models.Account]) -> str:
    """The instance that served the page, which local accts (no domain) belong to.

    A local account's own URL names it, even when the request went through a proxy or
    another base URL; the request's host is the fallback.
    """
    for account in accounts:
        if "@" not in account.acct and (host := _host(account.url)):
            return host
    return _host(page.url) or "unknown"


def map_accounts_lookup(page: RecordedPage, batch: MappedBatch) -> None:
    account = validate_page(page, models.Account, models.Account, None, "accounts", batch)
    if account is not None:
        map_account(account, _instance(page, [account]), page, batch)


def map_account_statuses(page: RecordedPage, batch: MappedBatch) -> None:
    statuses = validate_page(page, models.StatusesPage, models.Status, None, "posts", batch)
    if statuses is None:
        return
    instance = _instance(page, [s.account for s in statuses.root])
    for status in statuses.root:
        map_status(status, instance, page, batch)


def map_status_read(page: RecordedPage, batch: MappedBatch) -> None:
    """``GET /api/v1/statuses/:id`` of a known post (``MastodonClient.status``): a status
    gives fresh counts; a 404 with Mastodon's JSON error (``{"error": "Record not
    found"}``) says the post, named by the URL's fragment, is deleted. Any other answer
    (a 404 that is no Mastodon error, as a proxy's page) proves nothing: a reject."""
    if page.status == 404:
        uri = unquote(urlsplit(page.url).fragment)
        try:
            error = page.json()
        except ValueError:
            error = None
        if uri and isinstance(error, dict) and isinstance(error.get("error"), str):
            batch.post_deletions.append(
                PostDeletion(platform=PLATFORM, post_id=uri, observed_at=page.fetched_at)
            )
            return
    status = validate_page(page, models.Status, models.Status, None, "posts", batch)
    if status is not None:
        map_status(status, _instance(page, [status.account]), page, batch)


def map_tag_timeline(page: RecordedPage, batch: MappedBatch) -> None:
    """A hashtag timeline names the accounts posting under the tag: discovery sightings.

    Its posts are not loaded: they belong to accounts nobody tracks yet, and the signals
    count only tracked accounts' posts, read from their own timelines.
    """
    statuses = validate_page(page, models.StatusesPage, models.Status, None, "posts", batch)
    if statuses is None:
        return
    tag = normalize_tag(unquote(urlsplit(page.url).path.rstrip("/").rsplit("/", 1)[-1]))
    accounts = [(status.reblog or status).account for status in statuses.root]
    _sightings(accounts, f"#{tag}", _instance(page, accounts), page, batch)


def map_account_search(page: RecordedPage, batch: MappedBatch) -> None:
    """``/api/v2/search?type=accounts``: accounts whose name or bio match a keyword."""
    found = validate_page(page, models.SearchPage, models.Account, "accounts", "accounts", batch)
    if found is None:
        return
    query = parse_qs(urlsplit(page.url).query).get("q", [""])[0]
    _sightings(found.accounts, normalize_tag(query), _instance(page, found.accounts), page, batch)


def _sightings(
    accounts: list[models.Account], term: str, instance: str, page: RecordedPage, batch
) -> None:
    seen = set()
    for account in accounts:
        key = key_of(account, instance)
        if key in seen:
            continue
        seen.add(key)
        batch.account_discoveries.append(
            AccountDiscovery(
                platform=PLATFORM,
                account_id=key,
                term=term,
                handle=key,
                followers=_known_count(account.followers_count),
                observed_at=page.fetched_at,
            )
        )


MAPPERS: dict[str, Callable[[RecordedPage, MappedBatch], None]] = {
    "accounts_lookup": map_accounts_lookup,
    "account_statuses": map_account_statuses,
    "status": map_status_read,
}
# endpoints niche_discovery reads; social_ingest never plans them
DISCOVERY_MAPPERS: dict[str, Callable[[RecordedPage, MappedBatch], None]] = {
    "tag_timeline": map_tag_timeline,
    "account_search": map_account_search,
}
