"""config/campaigns.yaml is validated strictly: every mistake is one ConfigError naming the
file and the field, and the terms come out in the form the exports are matched in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from ingest.campaigns.terms import read_campaigns, tracking_keys
from radar.errors import ConfigError
from tests.helpers.paths import ROOT

CAMPAIGN = {
    "brand": "green_oven",
    "label": "Winter loaves",
    "starts_on": "2026-11-01",
    "ends_on": "2026-11-30",
    "budget": 1000,
    "currency": "EUR",
    "creators": [
        {
            "platform": "mastodon",
            "handle": "@Crumbshot@bakers.social",
            "fee": {"type": "flat", "amount": 400},
            "codes": ["crumb10"],
            "links": [
                {"url": "https://shop.example/?utm_source=Mastodon&utm_campaign=Winter"},
                {"short": "HTTPS://Grn.OV/Crumb/"},
            ],
            "hashtags": ["#GreenOvenWinter"],
        }
    ],
}


def _config_dir(tmp_path: Path, document: dict) -> Path:
    config = tmp_path / "config"
    config.mkdir(parents=True)
    shutil.copy(ROOT / "config" / "brands.yaml", config / "brands.yaml")
    (config / "campaigns.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return config


def _with(path: list, value) -> dict:
    """CAMPAIGN as one campaign ``winter``, with the value at ``path`` replaced (None
    removes it)."""
    document = yaml.safe_load(yaml.safe_dump({"campaigns": {"winter": CAMPAIGN}}))
    target = document["campaigns"]["winter"]
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


def test_the_bundled_campaigns_validate_with_creators_of_the_demo_feed():
    config = read_campaigns(ROOT / "config")
    assert set(config.campaigns) == {"winter_loaves", "autumn_trails"}
    creators = {c.handle for c in config.campaigns["winter_loaves"].creators}
    assert "crumbshot@bakers.social" in creators and "ofenfrisch.bsky.social" in creators


def test_values_are_kept_as_the_exports_are_matched(tmp_path: Path):
    config = read_campaigns(_config_dir(tmp_path, _with(["label"], "Winter loaves")))
    (creator,) = config.campaigns["winter"].creators
    assert creator.handle == "crumbshot@bakers.social"
    assert tracking_keys(creator) == [
        ("code", "CRUMB10", None, None, None, None, None, None),
        ("utm", None, "mastodon", None, "winter", None, None, None),
        ("short_link", None, None, None, None, None, "grn.ov/Crumb", None),
        ("hashtag", None, None, None, None, None, None, "greenovenwinter"),
    ]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["budgte"], 5, "campaigns.winter.budgte: Extra inputs are not permitted"),
        (["brand"], "blue_oven", "campaigns.winter.brand: unknown brand 'blue_oven'"),
        (["currency"], "euro", "campaigns.winter.currency: String should match pattern"),
        (["ends_on"], "2026-10-01", "ends_on 2026-10-01 is before starts_on 2026-11-01"),
        (["creators", 0, "platform"], "myspace", "unknown platform 'myspace'"),
        (["creators", 0, "handle"], "crumbshot", "mastodon handle 'crumbshot' must be user@"),
        (["creators", 0, "fee"], {"type": "flat"}, "a flat fee needs `amount`"),
        (["creators", 0, "fee"], {"type": "commission"}, "a commission fee needs `rate`"),
        (
            ["creators", 0, "fee"],
            [{"type": "flat", "amount": 1}, {"type": "flat", "amount": 2}],
            "every fee version after the first needs `from:`",
        ),
        (
            ["creators", 0, "fee"],
            [
                {"type": "flat", "amount": 1, "from": "2026-11-10"},
                {"type": "flat", "amount": 2, "from": "2026-11-05"},
            ],
            "fee versions must start on increasing days",
        ),
        (["creators", 0, "fee", "amount"], 12.345, "campaigns.winter.creators.0.fee.0.amount"),
        (
            ["creators", 0, "links"],
            [{"url": "https://shop.example/?utm_medium=social"}],
            "has no utm_source or utm_campaign",
        ),
        (["creators", 0, "links"], [{"short": "https://grn.ov/"}], "has no path"),
        (["creators", 0, "codes"], ["A, B"], "holds a comma"),
        (
            ["creators", 0, "codes"],
            [{"code": "X", "from": "2026-11-10", "until": "2026-11-10"}],
            "until 2026-11-10 is not after from 2026-11-10",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_mistake_names_the_file_and_the_field(tmp_path: Path, path, value, message):
    config_dir = _config_dir(tmp_path, _with(path, value))
    with pytest.raises(ConfigError) as raised:
        read_campaigns(config_dir)
    assert str(raised.value).startswith(f"{config_dir / 'campaigns.yaml'}: ")
    assert message in str(raised.value)


def test_a_code_of_two_creators_is_refused(tmp_path: Path):
    document = _with(["label"], "Winter loaves")
    second = {**CAMPAIGN["creators"][0], "handle": "ofenfrisch.bsky.social", "platform": "bluesky"}
    second["links"] = []
    document["campaigns"]["winter"]["creators"].append(second)
    with pytest.raises(ConfigError, match="code 'CRUMB10' belongs to both mastodon:crumbshot"):
        read_campaigns(_config_dir(tmp_path, document))


def test_a_code_of_two_campaigns_at_once_is_refused_but_not_in_turn(tmp_path: Path):
    document = _with(["label"], "Winter loaves")
    later = yaml.safe_load(yaml.safe_dump(CAMPAIGN))
    later["starts_on"], later["ends_on"] = "2026-11-20", "2026-12-20"
    document["campaigns"]["spring"] = later
    with pytest.raises(ConfigError, match="belongs to campaigns spring and winter, whose dates"):
        read_campaigns(_config_dir(tmp_path, document))
    later["starts_on"] = "2026-12-01"
    assert set(read_campaigns(_config_dir(tmp_path / "2", document)).campaigns) == {
        "winter",
        "spring",
    }


def test_no_campaigns_file_is_no_campaigns(tmp_path: Path):
    assert read_campaigns(tmp_path).campaigns == {}
