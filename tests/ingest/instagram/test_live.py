"""fetch / discover against a real server on 127.0.0.1: the walks,
the archives per endpoint, the config model and the credentials."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from ingest.batch import MappedBatch
from ingest.connector import DiscoveryBatch, FetchContext, LiveBatch
from ingest.http import RawArchive
from ingest.instagram.client import InstagramAccessError
from ingest.instagram.mapping import DISCOVERY_MAPPERS, MAPPERS
from ingest.instagram.settings import InstagramSources
from ingest.instagram.source import discover, fetch
from tests.helpers.replay_server import FakeTime, ReplayServer, Reply

NOW = datetime(2026, 11, 20, 6)
ME = "17841405309211844"
TOKEN = "EAAGs3cretT0ken"
CREDENTIALS = {"access_token": TOKEN, "ig_user_id": ME}


def page(username: str, user_id: str, captions: list[str], after: str | None = None) -> Reply:
    items = [
        {
            "id": f"{user_id}{i}",
            "caption": caption,
            "comments_count": 1,
            "like_count": 9,
            "media_product_type": "FEED",
            "permalink": f"https://www.instagram.com/p/{user_id}{i}/",
            "timestamp": (NOW - timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        }
        for i, caption in enumerate(captions)
    ]
    edge: dict = {"data": items}
    if after:
        edge["paging"] = {"cursors": {"after": after}}
    profile = {"id": user_id, "username": username, "followers_count": 15_000, "media": edge}
    return Reply(body=json.dumps({"business_discovery": profile, "id": ME}))


UNKNOWN = Reply(
    400,
    json.dumps(
        {"error": {"message": "Invalid user id", "code": 110, "error_subcode": 2207013}},
    ),
)


class Archives:
    def __init__(self, root: Path) -> None:
        self.root, self.open = root, {}

    def __call__(self, endpoint: str) -> RawArchive:
        if endpoint not in self.open:
            self.open[endpoint] = RawArchive(self.root / endpoint / "run-task.jsonl.gz")
        return self.open[endpoint]

    def close(self) -> None:
        for archive in self.open.values():
            archive.close()


def _options(fake: FakeTime) -> dict:
    return {"clock": fake.clock, "sleep": fake.sleep, "timeout": 2.0, "max_attempts": 2}


def test_fetch_walks_every_account_and_rejects_an_unknown_one(tmp_path):
    with ReplayServer() as server:
        server.routes[f"/v25.0/{ME}"] = [
            page("crumbqueen", "101", ["#sourdough"] * 2, after="c1"),
            page("crumbqueen", "101", ["#crumb"]),
            UNKNOWN,
            page("loafking", "202", ["plain"]),
        ]
        sources = InstagramSources(
            base_url=f"{server.url}/v25.0", accounts=["crumbqueen", "ghost.baker", "loafking"]
        )
        since = {a: NOW - timedelta(days=7) for a in sources.accounts}
        archives = Archives(tmp_path / "raw" / "instagram")
        fake = FakeTime(NOW.timestamp())
        pages = list(
            fetch(
                sources,
                LiveBatch(platform="instagram", accounts=sources.accounts, since=since),
                FetchContext(
                    until=NOW,
                    archives=archives,
                    credentials=CREDENTIALS,
                    client_options=_options(fake),
                ),
            )
        )
        archives.close()
    assert [(endpoint, p.status) for endpoint, p in pages] == [
        ("business_discovery", 200),
        ("business_discovery", 200),
        ("business_discovery", 400),
        ("business_discovery", 200),
    ]
    batch = MappedBatch("instagram")
    for endpoint, p in pages:
        MAPPERS[endpoint](p, batch)
    assert sorted({a.handle for a in batch.accounts}) == ["crumbqueen", "loafking"]
    assert len(batch.posts) == 4
    assert [r.reason.split(":")[0] for r in batch.rejects] == ["HTTP 400 for @ghost.baker"]
    # fetched after the interval's end, the pages are dated just inside it
    assert all(p.fetched_at < NOW for _, p in pages)
    raw = tmp_path / "raw" / "instagram" / "business_discovery" / "run-task.jsonl.gz"
    assert TOKEN not in gzip.decompress(raw.read_bytes()).decode()


def test_discover_vets_untracked_candidates_under_the_cap(tmp_path):
    with ReplayServer() as server:
        server.routes[f"/v25.0/{ME}"] = [
            page("ferment.fan", "303", ["#Sourdough and #breadbaking", "#sourdough again"]),
            page("rye.riot", "404", ["no tags here"]),
        ]
        sources = InstagramSources(
            base_url=f"{server.url}/v25.0",
            accounts=["crumbqueen"],
            discovery_candidates=["crumbqueen", "@Ferment.Fan", "rye.riot", "third.one"],
            max_candidates_per_run=2,
        )
        archives = Archives(tmp_path / "raw" / "instagram")
        fake = FakeTime(NOW.timestamp())
        pages = list(
            discover(
                sources,
                DiscoveryBatch(platform="instagram"),
                FetchContext(
                    until=NOW,
                    archives=archives,
                    credentials=CREDENTIALS,
                    client_options=_options(fake),
                ),
            )
        )
        archives.close()
        asked = [parse_qs(urlsplit(s.path).query)["fields"][0] for s in server.seen]
    # crumbqueen is tracked already; third.one is past the cap of two
    assert [a.split("{")[0] for a in asked] == [
        "business_discovery.username(ferment.fan)",
        "business_discovery.username(rye.riot)",
    ]
    batch = MappedBatch("instagram")
    for endpoint, p in pages:
        DISCOVERY_MAPPERS[endpoint](p, batch)
    assert [(d.handle, d.term, d.followers) for d in batch.account_discoveries] == [
        ("ferment.fan", "#breadbaking", 15_000),
        ("ferment.fan", "#sourdough", 15_000),
    ]
    assert list(archives.open) == ["candidate_discovery"]


def test_no_candidates_means_no_client_and_no_request(tmp_path):
    # the only candidate is tracked already: nothing left to vet
    sources = InstagramSources(
        base_url="http://127.0.0.1:9", accounts=["a"], discovery_candidates=["a"]
    )
    ctx = FetchContext(until=NOW, archives=Archives(tmp_path), credentials={})
    assert list(discover(sources, DiscoveryBatch(platform="instagram"), ctx)) == []


def test_the_config_model_normalises_handles_and_refuses_what_is_not_one():
    sources = InstagramSources(accounts=["@CrumbQueen", "crumbqueen", "loaf_king.1"])
    assert sources.accounts == ["crumbqueen", "loaf_king.1"]
    assert sources.base_url == "https://graph.facebook.com/v25.0"
    with pytest.raises(ValidationError, match="not an Instagram username"):
        InstagramSources(accounts=["bad){name"])
    with pytest.raises(ValidationError, match="extra"):
        InstagramSources.model_validate({"acounts": ["typo"]})


@pytest.mark.parametrize(
    ("credentials", "sources", "says"),
    [
        ({"ig_user_id": ME}, {}, "no Instagram access token"),
        ({"access_token": TOKEN}, {}, "ig_user_id must be"),
        ({"access_token": TOKEN, "ig_user_id": "me"}, {}, "ig_user_id must be"),
    ],
)
def test_missing_credentials_fail_before_any_request(tmp_path, credentials, sources, says):
    sources = InstagramSources(base_url="http://127.0.0.1:9", accounts=["a"], **sources)
    pages = fetch(
        sources,
        LiveBatch(platform="instagram", accounts=["a"], since={"a": NOW}),
        FetchContext(until=NOW, archives=Archives(tmp_path), credentials=credentials),
    )
    with pytest.raises(InstagramAccessError, match=says) as error:
        next(pages)
    assert TOKEN not in str(error.value)


def test_the_configured_ig_user_id_wins_over_the_credential(tmp_path):
    with ReplayServer() as server:
        server.routes["/v25.0/999"] = [page("crumbqueen", "101", [])]
        sources = InstagramSources(
            base_url=f"{server.url}/v25.0", accounts=["crumbqueen"], ig_user_id="999"
        )
        archives = Archives(tmp_path)
        pages = list(
            fetch(
                sources,
                LiveBatch(platform="instagram", accounts=["crumbqueen"], since={"crumbqueen": NOW}),
                FetchContext(until=NOW, archives=archives, credentials=CREDENTIALS),
            )
        )
        archives.close()
        assert server.seen[0].path.startswith("/v25.0/999?") and pages[0][1].status == 200
