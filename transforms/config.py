"""Niche taxonomy, scoring settings and brand profiles: YAML in ``config/`` → ``config.*``.

Loaded at the start of every transform run, so an edit takes effect on the next run
without fetching anything. Each file is validated strictly: a typo is an error that names
the file and the field, not a silently ignored setting.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from radar.canonical import Platform
from radar.config_file import read_config
from radar.errors import ConfigError
from radar.platforms import platform_names
from radar.text import normalize_tag

Window = Literal[7, 30, 90]
FLAGS = (
    "follower_spike",
    "likes_without_comments",
    "erratic_engagement",
    "following_far_above_followers",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# a link without a scheme, as config.word_text drops it from posts (sql/macros): www.host
# and its path, or host.tld/path; run on text whose marks are masked as _ (\w has no marks)
_BARE_LINK = re.compile(
    r"(?:^|(?<=[^\w.\-]))www\.[\w\-]+(?:\.[\w\-]+)*(?:/\S*)?"
    r"|[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}/\S*"
)


def _bare_links(text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds a link without a scheme, as ``config.word_text`` finds them."""
    masked = "".join("_" if unicodedata.category(c)[0] == "M" else c for c in text)
    return [m.span() for m in _BARE_LINK.finditer(masked)]


def _word_form(term: str) -> str:
    """A term as the models match it (``config.word_text`` in sql/macros): lowercase NFC
    words of letters and digits, everything else a separator, a link left out."""
    text = unicodedata.normalize("NFC", term).lower()
    for start, end in reversed(_bare_links(text)):
        text = text[:start] + " " + text[end:]
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def _refuse_link(term: str) -> None:
    if _bare_links(unicodedata.normalize("NFC", term).lower()):
        raise ValueError(
            f"term {term!r} reads as a link (www.… or host.tld/path), which posts' "
            "words leave out: write the words themselves"
        )


def _refuse_dropped_symbols(term: str, words: str) -> None:
    # separators may go (plant-based, node.js); other symbols change what matches
    spelled = re.sub(r"[\s\-_./'’]+", "", unicodedata.normalize("NFC", term).lower())
    if words.replace(" ", "") != spelled:
        raise ValueError(
            f"term {term!r} is matched as the words {words!r} (matching is by whole "
            "words, symbols are ignored): write it that way, or choose another term"
        )


def _checked_terms(terms: list[str]) -> list[str]:
    """Refuse terms that would match nothing, or far more than meant: posts are matched by
    whole words, so symbols drop out ('c++' would match every 'c') and a single ASCII
    letter or digit matches half of all posts."""
    for term in terms:
        _refuse_link(term)
        words = _word_form(term)
        if not words:
            raise ValueError(f"term {term!r} has no letters or digits to match")
        if len(words) == 1 and words.isascii():
            raise ValueError(
                f"term {term!r} would match every post with the word {words!r}: "
                "use a longer term (matching is by whole words, symbols are ignored)"
            )
        _refuse_dropped_symbols(term, words)
    return terms


class Niche(_Strict):
    label: str
    keywords: list[str] = []
    hashtags: list[str] = []
    languages: list[str] = []

    @field_validator("keywords")
    @classmethod
    def _keywords_match_as_meant(cls, keywords: list[str]) -> list[str]:
        return _checked_terms(keywords)

    @field_validator("hashtags")
    @classmethod
    def _normalise(cls, tags: list[str]) -> list[str]:
        normalised = {normalize_tag(t).strip() for t in tags}
        if "" in normalised:
            raise ValueError("an empty hashtag matches nothing")
        return sorted(normalised)

    @model_validator(mode="after")
    def _has_terms(self) -> Niche:
        if not self.keywords and not self.hashtags:
            raise ValueError("a niche needs at least one keyword or hashtag")
        return self


class Taxonomy(_Strict):
    niches: dict[str, Niche] = Field(min_length=1)


COUNTS = ("likes", "comments", "shares")


# the registered platforms while config_tables reads the files: looked up once, not once per
# validator (each lookup scans every installed distribution's entry points: ~0.07 s)
_PLATFORMS: ContextVar[list[str] | None] = ContextVar("platforms", default=None)


def _known_platforms(names):
    """``names`` if each is a registered platform (a typo would silently match nothing)."""
    known = _PLATFORMS.get() or platform_names()
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"unknown platform(s) {unknown}; known: {', '.join(known)}")
    return names


class EngagementSettings(_Strict):
    min_own_posts: dict[Window, int]
    # the counts an engagement sums, per platform; a platform not listed sums all three
    counts: dict[Platform, list[Literal["likes", "comments", "shares"]]] = {}

    @field_validator("counts")
    @classmethod
    def _likes_at_least(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        _known_platforms(value)
        for platform, counts in value.items():
            if "likes" not in counts:
                raise ValueError(f"counts.{platform}: an engagement always counts likes")
        return value

    @field_validator("min_own_posts")
    @classmethod
    def _all_windows(cls, value: dict[int, int]) -> dict[int, int]:
        if set(value) != {7, 30, 90} or min(value.values()) < 1:
            raise ValueError("give a minimum of at least 1 for each window: 7, 30 and 90")
        return value


class BenchmarkSettings(_Strict):
    min_niche_peers: int = Field(ge=2)


class NicheSettings(_Strict):
    min_active_weeks: int = Field(ge=1, le=13)
    trending_min_mentions: int = Field(ge=1)


class JumpSettings(_Strict):
    """The follower-jump rule (docs/signals.md): judged from one growth day."""

    enabled: bool
    min_gain: int = Field(ge=0)
    min_relative: float = Field(gt=0)
    tier_lift: float = Field(gt=1)
    min_tier_accounts: int = Field(ge=2)
    min_posts_each_side: int = Field(ge=2)
    evidence_z: float = Field(gt=0)


class AuthenticitySettings(_Strict):
    min_growth_days: int = Field(ge=3)
    spike_robust_z: float = Field(gt=0)
    spike_min_gain: int = Field(ge=0)
    jump: JumpSettings
    unjudged_growth_penalty: float = Field(ge=0, le=100)
    like_comment_lift: float = Field(gt=1)
    erratic_cv: float = Field(gt=0)
    following_ratio: float = Field(gt=0)
    following_min: int = Field(ge=0)
    penalties: dict[str, float]

    @field_validator("penalties")
    @classmethod
    def _known_flags(cls, value: dict[str, float]) -> dict[str, float]:
        if set(value) != set(FLAGS):
            raise ValueError(f"give a penalty for exactly these flags: {', '.join(FLAGS)}")
        if any(not 0 <= p <= 100 for p in value.values()):
            raise ValueError("penalties are points between 0 and 100")
        return value


class CandidateWeights(_Strict):
    engagement: float = Field(ge=0)
    niche: float = Field(ge=0)
    activity: float = Field(ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> CandidateWeights:
        if self.engagement + self.niche + self.activity <= 0:
            raise ValueError("at least one candidate weight must be above 0")
        return self


class CandidateSettings(_Strict):
    tier: str
    min_niche_share: float = Field(ge=0, le=1)
    full_niche_share: float = Field(gt=0, le=1)
    full_engagement_lift: float = Field(gt=1)
    min_authenticity_score: float = Field(ge=0, le=100)
    target_posts_30d: int = Field(ge=1)
    weights: CandidateWeights


class Scoring(_Strict):
    tiers: dict[str, int]
    engagement: EngagementSettings
    benchmarks: BenchmarkSettings
    niche: NicheSettings
    authenticity: AuthenticitySettings
    candidates: CandidateSettings

    @model_validator(mode="after")
    def _tiers_ok(self) -> Scoring:
        self.tiers = dict(sorted(self.tiers.items(), key=lambda item: item[1]))
        bounds = list(self.tiers.values())
        if len(set(bounds)) != len(bounds) or bounds[0] != 0:
            raise ValueError("tier bounds must be distinct and the lowest must be 0")
        if self.candidates.tier not in self.tiers:
            raise ValueError(f"candidates.tier {self.candidates.tier!r} is not one of the tiers")
        return self


class Brand(_Strict):
    label: str
    target_niches: list[str] = Field(min_length=1)
    must_have_terms: list[str] = []
    excluded_terms: list[str] = []
    platforms: list[str] = Field(min_length=1)
    tiers: list[str] = Field(min_length=1)

    @field_validator("must_have_terms", "excluded_terms")
    @classmethod
    def _terms_match_as_meant(cls, terms: list[str]) -> list[str]:
        return _checked_terms(terms)

    @field_validator("platforms")
    @classmethod
    def _registered(cls, platforms: list[str]) -> list[str]:
        return _known_platforms(platforms)


class FitWeights(_Strict):
    niche: float = Field(ge=0)
    must_have: float = Field(ge=0)


class Brands(_Strict):
    fit_weights: FitWeights
    brands: dict[str, Brand] = {}


# a language code as the platforms give one (de, pt-BR, zh-Hant): a term under it matches
# posts whose language has this first subtag
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def _checked_phrases(phrases: list[str]) -> list[str]:
    """Disclosure phrases match by whole words like niche keywords, but one word may be a
    whole disclosure (werbung, publicidad); a short one (ad, pub) is an abbreviation that
    means other things in running text ('ad hoc', 'the pub'), so it must be a hashtag."""
    for phrase in phrases:
        _refuse_link(phrase)
        words = _word_form(phrase)
        if not words:
            raise ValueError(f"phrase {phrase!r} has no letters or digits to match")
        if " " not in words and len(words) < 4:
            raise ValueError(
                f"phrase {phrase!r} is a word of under 4 letters, which running text uses "
                "for other things: list it as a hashtag instead"
            )
        _refuse_dropped_symbols(phrase, words)
    return phrases


class DisclosureTerms(_Strict):
    hashtags: list[str] = []
    phrases: list[str] = []

    @field_validator("hashtags")
    @classmethod
    def _one_tag_each(cls, tags: list[str]) -> list[str]:
        normalised = set()
        for tag in tags:
            name = normalize_tag(tag).strip()
            # a hashtag is one run of letters, digits, marks and _ (what each platform
            # reads as a tag): '#paid partnership' would be the tag #paid
            if not name or not all(c == "_" or unicodedata.category(c)[0] in "LNM" for c in name):
                raise ValueError(f"hashtag {tag!r} is not one tag of letters, digits and _")
            normalised.add(name)
        return sorted(normalised)

    @field_validator("phrases")
    @classmethod
    def _phrases_match_as_meant(cls, phrases: list[str]) -> list[str]:
        return _checked_phrases(phrases)


class Sponsorship(_Strict):
    """config/sponsorship.yaml: the disclosure terms that mark a post sponsored."""

    enabled: bool
    # 'any' for terms of every language, else a language code
    terms: dict[str, DisclosureTerms]
    exclude_phrases: list[str] = []

    @field_validator("terms")
    @classmethod
    def _language_codes(cls, terms: dict[str, DisclosureTerms]) -> dict[str, DisclosureTerms]:
        odd = sorted(code for code in terms if code != "any" and not _LANGUAGE.match(code))
        if odd:
            raise ValueError(
                f"terms are grouped under 'any' or a lowercase language code (de, pt), not {odd}"
            )
        return terms

    @field_validator("exclude_phrases")
    @classmethod
    def _exclusions_match_as_meant(cls, phrases: list[str]) -> list[str]:
        return _checked_phrases(phrases)


def load_taxonomy(config_dir: Path) -> Taxonomy:
    return read_config(config_dir / "niches.yaml", Taxonomy)


def load_scoring(config_dir: Path) -> Scoring:
    return read_config(config_dir / "scoring.yaml", Scoring)


def load_sponsorship(config_dir: Path) -> Sponsorship:
    return read_config(config_dir / "sponsorship.yaml", Sponsorship)


def load_brands(config_dir: Path, taxonomy: Taxonomy, scoring: Scoring) -> Brands:
    path = config_dir / "brands.yaml"
    brands: Brands = read_config(path, Brands)
    for name, brand in brands.brands.items():
        unknown = set(brand.target_niches) - set(taxonomy.niches)
        unknown_tiers = set(brand.tiers) - set(scoring.tiers)
        if unknown or unknown_tiers:
            raise ConfigError(
                f"{path}: brand {name!r} names unknown niches {sorted(unknown)} "
                f"or tiers {sorted(unknown_tiers)}"
            )
    return brands


def _settings(scoring: Scoring, brands: Brands) -> dict[str, float]:
    """Every numeric setting under a dotted name, for ``config.setting('…')`` in SQL."""
    flat: dict[str, float] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, int | float):
            # a switch is 1 (on) or 0 (off)
            flat[prefix] = float(value)

    walk("", scoring.model_dump(exclude={"tiers"}))
    walk("brand_fit", brands.fit_weights.model_dump())
    return flat


@dataclass(frozen=True)
class ConfigTable:
    """One ``config.*`` table as the models will see it: its columns and its rows."""

    columns: str
    rows: list[list]

    @property
    def digest(self) -> str:
        """SHA-256 of the columns and rows, in the order they are written: the same YAML
        gives the same digest on every run, and a model's fingerprint includes the digest
        of each config table it reads (transforms/runner.py)."""
        return hashlib.sha256(json.dumps([self.columns, self.rows]).encode()).hexdigest()


def config_tables(config_dir: Path) -> dict[str, ConfigTable]:
    """The ``config.*`` tables, by name, as the YAML files say now (validated).

    ``sources.yaml`` feeds none of them: it tells the ingest what to fetch."""
    registered = _PLATFORMS.set(platform_names())
    try:
        taxonomy, scoring = load_taxonomy(config_dir), load_scoring(config_dir)
        brands = load_brands(config_dir, taxonomy, scoring)
        sponsorship = load_sponsorship(config_dir)
    finally:
        _PLATFORMS.reset(registered)
    # switched off, no term is written: nothing matches, the platform flags still count
    disclosures = sponsorship.terms.items() if sponsorship.enabled else []
    niches = taxonomy.niches.items()
    names, bounds = list(scoring.tiers), list(scoring.tiers.values())
    brand_items = brands.brands.items()
    tables = {
        "niches": ("niche varchar, label varchar", [[n, v.label] for n, v in niches]),
        "niche_terms": (
            "niche varchar, term_type varchar, term varchar",
            [
                [name, kind, term]
                for name, niche in niches
                for kind, values in (("keyword", niche.keywords), ("hashtag", niche.hashtags))
                for term in values
            ],
        ),
        "niche_languages": (
            "niche varchar, language varchar",
            [[n, lang] for n, niche in niches for lang in niche.languages],
        ),
        "tiers": (
            "tier varchar, min_followers bigint, max_followers bigint",
            [[n, lo, hi] for n, lo, hi in zip(names, bounds, [*bounds[1:], None], strict=True)],
        ),
        "windows": (
            "window_days integer, min_own_posts integer",
            [[w, n] for w, n in sorted(scoring.engagement.min_own_posts.items())],
        ),
        "engagement_counts": (
            "platform varchar, likes boolean, comments boolean, shares boolean",
            [
                [platform, *(c in counts for c in COUNTS)]
                for platform, counts in scoring.engagement.counts.items()
            ],
        ),
        "authenticity_penalties": (
            "flag varchar, penalty double",
            [[f, p] for f, p in scoring.authenticity.penalties.items()],
        ),
        "settings": (
            "name varchar, value double",
            [[k, v] for k, v in _settings(scoring, brands).items()],
        ),
        "candidate_tier": ("tier varchar", [[scoring.candidates.tier]]),
        "brands": ("brand varchar, label varchar", [[b, v.label] for b, v in brand_items]),
        "brand_niches": (
            "brand varchar, niche varchar",
            [[b, n] for b, v in brand_items for n in v.target_niches],
        ),
        "brand_terms": (
            "brand varchar, term_type varchar, term varchar",
            [
                [b, kind, term]
                for b, v in brand_items
                for kind, terms in (
                    ("must_have", v.must_have_terms),
                    ("excluded", v.excluded_terms),
                )
                for term in terms
            ],
        ),
        "brand_platforms": (
            "brand varchar, platform varchar",
            [[b, p] for b, v in brand_items for p in v.platforms],
        ),
        "brand_tiers": (
            "brand varchar, tier varchar",
            [[b, t] for b, v in brand_items for t in v.tiers],
        ),
        "sponsorship_terms": (
            "term_type varchar, term varchar, language varchar",
            [
                [kind, term, None if language == "any" else language]
                for language, group in disclosures
                for kind, terms in (("hashtag", group.hashtags), ("phrase", group.phrases))
                for term in terms
            ],
        ),
        "sponsorship_exclusions": (
            "phrase varchar",
            [[p] for p in sponsorship.exclude_phrases] if sponsorship.enabled else [],
        ),
    }
    return {name: ConfigTable(columns, rows) for name, (columns, rows) in tables.items()}


# rows per insert statement (its parameters are bound one by one)
_ROWS_PER_INSERT = 500


def write_config_tables(conn: duckdb.DuckDBPyConnection, tables: Mapping[str, ConfigTable]) -> None:
    """Replace the ``config.*`` tables with ``tables`` (from ``config_tables``)."""
    conn.execute("create schema if not exists config")
    for name, table in tables.items():
        conn.execute(f"create or replace table config.{name} ({table.columns})")
        # one statement per table, not one per row: a statement costs ~1 ms of binding
        for start in range(0, len(table.rows), _ROWS_PER_INSERT):
            rows = table.rows[start : start + _ROWS_PER_INSERT]
            marks = ", ".join(f"({', '.join('?' * len(row))})" for row in rows)
            conn.execute(
                f"insert into config.{name} values {marks}", [v for row in rows for v in row]
            )
