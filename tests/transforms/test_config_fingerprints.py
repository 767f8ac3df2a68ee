"""Fingerprints follow what a model reads (issue #19): an edit in ``config/`` rebuilds the
incremental models that read the rows it changes, and no other.

The warehouse tests load and transform the bundled demo feed (the demo day), edit one
config file, and run the transforms again as of the same instant with nothing new loaded.
An incremental model that is rebuilt computes every post again; one that is not computes
no row, and its row in ``meta.transform_state`` keeps its fingerprint and ``rebuilt_at``.
The other tests check the fingerprints themselves, and that what the runner finds a model
reading covers everything DuckDB's own parser finds in it.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import yaml

from radar.settings import RadarSettings
from radar.warehouse import connect
from tests.helpers.paths import DEMO_INTERVAL
from tests.helpers.warehouse_helpers import query, run_pipeline
from transforms.config import config_tables, write_config_tables
from transforms.runner import (
    discover_models,
    lineage_fingerprints,
    reads,
    run_transforms,
    split_macros,
)

START, END = DEMO_INTERVAL
TEXT_MODELS = (
    "intermediate.int_post_term_hits",
    "intermediate.int_post_niche_matches",
    "intermediate.int_post_brand_terms",
)
# the text work of sponsored-post detection reads config/sponsorship.yaml only
DISCLOSURES = "intermediate.int_post_disclosure_hits"
INCREMENTAL = (*TEXT_MODELS, DISCLOSURES, "intermediate.int_post_facts")
WEIGHTS = ("engagement", "niche", "activity")


def edit_yaml(path: Path, change: Callable[[dict], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


@pytest.fixture
def demo(radar_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo day loaded and transformed with a config of its own, whose folder it returns."""
    config = tmp_path / "config"
    shutil.copytree(RadarSettings().config_dir, config)
    monkeypatch.setenv("RADAR_CONFIG_DIR", str(config))
    run_pipeline(START, END)
    return config


def transform_state() -> dict[str, tuple]:
    return {
        model: (fingerprint, rebuilt_at)
        for model, fingerprint, rebuilt_at in query(
            RadarSettings().warehouse,
            "select model, fingerprint, rebuilt_at from meta.transform_state",
        )
    }


def transform_again() -> dict[str, int]:
    """The transforms as of the demo day's end again: rows computed per model."""
    settings = RadarSettings()
    with connect(settings.warehouse) as conn:
        return run_transforms(conn, settings.sql_dir, settings.config_dir, END).rows


def table_rows(relation: str) -> int:
    return query(RadarSettings().warehouse, f"select count(*) from {relation}")[0][0]


def test_an_unchanged_config_or_a_new_tracked_account_rebuilds_nothing(demo: Path):
    built = transform_state()
    assert set(built) == set(INCREMENTAL)
    assert all(table_rows(model) > 0 for model in INCREMENTAL)

    rows = transform_again()  # the same config: stable fingerprints
    assert {m: rows[m] for m in INCREMENTAL} == dict.fromkeys(INCREMENTAL, 0)
    assert transform_state() == built

    sources = demo / "sources.yaml"
    edit_yaml(sources, lambda s: s["mastodon"]["accounts"].append("new_voice@greens.social"))
    assert "new_voice@greens.social" in sources.read_text()
    rows = transform_again()
    # sources.yaml feeds no config table: nothing computed again, nothing rebuilt
    assert {m: rows[m] for m in INCREMENTAL} == dict.fromkeys(INCREMENTAL, 0)
    assert transform_state() == built


def _candidate_scores() -> dict[tuple, tuple]:
    found = query(
        RadarSettings().warehouse,
        "select scope_type, scope, platform, account_id, score, engagement_part, fit_part, "
        "activity_part, authenticity_part from marts.candidates where as_of = ?",
        [END],
    )
    return {tuple(row[:4]): tuple(row[4:]) for row in found}


def _weighted(parts: tuple, weights: dict[str, float]) -> float:
    _, *shares, authenticity = parts
    total = sum(weights[w] * share for w, share in zip(WEIGHTS, shares, strict=True))
    return total / sum(weights.values()) * authenticity


def test_a_scoring_weight_recomputes_the_marts_and_rebuilds_no_text_model(demo: Path):
    built = transform_state()
    scoring = yaml.safe_load((demo / "scoring.yaml").read_text())
    old = scoring["candidates"]["weights"]
    before = _candidate_scores()
    assert before and all(s[0] == pytest.approx(_weighted(s, old)) for s in before.values())

    new = {**old, "activity": 0.0, "engagement": 0.8}
    edit_yaml(demo / "scoring.yaml", lambda s: s["candidates"]["weights"].update(new))
    rows = transform_again()

    assert {m: rows[m] for m in INCREMENTAL} == dict.fromkeys(INCREMENTAL, 0)
    assert transform_state() == built
    # the candidates mart reads the weights: its partition is computed with the new ones
    after = _candidate_scores()
    assert after.keys() == before.keys()
    assert all(s[0] == pytest.approx(_weighted(s, new)) for s in after.values())
    changed = [key for key in after if after[key][0] != pytest.approx(before[key][0])]
    assert len(changed) > len(after) / 2


def test_a_niche_keyword_rebuilds_the_text_models_with_it(demo: Path):
    built = transform_state()
    posts = table_rows("staging.stg_posts")
    warehouse = RadarSettings().warehouse
    # own posts with the word, matched independently of the models
    with_word = query(
        warehouse,
        "select platform, post_id from staging.stg_posts where is_own_post "
        "and contains(config.word_text(text), ' brotbacken ') order by all",
    )
    assert with_word
    assert not query(
        warehouse,
        "select 1 from intermediate.int_post_term_hits where matched_term = 'brotbacken'",
    )

    edit_yaml(
        demo / "niches.yaml",
        lambda n: n["niches"]["sourdough_baking"]["keywords"].append("brotbacken"),
    )
    rows = transform_again()

    # every post matched again; the facts read no config and are left alone
    assert rows["intermediate.int_post_niche_matches"] == posts
    assert rows["intermediate.int_post_brand_terms"] == posts
    assert rows["intermediate.int_post_term_hits"] >= posts
    assert rows["intermediate.int_post_facts"] == 0
    state = transform_state()
    assert state["intermediate.int_post_facts"] == built["intermediate.int_post_facts"]
    for model in TEXT_MODELS:
        assert state[model][0] != built[model][0]
        assert state[model][1] > built[model][1], f"{model} was not rebuilt"

    hits = query(
        warehouse,
        "select platform, post_id from intermediate.int_post_term_hits "
        "where hit_kind = 'niche' and scope = 'sourdough_baking' and matched_term = 'brotbacken' "
        "order by all",
    )
    assert hits == with_word
    matched = query(
        warehouse,
        "select platform, post_id from intermediate.int_post_niche_matches "
        "where niche = 'sourdough_baking' order by all",
    )
    assert set(with_word) <= set(matched)

    rows = transform_again()  # and the new config is stable in turn
    assert {m: rows[m] for m in INCREMENTAL} == dict.fromkeys(INCREMENTAL, 0)


# the fingerprints alone, over a copy of the shipped config: what each edit rebuilds


def _fingerprints(config: Path, sql: Path | None = None) -> dict[str, str]:
    sql = sql or RadarSettings().sql_dir
    tables = config_tables(config)
    macros = "\n;\n".join(p.read_text() for p in sorted((sql / "macros").glob("*.sql")))
    return lineage_fingerprints(
        discover_models(sql), {name: t.digest for name, t in tables.items()}, macros
    )


def _scoring(change: Callable[[dict], None]) -> Callable[[Path], None]:
    return lambda config: edit_yaml(config / "scoring.yaml", change)


def _niches(change: Callable[[dict], None]) -> Callable[[Path], None]:
    return lambda config: edit_yaml(config / "niches.yaml", lambda n: change(n["niches"]))


def _brands(change: Callable[[dict], None]) -> Callable[[Path], None]:
    return lambda config: edit_yaml(config / "brands.yaml", change)


EDITS = {
    # what the text models read: niche terms and languages, brand terms
    "niche keyword": (
        _niches(lambda n: n["houseplants"]["keywords"].append("fern")),
        {"int_post_term_hits", "int_post_niche_matches", "int_post_brand_terms"},
    ),
    "niche hashtag": (
        _niches(lambda n: n["houseplants"]["hashtags"].append("ferns")),
        {"int_post_term_hits", "int_post_niche_matches", "int_post_brand_terms"},
    ),
    "niche language": (
        _niches(lambda n: n["houseplants"].update(languages=["en"])),
        {"int_post_term_hits", "int_post_niche_matches", "int_post_brand_terms"},
    ),
    "brand term": (
        _brands(lambda b: b["brands"]["green_oven"]["excluded_terms"].append("gambling")),
        {"int_post_term_hits", "int_post_niche_matches", "int_post_brand_terms"},
    ),
    # what the sponsored-post text work reads: its terms and exclusions, or its switch
    "sponsorship hashtag": (
        lambda config: edit_yaml(
            config / "sponsorship.yaml", lambda s: s["terms"]["any"]["hashtags"].append("ads")
        ),
        {"int_post_disclosure_hits"},
    ),
    "sponsorship off": (
        lambda config: edit_yaml(config / "sponsorship.yaml", lambda s: s.update(enabled=False)),
        {"int_post_disclosure_hits"},
    ),
    # what only other models read
    "sources": (
        lambda config: edit_yaml(
            config / "sources.yaml", lambda s: s["bluesky"]["actors"].append("a.bsky.social")
        ),
        set(),
    ),
    "candidate weight": (_scoring(lambda s: s["candidates"]["weights"].update(niche=0.9)), set()),
    "authenticity threshold": (
        _scoring(lambda s: s["authenticity"].update(erratic_cv=2.5)),
        set(),
    ),
    "tier bound": (_scoring(lambda s: s["tiers"].update(micro=12000)), set()),
    "engagement counts": (
        _scoring(lambda s: s["engagement"]["counts"].update(tiktok=["likes"])),
        set(),
    ),
    "niche label": (_niches(lambda n: n["houseplants"].update(label="Plants indoors")), set()),
    "brand fit weight": (_brands(lambda b: b["fit_weights"].update(niche=0.6)), set()),
    "brand platforms": (
        _brands(lambda b: b["brands"]["green_oven"]["platforms"].append("youtube")),
        set(),
    ),
}


@pytest.mark.parametrize("edit", EDITS)
def test_an_edit_changes_the_fingerprints_of_the_incremental_models_that_read_it(
    edit: str, tmp_path: Path
):
    config = tmp_path / "config"
    shutil.copytree(RadarSettings().config_dir, config)
    before = _fingerprints(config)
    assert _fingerprints(config) == before  # stable
    change, rebuilt = EDITS[edit]
    change(config)
    after = _fingerprints(config)
    incremental = {
        m.relation
        for m in discover_models(RadarSettings().sql_dir)
        if m.materialized == "incremental"
    }
    assert {r.split(".")[1] for r in incremental if after[r] != before[r]} == rebuilt
    # sources.yaml reaches no model; every other edit here reaches some (one that is not
    # incremental is computed whole on every run anyway)
    assert (after == before) == (edit == "sources")


@pytest.mark.parametrize(
    ("macro", "rebuilt"),
    [
        # config.word_text: the text matching only
        (
            "word_text",
            {
                "int_post_term_hits",
                "int_post_niche_matches",
                "int_post_brand_terms",
                "int_post_disclosure_hits",
            },
        ),
        # config.setting: marts only
        ("setting", set()),
        # quality.post_counts_problem: the metrics, so the facts only
        ("post_counts_problem", {"int_post_facts"}),
    ],
)
def test_a_macro_edit_rebuilds_the_models_that_call_it(
    macro: str, rebuilt: set[str], tmp_path: Path
):
    sql = tmp_path / "sql"
    shutil.copytree(RadarSettings().sql_dir, sql)
    config = RadarSettings().config_dir
    before = _fingerprints(config, sql)
    edited = []
    for path in sorted((sql / "macros").glob("*.sql")):
        text = path.read_text()
        statement = split_macros(text)[0].get(macro)
        if statement is not None:  # its body changed (a comment: however the SQL is laid out)
            assert statement in text
            changed = re.sub(r"\)\s+as\b", ") as /* edited */", statement, count=1, flags=re.I)
            assert changed != statement
            path.write_text(text.replace(statement, changed))
            edited.append(path)
    assert len(edited) == 1
    after = _fingerprints(config, sql)
    incremental = {m.relation for m in discover_models(sql) if m.materialized == "incremental"}
    assert {r.split(".")[1] for r in incremental if after[r] != before[r]} == rebuilt
    assert after != before


def _parsed_references(conn: duckdb.DuckDBPyConnection, select: str) -> tuple[set, set]:
    """Tables and functions a SELECT names, as (schema, name), by DuckDB's own parser."""
    tree = json.loads(conn.execute("select json_serialize_sql(?)", [select]).fetchone()[0])
    assert not tree["error"], tree
    tables, functions = set(), set()

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE":
                tables.add((node["schema_name"].lower(), node["table_name"].lower()))
            if "function_name" in node:
                functions.add((node.get("schema", "").lower(), node["function_name"].lower()))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return tables, functions


def test_what_a_model_reads_covers_what_duckdbs_parser_finds(tmp_path: Path):
    """The runner finds config reads and macro calls by name; DuckDB's parser must find
    nothing more, in any model, its `let` lines, or the macros it calls (recursively)."""
    settings = RadarSettings()
    macro_files = sorted((settings.sql_dir / "macros").glob("*.sql"))
    definitions, _ = split_macros("\n;\n".join(p.read_text() for p in macro_files))
    conn = duckdb.connect()
    write_config_tables(conn, config_tables(settings.config_dir))
    for path in macro_files:
        conn.execute(path.read_text())
    macros = {
        (schema, name): body
        for schema, name, body in conn.execute(
            "select schema_name, function_name, macro_definition from duckdb_functions() "
            "where function_type = 'macro' and schema_name in ('config', 'quality')"
        ).fetchall()
    }
    assert {name for _, name in macros} == set(definitions)

    found_somewhere = set()
    for model in discover_models(settings.sql_dir):
        selects = [model.sql, *(f"select {expression}" for _, expression in model.lets)]
        tables, functions = set(), set()
        for select in selects:
            t, f = _parsed_references(conn, select)
            tables |= t
            functions |= f
        pending = sorted(functions & macros.keys())
        called = set()
        while pending:
            macro = pending.pop()
            called.add(macro)
            t, f = _parsed_references(conn, f"select {macros[macro]}")
            tables |= t
            pending += sorted((f & macros.keys()) - called)
        runner_called, runner_config = reads(model.sql, definitions)
        parsed_config = {name for schema, name in tables if schema == "config"}
        assert parsed_config <= set(runner_config), model.relation
        assert {name for _, name in called} <= set(runner_called), model.relation
        found_somewhere |= parsed_config
    # not vacuous: the term hits read the niche and brand terms
    assert {"niche_terms", "niche_languages", "brand_terms", "settings"} <= found_somewhere
