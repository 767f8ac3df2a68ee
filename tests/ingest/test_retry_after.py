"""A 429 or 5xx with ``Retry-After`` is retried no sooner than the platform asked, on a
real server on 127.0.0.1 and the real clock."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from ingest.http import PlatformClient, RateLimiter, RetriesExhausted
from tests.helpers.replay_server import ReplayServer, Reply


@pytest.fixture
def server():
    with ReplayServer() as replay:
        yield replay


def _client(server: ReplayServer, **kwargs) -> PlatformClient:
    return PlatformClient(
        "test", server.url, RateLimiter(lambda headers: (None, None)), max_attempts=3, **kwargs
    )


@pytest.mark.parametrize("status", [429, 503])
def test_a_retry_waits_the_seconds_retry_after_asks(server: ReplayServer, status: int):
    server.routes["/v"] = [Reply(status, "{}", headers={"Retry-After": "2"}), Reply(body="{}")]
    with _client(server) as client:
        client.get("/v")
    first, second = server.seen
    # jittered backoff alone would retry after about half a second
    assert second.at - first.at >= 2.0


def test_a_retry_waits_until_the_http_date_retry_after_names(server: ReplayServer):
    import time

    until = formatdate(time.time() + 3, usegmt=True)  # whole seconds: 2 to 3 s from now
    server.routes["/v"] = [Reply(429, "{}", headers={"Retry-After": until}), Reply(body="{}")]
    with _client(server) as client:
        client.get("/v")
    first, second = server.seen
    assert second.at - first.at >= 1.9


def test_a_retry_after_past_what_a_task_waits_gives_up_without_asking_again(
    server: ReplayServer,
):
    server.routes["/v"] = [Reply(429, "{}", headers={"Retry-After": "3600"}), Reply(body="{}")]
    with _client(server, max_retry_after=60) as client:
        with pytest.raises(RetriesExhausted, match="asks to retry after 3600 s"):
            client.get("/v")
    assert len(server.seen) == 1
