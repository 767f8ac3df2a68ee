"""Instagram business discovery pages → canonical rows.

Keys: an account is its IG user id (``business_discovery.id``, a string), its handle the
username; a post is its media id, its URL the permalink. Each page carries the profile
and one page of media, so each page maps an Account + AccountSnapshot as well as its
Posts + PostMetricSnapshots.

Discovery: Instagram cannot find accounts by topic. Hashtag search (``ig_hashtag_search``
+ ``recent_media``) returns media without any owner or username, and business
discovery only answers for a username we already know. So discovery here is the vetting
of candidate handles a person put in the config (``candidate_discovery``): one business
discovery page per candidate, and a sighting (``#tag``) for each hashtag the candidate
actually used in its newest captions. The term is what the account was seen posting,
not a label someone typed in; ``queue_discovered`` keeps only the niches' terms and
ranks candidates by their followers band and how many of a niche's tags they use.
Keywords cannot be sighted this way (the mapping reads one page, not the niche list).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from pydantic import ValidationError

from ingest.batch import (
    NOT_JSON,
    MappedBatch,
    describe_error,
    item_problem,
    parse_body,
    valid_items,
)
from ingest.instagram import models
from ingest.instagram.client import graph_error
from ingest.pages import RecordedPage
from radar.canonical import (
    Account,
    AccountDiscovery,
    AccountSnapshot,
    FollowerPrecision,
    Post,
    PostKind,
    PostMetricSnapshot,
)
from radar.text import clean_text, normalize_tag

PLATFORM = "instagram"
_REQUESTED = re.compile(r"business_discovery\.username\(([^)]*)\)")
# what Graph API error 110 means for business discovery; Meta does not say which [obs]
_UNKNOWN_USER = (
    "no such username, or a personal account: business discovery sees only business and "
    "creator accounts"
)


def profile_url(username: str) -> str:
    return f"https://www.instagram.com/{username}/"


def _tag_char(char: str) -> bool:
    # letters, digits, combining marks (Devanagari, Thai, decomposed accents) and "_"
    return char == "_" or unicodedata.category(char)[0] in "LNM"


def caption_hashtags(caption: str | None) -> list[str]:
    """Instagram has no hashtag field: ``#tag`` runs of letters, digits and ``_`` in the
    caption, not glued to a preceding word (``C#``, ``abc#def``) or a link's ``/``,
    normalised and sorted.
    An emoji ends a tag (the API does not support emoji hashtags)."""
    if not caption:
        return []
    tags = set()
    for match in re.finditer("#", caption):
        start = match.start() + 1
        # glued to a word (C#), or a link's fragment (shop.example/#ad): no tag
        if start > 1 and (_tag_char(caption[start - 2]) or caption[start - 2] == "/"):
            continue
        end = start
        while end < len(caption) and _tag_char(caption[end]):
            end += 1
        if end > start:
            tags.add(normalize_tag(caption[start:end]))
    return sorted(tags)


def requested_username(page: RecordedPage) -> str | None:
    """The username a page asked about, from its ``fields`` expansion: error pages do not
    name it."""
    fields = parse_qs(urlsplit(page.url).query).get("fields", [""])[0]
    match = _REQUESTED.search(fields)
    return match.group(1) if match else None


def _reject_error_page(page: RecordedPage, batch: MappedBatch) -> None:
    handle = requested_username(page)
    who = f"@{handle}" if handle else "the request"
    reason = f"HTTP {page.status} for {who}"
    error = graph_error(page.body)
    if error is not None:
        subcode = f"/{error.error_subcode}" if error.error_subcode else ""
        reason += f": Graph API error {error.code}{subcode}: {error.message}"
        if error.code == 110:
            reason += f" ({_UNKNOWN_USER})"
    batch.reject(page, "accounts", -1, reason, page.body.decode("utf-8", "replace"))


def validate_profile(page: RecordedPage, batch: MappedBatch) -> models.BusinessProfile | None:
    """The page's profile with its valid media; bad media items and unusable pages become
    rejects. ``validate_page`` cannot do this: the items are nested two levels down."""
    if page.status >= 400:
        _reject_error_page(page, batch)
        return None
    try:
        return models.BusinessDiscoveryPage.model_validate_json(page.body).business_discovery
    except ValidationError as exc:
        first_error = describe_error(exc)
        raw = parse_body(page, batch)
        if raw is NOT_JSON:
            return None
    profile = raw.get("business_discovery") if isinstance(raw, dict) else None
    if not isinstance(profile, dict):
        batch.reject(page, "accounts", -1, first_error, raw)
        return None
    media = profile.get("media")
    if isinstance(media, dict) and isinstance(media.get("data"), list):
        good = valid_items(page, batch, media["data"], models.Media, "posts")
        profile = {**profile, "media": {**media, "data": good}}
    if (problem := item_problem({k: v for k, v in profile.items() if k != "media"})) is not None:
        batch.reject(page, "accounts", -1, problem, raw)
        return None
    try:
        return models.BusinessProfile.model_validate(profile)
    except ValidationError as exc:
        batch.reject(page, "accounts", -1, describe_error(exc), raw)
        return None


def map_profile(profile: models.BusinessProfile, page: RecordedPage, batch: MappedBatch) -> None:
    batch.accounts.append(
        Account(
            platform=PLATFORM,
            account_id=profile.id,
            handle=profile.username,
            display_name=clean_text(profile.name) or None,
            bio=clean_text(profile.biography) or None,
            url=profile_url(profile.username),
            discovered_via="tracked",
            observed_at=page.fetched_at,
        )
    )
    batch.account_snapshots.append(
        AccountSnapshot(
            platform=PLATFORM,
            account_id=profile.id,
            observed_at=page.fetched_at,
            followers=profile.followers_count,
            following=profile.follows_count,
            posts_count=profile.media_count,
            follower_precision=FollowerPrecision.of(profile.followers_count),
        )
    )


def map_media(
    media: models.Media, profile: models.BusinessProfile, page: RecordedPage, batch: MappedBatch
) -> None:
    batch.posts.append(
        Post(
            platform=PLATFORM,
            post_id=media.id,
            account_id=profile.id,
            created_at=media.timestamp,
            text=clean_text(media.caption) or None,
            hashtags=caption_hashtags(media.caption),
            # third-party captions lose the "@" of mentions, and a handle is not an id
            mentions=[],
            url=media.permalink,
            kind=PostKind.original,
            observed_at=page.fetched_at,
        )
    )
    batch.post_metric_snapshots.append(
        PostMetricSnapshot(
            platform=PLATFORM,
            post_id=media.id,
            observed_at=page.fetched_at,
            likes=media.like_count,  # None when the owner hides likes
            comments=media.comments_count,
            # views, shares and saves are insights: owned media only, never others'
            shares=None,
            quotes=None,
            views=None,
        )
    )


def map_business_discovery(page: RecordedPage, batch: MappedBatch) -> None:
    profile = validate_profile(page, batch)
    if profile is None:
        return
    map_profile(profile, page, batch)
    for media in profile.media.data if profile.media else []:
        map_media(media, profile, page, batch)


def map_candidate_discovery(page: RecordedPage, batch: MappedBatch) -> None:
    """A candidate's page: one sighting per hashtag in its newest captions. Its posts are
    not loaded: the account is not tracked (yet)."""
    profile = validate_profile(page, batch)
    if profile is None:
        return
    media = profile.media.data if profile.media else []
    for tag in sorted({tag for m in media for tag in caption_hashtags(m.caption)}):
        batch.account_discoveries.append(
            AccountDiscovery(
                platform=PLATFORM,
                account_id=profile.id,
                term=f"#{tag}",
                handle=profile.username,
                followers=profile.followers_count,
                observed_at=page.fetched_at,
            )
        )


MAPPERS: dict[str, Callable[[RecordedPage, MappedBatch], None]] = {
    "business_discovery": map_business_discovery,
}
# endpoints niche_discovery reads; social_ingest never plans them
DISCOVERY_MAPPERS: dict[str, Callable[[RecordedPage, MappedBatch], None]] = {
    "candidate_discovery": map_candidate_discovery,
}
