"""Campaign terms: ``config/campaigns.yaml`` validated strictly, as the other config files.

Per campaign: brand (a key of ``config/brands.yaml``), label, dates, budget, currency,
attribution window and the brand's own handles; per creator: platform and handle, the fee
(``flat``, ``per_post`` or ``commission``) with optional dated versions, promo codes,
tracked links (UTM links or short links) and campaign hashtags. A typo is an error naming
the file and the field, never a silently ignored term.

Values are kept in the form the exports are matched in: codes uppercase (shops match them
case-insensitively), UTM values lowercase, short links as ``host/path``, handles lowercase
without a leading ``@``, hashtags normalised like ``core.posts.hashtags``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote_plus, urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from radar.canonical import Platform
from radar.config_file import read_config
from radar.errors import ConfigError
from radar.platforms import platform_names
from radar.text import normalize_tag

CAMPAIGNS_FILE = "campaigns.yaml"
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content")

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
CampaignKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def normalize_handle(handle: str) -> str:
    """A handle as ``core.accounts`` keeps it: lowercase, no leading ``@``."""
    return handle.strip().removeprefix("@").lower()


def normalize_code(code: str) -> str:
    return code.strip().upper()


def normalize_short_link(link: str) -> str:
    """``https://Grn.ov/Lena/`` → ``grn.ov/Lena``: the host lowercase (paths of short links
    are case-sensitive), no scheme, query or trailing ``/``."""
    text = link.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}"


def utm_of(url: str) -> dict[str, str | None]:
    """The ``utm_*`` parameters of ``url``, lowercase; None when absent or empty. Accepts
    a path with a query (Shopify's ``landing_site``) as well as a URL; the first non-empty
    value of a parameter wins, as ``urllib.parse.parse_qs`` reads it."""
    found: dict[str, str | None] = dict.fromkeys(UTM_FIELDS)
    query = url.partition("?")[2].partition("#")[0]
    if "utm" not in query:  # most landing pages: no need to split
        return found
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if name in found and found[name] is None:
            if "%" in value or "+" in value:
                value = unquote_plus(value)
            found[name] = value.strip().lower() or None
    return found


def _midnight(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day)


class _Dated(_Strict):
    """A tracking key that may count only from a day (``from:``) or until one (``until:``,
    exclusive)."""

    from_: date | None = Field(None, alias="from")
    until: date | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.from_ and self.until and self.until <= self.from_:
            raise ValueError(f"until {self.until} is not after from {self.from_}")
        return self

    @property
    def span(self) -> tuple[datetime | None, datetime | None]:
        return _midnight(self.from_), _midnight(self.until)


def _shorthand(field: str):
    """A bare string stands for ``{field: string}``."""
    return BeforeValidator(lambda value: {field: value} if isinstance(value, str) else value)


class Code(_Dated):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]

    @field_validator("code")
    @classmethod
    def _one_code(cls, code: str) -> str:
        if "," in code:
            raise ValueError(f"code {code!r} holds a comma: exports list several codes so")
        return normalize_code(code)


class Hashtag(_Dated):
    hashtag: str

    @field_validator("hashtag")
    @classmethod
    def _normalised(cls, tag: str) -> str:
        normalised = normalize_tag(tag).strip()
        if not normalised:
            raise ValueError("an empty hashtag matches nothing")
        return normalised


class Link(_Dated):
    """A tracked link: ``url:`` with ``utm_*`` parameters, ``utm:`` the parameters alone
    (``{source: …, medium: …, campaign: …, content: …}``), or ``short:`` a short link. A
    UTM link needs at least its source and campaign."""

    url: str | None = None
    utm: dict[Literal["source", "medium", "campaign", "content"], str] | None = None
    short: str | None = None

    @model_validator(mode="after")
    def _one_kind(self):
        if sum(v is not None for v in (self.url, self.utm, self.short)) != 1:
            raise ValueError("a link is one of `url:` (with utm_* parameters), `utm:` or `short:`")
        if self.short is not None:
            if not normalize_short_link(self.short).partition("/")[2]:
                raise ValueError(f"short link {self.short!r} has no path")
            return self
        missing = [f for f in ("utm_source", "utm_campaign") if not self.utm_values[f]]
        if missing:
            raise ValueError(f"link {self.url or self.utm!r} has no {' or '.join(missing)}")
        return self

    @property
    def utm_values(self) -> dict[str, str | None]:
        """The link's utm_* values, lowercase (None when absent); a short link has none."""
        if self.url is not None:
            return utm_of(self.url)
        given = {f"utm_{k}": v.strip().lower() or None for k, v in (self.utm or {}).items()}
        return {f: given.get(f) for f in UTM_FIELDS}


class Fee(_Strict):
    """One version of a creator's fee; ``from:`` dates a version that replaced another."""

    type: Literal["flat", "per_post", "commission"]
    amount: Money | None = None
    rate: Annotated[float, Field(gt=0, le=1)] | None = None
    from_: date | None = Field(None, alias="from")

    @model_validator(mode="after")
    def _complete(self):
        if self.type == "commission":
            if self.rate is None:
                raise ValueError("a commission fee needs `rate` (0.1 = 10 %)")
        else:
            if self.amount is None:
                raise ValueError(f"a {self.type} fee needs `amount`")
            if self.rate is not None:
                raise ValueError(f"a {self.type} fee has no `rate` (only commission has)")
        return self


def _as_list(value: object) -> object:
    return [value] if isinstance(value, dict) else value


class Creator(_Strict):
    platform: Platform
    handle: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    fee: Annotated[list[Fee], BeforeValidator(_as_list), Field(min_length=1)]
    codes: list[Annotated[Code, _shorthand("code")]] = []
    links: list[Annotated[Link, _shorthand("url")]] = []
    hashtags: list[Annotated[Hashtag, _shorthand("hashtag")]] = []

    @field_validator("platform")
    @classmethod
    def _known_platform(cls, platform: str) -> str:
        known = platform_names()
        if platform not in known:
            raise ValueError(f"unknown platform {platform!r}; known: {', '.join(known)}")
        return platform

    @field_validator("handle")
    @classmethod
    def _normalised(cls, handle: str) -> str:
        return normalize_handle(handle)

    @field_validator("fee")
    @classmethod
    def _versions_in_order(cls, fees: list[Fee]) -> list[Fee]:
        days = [f.from_ for f in fees[1:]]
        if None in days:
            raise ValueError("every fee version after the first needs `from:` (its first day)")
        if fees[0].from_ is not None:
            days.insert(0, fees[0].from_)
        if days != sorted(set(days)):
            raise ValueError(f"fee versions must start on increasing days, not {days}")
        return fees

    @model_validator(mode="after")
    def _mastodon_handle(self):
        if self.platform == "mastodon" and "@" not in self.handle:
            raise ValueError(f"mastodon handle {self.handle!r} must be user@instance")
        return self


class Campaign(_Strict):
    brand: str
    label: str
    starts_on: date
    ends_on: date
    budget: Money | None = None
    currency: Currency
    attribution_window_days: Annotated[int, Field(ge=0, le=365)] = 7
    brand_handles: dict[Platform, list[str]] = {}
    creators: list[Creator] = Field(min_length=1)

    @field_validator("brand_handles")
    @classmethod
    def _handles(cls, handles: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(handles) - set(platform_names()))
        if unknown:
            raise ValueError(f"unknown platform(s) {unknown}")
        return {p: sorted({normalize_handle(h) for h in hs}) for p, hs in handles.items()}

    @model_validator(mode="after")
    def _consistent(self):
        if self.ends_on < self.starts_on:
            raise ValueError(f"ends_on {self.ends_on} is before starts_on {self.starts_on}")
        seen: dict[tuple, str] = {}
        for creator in self.creators:
            who = f"{creator.platform}:{creator.handle}"
            if (creator.platform, creator.handle) in seen:
                raise ValueError(f"creator {who} is listed twice")
            seen[(creator.platform, creator.handle)] = who
            for key in tracking_keys(creator):
                if key[0] == "hashtag":
                    continue  # a campaign hashtag is everyone's: it marks whose post it is in
                if key in seen:
                    raise ValueError(f"{_describe(key)} belongs to both {seen[key]} and {who}")
                seen[key] = who
        return self


def tracking_keys(creator: Creator) -> list[tuple]:
    """(kind, code, utm_source, utm_medium, utm_campaign, utm_content, short_link, hashtag)
    of each tracking key of ``creator``: the columns of ``core.campaign_tracking``."""
    keys = [("code", c.code, None, None, None, None, None, None) for c in creator.codes]
    for link in creator.links:
        if link.short is None:
            utm = link.utm_values
            keys.append(("utm", None, *(utm[f] for f in UTM_FIELDS), None, None))
        else:
            keys.append(
                (
                    "short_link",
                    None,
                    None,
                    None,
                    None,
                    None,
                    normalize_short_link(link.short or ""),
                    None,
                )
            )
    keys.extend(
        ("hashtag", None, None, None, None, None, None, h.hashtag) for h in creator.hashtags
    )
    return keys


def _describe(key: tuple) -> str:
    kind, *values = key
    return f"{kind} {' '.join(str(v) for v in values if v is not None)!r}"


class FxRate(_Strict):
    currency: Currency
    to: Currency
    rate: Annotated[float, Field(gt=0)]
    from_: date = Field(alias="from")


class CampaignsConfig(_Strict):
    fx_rates: list[FxRate] = []
    campaigns: dict[CampaignKey, Campaign] = {}

    @model_validator(mode="after")
    def _distinct(self):
        pairs = [(r.currency, r.to, r.from_) for r in self.fx_rates]
        twice = sorted({p for p in pairs if pairs.count(p) > 1})
        if twice:
            currency, to, day = twice[0]
            raise ValueError(f"fx_rates lists {currency}→{to} twice from {day}")
        self_rates = [r for r in self.fx_rates if r.currency == r.to]
        if self_rates:
            raise ValueError(f"fx_rates converts {self_rates[0].currency} to itself")
        # a code or link of two campaigns running at once would be attributed to both
        owners: dict[tuple, tuple[str, date, date]] = {}
        for name, campaign in self.campaigns.items():
            for creator in campaign.creators:
                for key in tracking_keys(creator):
                    if key[0] == "hashtag":
                        continue  # a hashtag marks a post, which its own campaign dates
                    other = owners.get(key)
                    if other and other[1] <= campaign.ends_on and campaign.starts_on <= other[2]:
                        raise ValueError(
                            f"{_describe(key)} belongs to campaigns {other[0]} and {name}, "
                            "whose dates overlap"
                        )
                    owners[key] = (name, campaign.starts_on, campaign.ends_on)
        return self


def read_campaigns(config_dir: Path) -> CampaignsConfig:
    """``config/campaigns.yaml`` validated, each campaign's brand checked against
    ``config/brands.yaml``; an absent file is no campaigns. Any problem is a one-line
    ``ConfigError`` naming the file and the field."""
    path = config_dir / CAMPAIGNS_FILE
    if not path.exists():
        return CampaignsConfig()
    config = read_config(path, CampaignsConfig)
    brands = _brand_names(config_dir)
    for name, campaign in config.campaigns.items():
        if brands is not None and campaign.brand not in brands:
            raise ConfigError(
                f"{path}: campaigns.{name}.brand: unknown brand {campaign.brand!r}; "
                f"config/brands.yaml has {', '.join(sorted(brands)) or 'none'}"
            )
    return config


def _brand_names(config_dir: Path) -> set[str] | None:
    """The brand keys of ``brands.yaml`` (its own validation is the transforms'); None
    without the file."""
    path = config_dir / "brands.yaml"
    if not path.exists():
        return None
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return set((raw.get("brands") or {}) if isinstance(raw, dict) else {})
