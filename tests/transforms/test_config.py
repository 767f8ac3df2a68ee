"""Config files fail loudly and precisely; tiers may be listed in any order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from radar.settings import RadarSettings
from transforms.config import ConfigError, load_brands, load_scoring, load_taxonomy


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(RadarSettings().config_dir, target)
    return target


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_the_shipped_config_loads(config: Path):
    taxonomy, scoring = load_taxonomy(config), load_scoring(config)
    assert load_brands(config, taxonomy, scoring).brands
    assert list(scoring.tiers) == ["nano", "micro", "mid", "macro", "mega"]


def test_a_yaml_syntax_error_reads_as_pure_python_pyyaml_words_it(config: Path):
    """The files are parsed by libyaml when PyYAML has it; its error messages are terser
    (no quoted line), so a broken file is read again by the pure-Python parser."""
    text = (config / "scoring.yaml").read_text()
    (config / "scoring.yaml").write_text(text.replace("tiers:", "tiers: [nano,", 1))
    try:
        yaml.safe_load((config / "scoring.yaml").read_text())
    except yaml.YAMLError as exc:
        expected = " ".join(str(exc).split())  # one line: the quoted line and caret too
    assert "^" in expected
    with pytest.raises(ConfigError) as raised:
        load_scoring(config)
    assert str(raised.value) == f"{config / 'scoring.yaml'}: {expected}"


def test_a_misspelt_setting_names_the_file_and_the_field(config: Path):
    _edit(config / "scoring.yaml", lambda d: d["candidates"].update(min_nich_share=0.3))
    with pytest.raises(
        ConfigError, match=r"(?s)scoring\.yaml.*candidates.min_nich_share.*Extra inputs"
    ):
        load_scoring(config)


def test_tiers_are_ordered_by_their_bounds(config: Path):
    _edit(
        config / "scoring.yaml",
        lambda d: d.update(tiers={"micro": 10_000, "nano": 0, "mid": 100_000}),
    )
    assert list(load_scoring(config).tiers) == ["nano", "micro", "mid"]


def test_a_brand_naming_an_unknown_niche_is_refused(config: Path):
    _edit(
        config / "brands.yaml",
        lambda d: d["brands"]["green_oven"].update(target_niches=["knitting"]),
    )
    with pytest.raises(ConfigError, match="(?s)green_oven.*knitting"):
        load_brands(config, load_taxonomy(config), load_scoring(config))


def test_a_niche_without_terms_is_refused(config: Path):
    _edit(config / "niches.yaml", lambda d: d["niches"].update(empty={"label": "Empty"}))
    with pytest.raises(ConfigError, match="at least one keyword or hashtag"):
        load_taxonomy(config)


def test_engagement_counts_name_known_counts_and_always_likes(config: Path):
    assert load_scoring(config).engagement.counts["youtube"] == ["likes", "comments"]
    _edit(config / "scoring.yaml", lambda d: d["engagement"]["counts"].update(tiktok=["views"]))
    with pytest.raises(ConfigError, match=r"(?s)engagement.counts.tiktok.*likes"):
        load_scoring(config)
    _edit(config / "scoring.yaml", lambda d: d["engagement"]["counts"].update(tiktok=["shares"]))
    with pytest.raises(ConfigError, match="always counts likes"):
        load_scoring(config)


def test_engagement_counts_of_an_unknown_platform_are_refused(config: Path):
    _edit(
        config / "scoring.yaml",
        lambda d: d["engagement"]["counts"].update(Youtube=["likes", "comments"]),
    )
    with pytest.raises(ConfigError, match=r"(?s)engagement.counts.Youtube"):
        load_scoring(config)
    _edit(config / "scoring.yaml", lambda d: d["engagement"]["counts"].pop("Youtube"))
    _edit(config / "scoring.yaml", lambda d: d["engagement"]["counts"].update(youtub=["likes"]))
    with pytest.raises(ConfigError, match=r"unknown platform\(s\) \['youtub'\]; known: bluesky"):
        load_scoring(config)


def test_a_brand_on_an_unregistered_platform_is_refused(config: Path):
    _edit(
        config / "brands.yaml",
        lambda d: d["brands"]["green_oven"].update(platforms=["mastodon", "mastadon"]),
    )
    with pytest.raises(ConfigError, match=r"(?s)green_oven.*unknown platform.*'mastadon'"):
        load_brands(config, load_taxonomy(config), load_scoring(config))


@pytest.mark.parametrize(
    ("keyword", "message"),
    [
        ("c++", r"'c\+\+' would match every post with the word 'c'"),
        ("a", r"'a' would match every post with the word 'a'"),
        ("", r"'' has no letters or digits to match"),
        ("++", r"'\+\+' has no letters or digits to match"),
        ("c# developer", r"'c# developer' is matched as the words 'c developer'"),
    ],
)
def test_keywords_that_would_match_other_than_meant_are_refused(
    config: Path, keyword: str, message: str
):
    _edit(config / "niches.yaml", lambda d: d["niches"]["houseplants"]["keywords"].append(keyword))
    with pytest.raises(ConfigError, match=rf"niches\.yaml.*{message}"):
        load_taxonomy(config)


def test_brand_terms_and_empty_hashtags_are_checked_too(config: Path):
    taxonomy, scoring = load_taxonomy(config), load_scoring(config)

    def add_term(d: dict) -> None:
        next(iter(d["brands"].values()))["excluded_terms"] = ["x"]

    _edit(config / "brands.yaml", add_term)
    with pytest.raises(ConfigError, match=r"brands\.yaml.*'x' would match every post"):
        load_brands(config, taxonomy, scoring)
    _edit(config / "niches.yaml", lambda d: d["niches"]["houseplants"]["hashtags"].append("#"))
    with pytest.raises(ConfigError, match="an empty hashtag matches nothing"):
        load_taxonomy(config)


def test_separators_inside_terms_are_fine(config: Path):
    def add(d: dict) -> None:
        d["niches"]["houseplants"]["keywords"] += ["node.js", "plant-based", "don't", "茶"]

    _edit(config / "niches.yaml", add)
    assert "node.js" in load_taxonomy(config).niches["houseplants"].keywords
