"""TikTok Research API pages to canonical rows.

Keys: the Research API has no stable user id in its video results, only the username, so
an account is its username (NUL bytes stripped, lower-cased) and a renamed account is a
new one. A post is its video id, kept as the exact decimal string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import ValidationError

from ingest.batch import (
    NOT_JSON,
    MappedBatch,
    describe_error,
    item_problem,
    parse_body,
    valid_items,
)
from ingest.pages import RecordedPage
from ingest.tiktok import models
from radar.canonical import (
    Account,
    AccountDiscovery,
    AccountSnapshot,
    AccountStatus,
    FollowerPrecision,
    Post,
    PostKind,
    PostMetricSnapshot,
)
from radar.text import clean_text, normalize_tag

PLATFORM = "tiktok"
# TikTok usernames: letters, digits, "_" and "."; not preceded by a word character, so
# an e-mail address is no mention
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9_.]{2,24})")


def account_key(username: str) -> str:
    return (clean_text(username) or "").lower()


def handle_of(username: str) -> str:
    return clean_text(username) or ""


def profile_url(handle: str) -> str:
    return f"https://www.tiktok.com/@{handle}"


def video_url(handle: str, video_id: str) -> str:
    return f"{profile_url(handle)}/video/{video_id}"


def _request(page: RecordedPage) -> dict:
    try:
        body = json.loads(page.request_body or "")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _query_values(page: RecordedPage, field_name: str) -> list[str]:
    """The values a video query asked for in ``field_name`` (its ``and`` clauses)."""
    query = _request(page).get("query")
    clauses = query.get("and") if isinstance(query, dict) else None
    return [
        str(value)
        for clause in (clauses if isinstance(clauses, list) else [])
        if isinstance(clause, dict)
        and clause.get("field_name") == field_name
        and isinstance(clause.get("field_values"), list)
        for value in clause["field_values"]
        if isinstance(value, str | int) and not isinstance(value, bool)
    ]


def _error_page(page: RecordedPage, batch: MappedBatch) -> bool:
    """Reject a page the API refused, with its own code and message as the reason.

    A 400 ``Search Id ... is invalid or expired`` was followed by a fresh walk of the same
    window; the page is still rejected, as it holds no records.
    """
    code, message = models.error_of(page.body)
    if page.status < 400 and code in (None, "ok"):
        return False
    reason = f"HTTP {page.status}"
    if code is not None:
        reason += f" {code}: {message}" if message else f" {code}"
    batch.reject(page, "page", -1, reason, page.body.decode("utf-8", "replace"))
    return True


def _parse(page: RecordedPage, batch: MappedBatch, model, entity: str):
    """The whole page in one validation; on failure, each video on its own, so one bad
    record does not cost the good ones (``validate_page`` with items under ``data``)."""
    if _error_page(page, batch):
        return None
    try:
        return model.model_validate_json(page.body)
    except ValidationError as first_error:
        raw = parse_body(page, batch)
        if raw is NOT_JSON:
            return None
        data = raw.get("data") if isinstance(raw, dict) else None
        videos = data.get("videos") if isinstance(data, dict) else None
        if model is not models.VideoQueryPage or not isinstance(videos, list):
            reason = item_problem(raw) or describe_error(first_error)
            batch.reject(page, entity, -1, reason, raw)
            return None
        good = valid_items(page, batch, videos, models.Video, entity)
        try:
            return model.model_validate({**raw, "data": {**data, "videos": good}})
        except ValidationError as exc:
            batch.reject(page, "page", -1, describe_error(exc), raw)
            return None


def map_user_info(page: RecordedPage, batch: MappedBatch) -> None:
    """``/v2/research/user/info/``: the account and a follower snapshot. The answer does
    not name the user: the request body does."""
    info = _parse(page, batch, models.UserInfoPage, "accounts")
    if info is None:
        return
    username = _request(page).get("username")
    if not isinstance(username, str) or not account_key(username):
        batch.reject(page, "accounts", -1, "no username in the request body", page.request_body)
        return
    key, handle, user = account_key(username), handle_of(username), info.data
    batch.accounts.append(
        Account(
            platform=PLATFORM,
            account_id=key,
            handle=handle,
            display_name=clean_text(user.display_name) or None,
            bio=clean_text(user.bio_description) or None,
            url=profile_url(handle),
            status=AccountStatus.active,
            discovered_via="tracked",
            observed_at=page.fetched_at,
        )
    )
    batch.account_snapshots.append(
        AccountSnapshot(
            platform=PLATFORM,
            account_id=key,
            observed_at=page.fetched_at,
            followers=user.follower_count,
            following=user.following_count,
            posts_count=user.video_count,
            follower_precision=FollowerPrecision.of(user.follower_count),
        )
    )


def _author(video: models.Video, page: RecordedPage) -> str | None:
    """The video's username, or the one the query asked for when the answer left it out."""
    if video.username and account_key(video.username):
        return video.username
    asked = _query_values(page, "username")
    return asked[0] if len(asked) == 1 else None


def _created_at(video: models.Video) -> datetime:
    return datetime.fromtimestamp(video.create_time, UTC).replace(tzinfo=None)


def map_video(video: models.Video, index: int, page: RecordedPage, batch: MappedBatch) -> None:
    """One video's post and metric snapshot. A video without a username, or whose
    ``create_time`` is no date (the model bounds it; this is the last guard), is a
    reject of its own: nothing raised here may cost the rest of the batch."""
    username = _author(video, page)
    if username is None:
        batch.reject(page, "posts", index, "video without a username", video.model_dump())
        return
    try:
        created_at = _created_at(video)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        reason = f"create_time {video.create_time!r} is not a date: {exc}"
        batch.reject(page, "posts", index, reason, video.model_dump())
        return
    text = clean_text(video.video_description)
    batch.posts.append(
        Post(
            platform=PLATFORM,
            post_id=video.id,
            account_id=account_key(username),
            created_at=created_at,
            text=text or None,
            # region_code is where the account registered, not the language
            language=None,
            hashtags=sorted({normalize_tag(t) for t in video.hashtag_names or [] if t.strip()}),
            mentions=sorted({m.rstrip(".").lower() for m in _MENTION.findall(text or "")}),
            url=video_url(handle_of(username), video.id),
            # duets and stitches are not flagged by the API: every video is an original
            kind=PostKind.original,
            observed_at=page.fetched_at,
        )
    )
    batch.post_metric_snapshots.append(
        PostMetricSnapshot(
            platform=PLATFORM,
            post_id=video.id,
            observed_at=page.fetched_at,
            likes=video.like_count,
            comments=video.comment_count,
            shares=video.share_count,
            views=video.view_count,
        )
    )


def map_video_query(page: RecordedPage, batch: MappedBatch) -> None:
    """A tracked account's videos (``username EQ``), one page of one date window."""
    result = _parse(page, batch, models.VideoQueryPage, "posts")
    for index, video in enumerate(result.data.videos if result else []):
        map_video(video, index, page, batch)


def map_video_search(page: RecordedPage, batch: MappedBatch) -> None:
    """A discovery query (``hashtag_name IN`` or ``keyword EQ``): the posting accounts are
    sightings under ``#tag`` or the keyword. Their videos are not loaded: nobody tracks
    those accounts yet. Video results carry no follower counts."""
    result = _parse(page, batch, models.VideoQueryPage, "account_discoveries")
    if result is None:
        return
    tags = [normalize_tag(t) for t in _query_values(page, "hashtag_name")]
    keywords = [normalize_tag(k) for k in _query_values(page, "keyword")]
    if not tags and not keywords:
        batch.reject(page, "page", -1, "no hashtag_name or keyword in the query", None)
        return
    seen = set()
    for index, video in enumerate(result.data.videos):
        if not video.username or not account_key(video.username):
            reason = "video without a username"
            batch.reject(page, "account_discoveries", index, reason, video.model_dump())
            continue
        found = {normalize_tag(t) for t in video.hashtag_names or []}
        # with several tags asked for, a video counts for those it carries (all, if the
        # answer left its hashtags out)
        matched = tags if len(tags) == 1 or not found else [t for t in tags if t in found]
        for term in [f"#{t}" for t in matched] + keywords:
            key = account_key(video.username)
            if (key, term) in seen:
                continue
            seen.add((key, term))
            batch.account_discoveries.append(
                AccountDiscovery(
                    platform=PLATFORM,
                    account_id=key,
                    term=term,
                    handle=handle_of(video.username),
                    followers=None,
                    observed_at=page.fetched_at,
                )
            )


MAPPERS: dict[str, Callable[[RecordedPage, MappedBatch], None]] = {
    "user_info": map_user_info,
    "video_query": map_video_query,
}
# endpoints niche_discovery reads; social_ingest never plans them
DISCOVERY_MAPPERS: dict[str, Callable[[RecordedPage, MappedBatch], None]] = {
    "video_search": map_video_search,
}
