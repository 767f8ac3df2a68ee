"""The ``radar`` command on real warehouses: the demo day (``data_dir``) and a planted
world with ranked, flagged and excluded accounts, through typer's CliRunner and, where the
whole process matters (no traceback), as a subprocess."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from radar.warehouse import connect
from radar_cli.app import app
from tests.helpers.core_builder import build_and_transform, config_with
from tests.helpers.planted_world import AS_OF, build_planted_world
from transforms.publish import publish_analyst_copy

WIDE = {"COLUMNS": "160"}  # one panel line per value, so phrases never wrap


def radar(*args: str, stdin: str | None = None):
    return CliRunner().invoke(app, list(args), input=stdin, env=WIDE)


@pytest.fixture(scope="session")
def planted_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/helpers/planted_world.py's world (seed 7), transformed as of its AS_OF."""
    folder = tmp_path_factory.mktemp("cli-planted")
    world, _ = build_planted_world(7)
    build_and_transform(world, folder / "warehouse.duckdb", config_with(folder), AS_OF)
    return folder / "warehouse.duckdb"


@pytest.fixture
def planted(planted_warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RADAR_WAREHOUSE_PATH", str(planted_warehouse))
    monkeypatch.setenv("RADAR_DATA_DIR", str(planted_warehouse.parent / "data"))
    return planted_warehouse


def test_a_sql_error_is_one_line_and_a_non_zero_exit(data_dir: Path):
    result = radar("sql", "selec * from marts.candidates")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("radar: error: Parser Error: syntax error at or near")
    missing = radar("sql", "select * from marts.no_such_mart")
    assert missing.exit_code == 1 and missing.stderr.count("\n") == 1
    assert "Catalog Error" in missing.stderr and "no_such_mart" in missing.stderr
    # read-only: a write is refused the same way
    write = radar("sql", "delete from core.accounts")
    assert write.exit_code == 1 and "read-only" in write.stderr


def test_the_installed_command_prints_no_traceback(data_dir: Path):
    for query in ("selec 1", "select 1/0::int from core.nothing"):
        done = subprocess.run(
            [sys.executable, "-m", "radar_cli", "sql", query], capture_output=True, text=True
        )
        assert done.returncode == 1
        assert done.stdout == ""
        assert done.stderr.startswith("radar: error: ") and done.stderr.count("\n") == 1
        assert "Traceback" not in done.stderr


def test_csv_round_trips_every_row_through_duckdb(data_dir: Path, tmp_path: Path):
    query = """select *, 'a "quoted", comma' as awkward, '' as empty_text,
                      null::varchar as missing, [handle, platform] as pair
               from core.accounts order by platform, account_id"""
    out = tmp_path / "accounts.csv"
    result = radar("sql", query, "--output", str(out))
    assert result.exit_code == 0, result.stderr
    assert f"wrote 26 row(s) to {out}" in result.stderr
    with connect(data_dir / "warehouse.duckdb", read_only=True) as conn:
        original = conn.execute(query)
        types = {c[0]: str(c[1]) for c in original.description}
        expected = original.fetchall()
        types["pair"] = "VARCHAR"  # a list travels as its JSON text
        read = conn.execute(
            "select * from read_csv(?, header = true, columns = ?, allow_quoted_nulls = false)",
            [str(out), types],
        ).fetchall()
    pair = list(types).index("pair")
    assert [r[:pair] for r in read] == [r[:pair] for r in expected]
    assert [json.loads(r[pair]) for r in read] == [r[pair] for r in expected]
    assert {(r[-2], r[-3]) for r in read} == {(None, "")}  # NULL and empty text stay apart
    # on stdout too, with no cap
    printed = radar("sql", "select * from core.posts", "--format", "csv")
    assert printed.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(printed.stdout)))
    with connect(data_dir / "warehouse.duckdb", read_only=True) as conn:
        (posts,) = conn.execute("select count(*) from core.posts").fetchone()
    assert len(rows) == posts > 200


def test_json_holds_every_row_and_the_table_view_says_what_it_left_out(
    data_dir: Path, tmp_path: Path
):
    out = tmp_path / "numbers.json"
    query = "select range as n, range / 4 as quarter, now()::date as day from range(250)"
    assert radar("sql", query, "-o", str(out)).exit_code == 0
    records = json.loads(out.read_text())
    assert [r["n"] for r in records] == list(range(250))
    assert records[1]["quarter"] == 0.25 and isinstance(records[0]["day"], str)
    shown = radar("sql", query, "--limit", "100")
    assert shown.exit_code == 0
    assert "150 more row(s) not shown (100 of 250)" in shown.stdout
    assert "\n│ 99 │" in shown.stdout and "│ 100 │" not in shown.stdout
    empty = radar("sql", "select 1 as n where false", "--format", "json")
    assert json.loads(empty.stdout) == []
    assert radar("sql", query, "--format", "table", "-o", str(out)).exit_code == 2


def test_the_query_comes_from_stdin_or_a_file(data_dir: Path, tmp_path: Path):
    piped = radar("sql", "--format", "json", stdin="select 42 as answer")
    assert piped.exit_code == 0 and json.loads(piped.stdout) == [{"answer": 42}]
    script = tmp_path / "q.sql"
    script.write_text("select count(*) as accounts from core.accounts;\n")
    from_file = radar("sql", "--file", str(script), "--format", "csv")
    assert from_file.stdout.splitlines() == ["accounts", "26"]
    assert radar("sql", "-", stdin="  ").exit_code == 1


def test_sql_reads_the_analyst_copy_unless_live(data_dir: Path):
    publish_analyst_copy()
    with connect(data_dir / "warehouse.duckdb") as conn:
        conn.execute("create table main.after_publish as select 1 as n")
    copy = radar("sql", "select n from main.after_publish")
    assert copy.exit_code == 1 and "after_publish" in copy.stderr  # the copy predates it
    live = radar("sql", "select n from main.after_publish", "--format", "csv", "--live")
    assert live.exit_code == 0 and live.stdout.splitlines() == ["n", "1"]


def test_explain_a_ranked_account_shows_its_rank_and_score_parts(planted: Path):
    result = radar("explain", "plant_based_cooking-true-0")
    assert result.exit_code == 0, result.stdout
    with connect(planted, read_only=True) as conn:
        rank, score, size = conn.execute(
            """select scope_rank, score, (select count(*) from marts.candidates
                   where scope_type = 'niche' and scope = 'plant_based_cooking')
               from marts.candidates where scope_type = 'niche'
               and scope = 'plant_based_cooking' and account_id = 'plant_based_cooking-true-0'"""
        ).fetchone()
    assert f"candidate, rank {rank} of {size}, score {score:.3f}" in result.stdout
    for part in ("engagement_part", "fit_part", "authenticity_part", "activity_part"):
        assert part in result.stdout
    assert "niche plant_based_cooking" in result.stdout and "brand green_oven" in result.stdout


def test_explain_a_flagged_account_names_its_flag_and_reason(planted: Path):
    result = radar("explain", "plant_based_cooking-fake-spike", "--niche", "Plant-based cooking")
    assert result.exit_code == 0, result.stdout
    assert "flags: follower_spike" in result.stdout
    assert "follower spike: +" in result.stdout and "FLAGGED" in result.stdout
    assert "brand " not in result.stdout  # --niche shows that niche only


def test_explain_an_excluded_account_names_every_rule_with_its_values(planted: Path):
    star = radar(
        "explain", "plant_based_cooking-off-niche-minority", "--niche", "plant_based_cooking"
    )
    assert star.exit_code == 0, star.stdout
    assert "not a candidate" in star.stdout
    assert "niche_share_below_minimum" in star.stdout
    assert "min_niche_share = 50.0%" in star.stdout
    assert "below the 50% minimum" in star.stdout
    nano = radar("explain", "plant_based_cooking-nano-0", "--niche", "plant_based_cooking")
    assert "outside_tier" in nano.stdout
    assert "tier = nano; required_tier = micro" in nano.stdout


def test_explain_says_when_an_account_is_unknown_ambiguous_or_has_no_row(data_dir: Path):
    unknown = radar("explain", "no_such_person")
    assert unknown.exit_code == 1 and "No account 'no_such_person'" in unknown.stdout
    # a handle on two platforms: both listed, --platform picks one
    with connect(data_dir / "warehouse.duckdb") as conn:
        conn.execute(
            "insert into core.accounts by name select * replace ('instagram' as platform,"
            " 'ig-1' as account_id) from core.accounts where handle = 'trail_tom'"
        )
    twice = radar("explain", "@trail_tom")
    assert twice.exit_code == 2 and "ambiguous" in twice.stdout and "ig-1" in twice.stdout
    assert radar("explain", "trail_tom", "--platform", "tiktok").exit_code == 0
    # a Mastodon handle without its instance, a profile URL
    local = radar("explain", "ultra_ines")
    assert local.exit_code == 0 and "candidate, rank" in local.stdout
    by_url = radar("explain", "https://mastodon.social/@ultra_ines/")
    assert by_url.exit_code == 0 and "ultra_ines@mastodon.social" in by_url.stdout
    later = radar("explain", "ultra_ines", "--as-of", "2026-11-25")
    assert later.exit_code == 1 and "No signals computed as of 2026-11-25" in later.stdout
    other_niche = radar("explain", "ultra_ines", "--niche", "houseplants")
    assert other_niche.exit_code == 1 and "has no row for niche 'houseplants'" in other_niche.stdout


def test_report_prints_every_scope_and_writes_its_rows(data_dir: Path, tmp_path: Path):
    shown = radar("report", "--top", "2")
    assert shown.exit_code == 0, shown.stderr
    for scope in ("niche houseplants", "niche trail_running", "brand green_oven"):
        assert scope in shown.stdout
    assert "Rejected records kept in meta.rejects: 3" in shown.stdout
    out = tmp_path / "top.csv"
    assert radar("report", "--top", "2", "-o", str(out)).exit_code == 0
    rows = list(csv.DictReader(out.open()))
    with connect(data_dir / "warehouse.duckdb", read_only=True) as conn:
        (expected,) = conn.execute(
            "select count(*) from marts.candidates where scope_rank <= 2"
        ).fetchone()
    assert len(rows) == expected and {r["scope_rank"] for r in rows} == {"1", "2"}


def test_generate_writes_a_replayable_feed_with_its_truth(tmp_path: Path):
    out = tmp_path / "world"
    result = radar("generate", "--out", str(out), "--accounts", "20", "--days", "3", "--seed", "5")
    assert result.exit_code == 0, result.stderr
    assert "writing the feed" in result.stderr and "3/3" in result.stderr
    assert result.stdout.startswith("wrote ") and str(out) in result.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "bluesky",
        "mastodon",
        "truth.csv",
        "world.json",
    ]
    assert json.loads((out / "world.json").read_text())["seed"] == 5
    pages = list(out.glob("mastodon/*/dt=*/part-*.jsonl"))
    assert {p.parent.name for p in pages} == {"dt=2026-08-01", "dt=2026-08-02", "dt=2026-08-03"}
    again = radar("generate", "--out", str(out), "--days", "3")
    assert again.exit_code == 1 and "is not empty" in again.stderr
    wrong = radar("generate", "--out", str(tmp_path / "x"), "--platforms", "myspace")
    assert wrong.exit_code == 1 and "unknown platform(s) ['myspace']" in wrong.stderr


def test_run_rebuilds_the_signals_for_each_day(data_dir: Path):
    result = radar("run", "--from", "2026-11-20", "--to", "2026-11-21")
    assert result.exit_code == 0, result.stderr
    assert "as of 2026-11-22 00:00:00: 32 candidate row(s)" in result.stdout
    with connect(data_dir / "warehouse.duckdb", read_only=True) as conn:
        as_ofs = conn.execute("select distinct as_of::date from marts.candidates order by 1")
        assert [str(d) for (d,) in as_ofs.fetchall()] == ["2026-11-21", "2026-11-22"]
    assert radar("run").exit_code == 2


def test_csv_of_a_large_result_streams_without_a_cap(data_dir: Path, tmp_path: Path):
    out = tmp_path / "big.csv"
    assert radar("sql", "select range as n from range(123456)", "-o", str(out)).exit_code == 0
    (rows,) = duckdb.sql(f"select count(*) from read_csv('{out}')").fetchone()
    assert rows == 123456


def test_report_html_writes_the_page_of_an_as_of_and_none_without_candidates(
    data_dir: Path, tmp_path: Path
):
    page = tmp_path / "report.html"
    result = radar("report", "--html", str(page))
    assert result.exit_code == 0, result.stderr
    assert f"wrote the HTML report as of 2026-11-21 00:00:00 to {page}" in result.stderr
    html = page.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and "<svg" in html
    assert "veganinberlin.de" in html
    empty = tmp_path / "empty.html"
    none = radar("report", "--html", str(empty), "--as-of", "2026-11-25")
    assert none.exit_code == 1 and "no candidates as of 2026-11-25" in none.stderr
    assert not empty.exists()
