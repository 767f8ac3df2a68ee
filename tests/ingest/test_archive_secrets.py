"""A secret the platform echoes inside a response (the Graph API's ``paging.next`` URLs
carry ``access_token``) never reaches the raw archive; the caller still gets the page as
sent."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ingest.http import PlatformClient, RateLimiter, RawArchive
from tests.helpers.replay_server import ReplayServer, Reply

TOKEN = "EAABsecretTOKEN42"


@pytest.fixture
def server():
    with ReplayServer() as replay:
        yield replay


def test_secrets_echoed_in_bodies_and_headers_are_not_archived(server, tmp_path: Path):
    body = {
        "data": [{"id": "1", "caption": "a reel about ?key=ordinary query text"}],
        "paging": {
            "next": f"https://graph.facebook.com/v21.0/9/media?access_token={TOKEN}&after=X"
        },
        "access_token": TOKEN,
    }
    link = f'<https://graph.facebook.com/v21.0/9/media?after=X&access_token={TOKEN}>; rel="next"'
    server.routes["/media"] = [Reply(body=json.dumps(body), headers={"Link": link})]
    archive = RawArchive(tmp_path / "raw.jsonl.gz")
    with PlatformClient(
        "instagram", server.url, RateLimiter(lambda h: (None, None)), archive
    ) as client:
        page = client.get("/media")
    archive.close()

    assert TOKEN in page.body.decode()  # the walk in memory reads what the platform sent
    archived = gzip.open(tmp_path / "raw.jsonl.gz", "rt").read()
    assert TOKEN not in archived
    assert "access_token=REDACTED&after=X" in archived
    assert "?key=ordinary query text" in archived  # only names that are always secrets
