"""Niche taxonomy and scoring settings: YAML in ``config/`` → ``config.*`` tables.

Loaded at the start of every transform run, so an edit takes effect on the next run
without fetching anything.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingest.text import normalize_tag


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Niche(_Strict):
    label: str
    keywords: list[str] = []
    hashtags: list[str] = []
    languages: list[str] = []

    @field_validator("hashtags")
    @classmethod
    def _normalise(cls, tags: list[str]) -> list[str]:
        return sorted({normalize_tag(t) for t in tags})

    @model_validator(mode="after")
    def _has_terms(self) -> Niche:
        if not self.keywords and not self.hashtags:
            raise ValueError("a niche needs at least one keyword or hashtag")
        return self


class Taxonomy(_Strict):
    niches: dict[str, Niche] = Field(min_length=1)


class Weights(_Strict):
    engagement: float = Field(ge=0)
    niche: float = Field(ge=0)
    activity: float = Field(ge=0)


class Scoring(_Strict):
    tiers: dict[str, int]
    candidate_tier: str
    min_own_posts_30d: int = Field(ge=1)
    min_niche_share: float = Field(ge=0, le=1)
    target_posts_30d: int = Field(ge=1)
    weights: Weights

    @model_validator(mode="after")
    def _tiers_ok(self) -> Scoring:
        bounds = list(self.tiers.values())
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds) or bounds[0] != 0:
            raise ValueError("tier bounds must start at 0 and strictly increase")
        if self.candidate_tier not in self.tiers:
            raise ValueError(f"candidate_tier {self.candidate_tier!r} is not one of the tiers")
        return self


class ConfigError(ValueError):
    pass


def _read(path: Path, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise ConfigError(f"missing config file {path}") from exc
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def load_taxonomy(config_dir: Path) -> Taxonomy:
    return _read(config_dir / "niches.yaml", Taxonomy)  # type: ignore[return-value]


def load_scoring(config_dir: Path) -> Scoring:
    return _read(config_dir / "scoring.yaml", Scoring)  # type: ignore[return-value]


def write_config_tables(conn: duckdb.DuckDBPyConnection, config_dir: Path) -> None:
    """Replace the ``config.*`` tables with what the YAML files say now."""
    taxonomy, scoring = load_taxonomy(config_dir), load_scoring(config_dir)
    conn.execute("create schema if not exists config")
    conn.execute("create or replace table config.niches (niche varchar primary key, label varchar)")
    conn.execute(
        "create or replace table config.niche_terms "
        "(niche varchar, term_type varchar, term varchar)"
    )
    conn.execute("create or replace table config.niche_languages (niche varchar, language varchar)")
    conn.execute(
        "create or replace table config.tiers "
        "(tier varchar, min_followers bigint, max_followers bigint)"
    )
    conn.execute("create or replace table config.settings (name varchar primary key, value double)")
    conn.executemany(
        "insert into config.niches values (?, ?)",
        [[name, niche.label] for name, niche in taxonomy.niches.items()],
    )
    terms = [
        [name, kind, term]
        for name, niche in taxonomy.niches.items()
        for kind, values in (("keyword", niche.keywords), ("hashtag", niche.hashtags))
        for term in values
    ]
    conn.executemany("insert into config.niche_terms values (?, ?, ?)", terms)
    languages = [[n, lang] for n, niche in taxonomy.niches.items() for lang in niche.languages]
    if languages:
        conn.executemany("insert into config.niche_languages values (?, ?)", languages)
    names, bounds = list(scoring.tiers), list(scoring.tiers.values())
    conn.executemany(
        "insert into config.tiers values (?, ?, ?)",
        [[n, lo, hi] for n, lo, hi in zip(names, bounds, [*bounds[1:], None], strict=True)],
    )
    settings = {
        "min_own_posts_30d": scoring.min_own_posts_30d,
        "min_niche_share": scoring.min_niche_share,
        "target_posts_30d": scoring.target_posts_30d,
        "weight_engagement": scoring.weights.engagement,
        "weight_niche": scoring.weights.niche,
        "weight_activity": scoring.weights.activity,
    }
    conn.executemany(
        "insert into config.settings values (?, ?)", [[k, v] for k, v in settings.items()]
    )
    conn.execute(
        "create or replace table config.candidate_tier as select ? as tier",
        [scoring.candidate_tier],
    )
