"""Response models for the Instagram Graph API business discovery endpoint.

Shapes follow ``GET /{ig-user-id}?fields=business_discovery.username(<u>){...}``: the
profile nests its ``media`` edge, whose ``paging`` carries only cursors. Ids are strings
(numbers are coerced, never parsed); every count is optional because the API omits
what the owner hides (``like_count``) and what the field expansion did not ask for.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from radar.canonical import Count, Timestamp


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class Media(_Model):
    id: str
    caption: str | None = None
    comments_count: Count | None = None
    # omitted when the owner hides like counts: None, never 0
    like_count: Count | None = None
    media_type: str | None = None  # IMAGE, VIDEO, CAROUSEL_ALBUM
    media_product_type: str | None = None  # FEED, REELS, ... (kept open: Meta adds values)
    permalink: str | None = None
    # "2024-11-20T16:21:34+0000": an offset without a colon, which pydantic parses
    timestamp: Timestamp


class Cursors(_Model):
    before: str | None = None
    after: str | None = None


class Paging(_Model):
    cursors: Cursors | None = None
    next: str | None = None  # top-level edges only; nested media has cursors alone


class MediaEdge(_Model):
    data: list[Media] = []
    paging: Paging | None = None

    @property
    def after(self) -> str | None:
        return self.paging.cursors.after if self.paging and self.paging.cursors else None


class BusinessProfile(_Model):
    id: str
    username: str
    name: str | None = None
    biography: str | None = None
    followers_count: Count | None = None
    follows_count: Count | None = None
    media_count: Count | None = None
    website: str | None = None
    profile_picture_url: str | None = None
    media: MediaEdge | None = None


class BusinessDiscoveryPage(_Model):
    business_discovery: BusinessProfile
    id: str | None = None  # our own IG professional account, which asked


class GraphError(_Model):
    message: str = ""
    type: str | None = None
    code: int | None = None
    error_subcode: int | None = None
    is_transient: bool | None = None
    error_user_title: str | None = None
    error_user_msg: str | None = None
    fbtrace_id: str | None = None


class ErrorEnvelope(_Model):
    error: GraphError
