"""Campaign terms keep every version: the first load holds from the campaign's start, an
undated edit closes the old version when it is first loaded, a dated one (``from:``) at
its day, also backwards; the same YAML again changes nothing. On a real DuckDB file."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from ingest.campaigns.history import load_terms
from ingest.campaigns.terms import CampaignsConfig
from radar.warehouse import apply_schema, connect
from tests.helpers.paths import ROOT

FIRST_LOAD = datetime(2026, 11, 5, 0, 0)
EDIT = datetime(2026, 11, 20, 0, 0)


def _campaign(**creator) -> dict:
    return {
        "brand": "green_oven",
        "label": "Winter loaves",
        "starts_on": "2026-11-01",
        "ends_on": "2026-11-30",
        "currency": "EUR",
        "creators": [
            {
                "platform": "mastodon",
                "handle": "crumbshot@bakers.social",
                "fee": {"type": "flat", "amount": 400},
                "codes": ["CRUMB10"],
                **creator,
            }
        ],
    }


def _config(**creator) -> CampaignsConfig:
    return CampaignsConfig.model_validate({"campaigns": {"winter": _campaign(**creator)}})


@pytest.fixture
def conn(tmp_path: Path):
    with connect(tmp_path / "warehouse.duckdb") as conn:
        apply_schema(conn, ROOT / "sql")
        yield conn


def _fees(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.execute(
        "select fee_type, fee_amount, valid_from, valid_to, observed_at "
        "from core.campaign_creators order by valid_from"
    ).fetchall()


def _codes(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.execute(
        "select code, valid_from, valid_to from core.campaign_tracking "
        "where kind = 'code' order by valid_from, code"
    ).fetchall()


def _everything(conn: duckdb.DuckDBPyConnection) -> dict[str, list]:
    tables = ["campaigns", "campaign_creators", "campaign_tracking", "fx_rates"]
    return {t: sorted(conn.execute(f"from core.{t}").fetchall(), key=repr) for t in tables}


def test_first_terms_hold_from_the_campaign_start_and_a_reload_writes_nothing(conn):
    written = load_terms(conn, _config(), FIRST_LOAD)
    assert written["core.campaign_creators"] == 1
    assert _fees(conn) == [("flat", Decimal("400.00"), datetime(2026, 11, 1), None, FIRST_LOAD)]
    before = _everything(conn)
    again = load_terms(conn, _config(), EDIT)
    assert {table: n for table, n in again.items() if n} == {}
    assert _everything(conn) == before


def test_an_undated_edit_closes_the_old_version_when_first_loaded(conn):
    load_terms(conn, _config(), FIRST_LOAD)
    load_terms(conn, _config(fee={"type": "flat", "amount": 450}), EDIT)
    assert _fees(conn) == [
        ("flat", Decimal("400.00"), datetime(2026, 11, 1), EDIT, FIRST_LOAD),
        ("flat", Decimal("450.00"), EDIT, None, EDIT),
    ]
    # the edited YAML again, a day later: the same two versions
    load_terms(conn, _config(fee={"type": "flat", "amount": 450}), datetime(2026, 11, 21))
    assert len(_fees(conn)) == 2


def test_a_dated_version_holds_from_its_day_also_when_loaded_later(conn):
    load_terms(conn, _config(), FIRST_LOAD)
    raised = [
        {"type": "flat", "amount": 400},
        {"type": "per_post", "amount": 90, "from": "2026-11-12"},
    ]
    load_terms(conn, _config(fee=raised), EDIT)
    assert _fees(conn) == [
        ("flat", Decimal("400.00"), datetime(2026, 11, 1), datetime(2026, 11, 12), FIRST_LOAD),
        ("per_post", Decimal("90.00"), datetime(2026, 11, 12), None, EDIT),
    ]


def test_dating_an_undated_edit_afterwards_moves_it_to_its_day(conn):
    load_terms(conn, _config(), FIRST_LOAD)
    load_terms(conn, _config(fee={"type": "flat", "amount": 450}), EDIT)
    dated = [{"type": "flat", "amount": 400}, {"type": "flat", "amount": 450, "from": "2026-11-15"}]
    load_terms(conn, _config(fee=dated), datetime(2026, 11, 22))
    assert [(f[1], f[2], f[3]) for f in _fees(conn)] == [
        (Decimal("400.00"), datetime(2026, 11, 1), datetime(2026, 11, 15)),
        (Decimal("450.00"), datetime(2026, 11, 15), None),
    ]


def test_a_replaced_code_keeps_both_and_a_removed_one_is_closed(conn):
    load_terms(conn, _config(), FIRST_LOAD)
    replaced = [
        {"code": "CRUMB10", "until": "2026-11-12"},
        {"code": "CRUMB15", "from": "2026-11-12"},
    ]
    load_terms(conn, _config(codes=replaced), EDIT)
    assert _codes(conn) == [
        ("CRUMB10", datetime(2026, 11, 1), datetime(2026, 11, 12)),
        ("CRUMB15", datetime(2026, 11, 12), None),
    ]
    load_terms(conn, _config(codes=[]), datetime(2026, 11, 25))
    assert _codes(conn) == [
        ("CRUMB10", datetime(2026, 11, 1), datetime(2026, 11, 12)),
        ("CRUMB15", datetime(2026, 11, 12), datetime(2026, 11, 25)),
    ]


def test_an_edit_before_the_campaign_starts_replaces_the_version_that_never_held(conn):
    load_terms(conn, _config(), datetime(2026, 10, 20))
    load_terms(conn, _config(fee={"type": "flat", "amount": 450}), datetime(2026, 10, 25))
    assert [(f[1], f[2], f[3]) for f in _fees(conn)] == [
        (Decimal("450.00"), datetime(2026, 11, 1), None)
    ]


def test_a_removed_campaign_is_closed_and_the_account_id_is_filled_without_a_version(conn):
    load_terms(conn, _config(), FIRST_LOAD)
    conn.execute(
        "insert into core.accounts (platform, account_id, handle, status, discovered_via, "
        "first_seen_at, observed_at) values ('mastodon', 'crumbshot@bakers.social', "
        "'crumbshot@bakers.social', 'active', 'tracked', ?, ?)",
        [FIRST_LOAD, FIRST_LOAD],
    )
    written = load_terms(conn, _config(), EDIT)
    assert written["account_ids"] == 1 and written["core.campaign_creators"] == 0
    assert conn.execute("select account_id from core.campaign_creators").fetchall() == [
        ("crumbshot@bakers.social",)
    ]
    load_terms(conn, CampaignsConfig(), datetime(2026, 11, 22))
    assert (
        conn.execute(
            "select valid_to from core.campaigns "
            "union all select valid_to from core.campaign_creators"
        ).fetchall()
        == [(datetime(2026, 11, 22),)] * 2
    )


def test_fx_rates_follow_the_yaml_and_keep_when_they_were_first_seen(conn):
    rates = {"fx_rates": [{"currency": "GBP", "to": "EUR", "rate": 1.15, "from": "2026-11-01"}]}
    load_terms(conn, CampaignsConfig.model_validate(rates), FIRST_LOAD)
    rates["fx_rates"].append({"currency": "GBP", "to": "EUR", "rate": 1.17, "from": "2026-11-15"})
    load_terms(conn, CampaignsConfig.model_validate(rates), EDIT)
    assert conn.execute(
        "select rate, valid_from, observed_at from core.fx_rates order by valid_from"
    ).fetchall() == [
        (1.15, datetime(2026, 11, 1).date(), FIRST_LOAD),
        (1.17, datetime(2026, 11, 15).date(), EDIT),
    ]
