"""Response models for the TikTok Research API endpoints the radar reads.

Every answer is an envelope ``{"data": {...}, "error": {"code", "message", "log_id"}}``
with ``code == "ok"`` on success. Video ids and ``music_id`` are JSON numbers above 2^53:
they are kept exact as strings (Python's json and pydantic parse them as ints; a float
never touches them).
"""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from radar.canonical import Count

# create_time is epoch seconds: from 1970 up to 2100-01-01. A millisecond value (13 digits)
# would be a date tens of thousands of years away, which datetime cannot hold
CREATE_TIME_MAX = 4_102_444_800


def error_of(body: bytes) -> tuple[str | None, str]:
    """The envelope's ``error.code`` and ``error.message``; (None, "") for a body that is
    not the JSON envelope (a 504's HTML)."""
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        return None, ""
    if not isinstance(error, dict):
        return None, ""
    return error.get("code"), str(error.get("message") or "")


def _exact_id(value: object) -> object:
    """An integer id as its exact decimal string. A float is refused: it has already lost
    digits (7320768196569599275 would come back as ...9599488)."""
    if isinstance(value, bool):
        raise ValueError("an id must be an integer, not a boolean")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.isdigit():
        return value
    if isinstance(value, float):
        raise ValueError("an id arrived as a float and lost its exact digits")
    return value


ExactId = Annotated[str, BeforeValidator(_exact_id)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Error(_Model):
    code: str = "ok"
    message: str = ""
    log_id: str | None = None


class UserInfo(_Model):
    display_name: str | None = None
    bio_description: str | None = None
    avatar_url: str | None = None
    is_verified: bool | None = None
    follower_count: Count | None = None
    following_count: Count | None = None
    likes_count: Count | None = None
    video_count: Count | None = None


class UserInfoPage(_Model):
    data: UserInfo
    error: Error = Error()


class Video(_Model):
    id: ExactId
    username: str | None = None
    create_time: int = Field(ge=0, le=CREATE_TIME_MAX)
    region_code: str | None = None
    video_description: str | None = None
    hashtag_names: list[str] | None = None
    view_count: Count | None = None
    like_count: Count | None = None
    comment_count: Count | None = None
    share_count: Count | None = None
    music_id: ExactId | None = None
    voice_to_text: str | None = None


class Videos(_Model):
    videos: list[Video] = []
    cursor: int | None = None
    # sent as a string, but seen as a number in older answers: either way kept exact
    search_id: ExactId | None = None
    has_more: bool = False

    @field_validator("videos", mode="before")
    @classmethod
    def _no_videos(cls, value: object) -> object:
        return [] if value is None else value  # an empty window may say null


class VideoQueryPage(_Model):
    data: Videos
    error: Error = Error()
