"""The rate-limit window is shared by the tasks of one platform on one machine: a task
that starts after another spent the window waits for its reset before its first request,
instead of meeting a 429 (issue #21, 7). Against a real server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ingest.bluesky.client import BlueskyClient
from ingest.mastodon.client import MastodonClient
from tests.helpers.replay_server import ReplayServer, Reply

PROFILES = json.dumps({"profiles": []})


class Clock:
    """Time that moves only when slept through (nothing really waits)."""

    def __init__(self) -> None:
        self.now, self.slept = time.time(), []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def _bluesky(server: ReplayServer, clock: Clock, state: Path | None) -> BlueskyClient:
    return BlueskyClient(server.url, clock=clock, sleep=clock.sleep, rate_state_dir=state)


def test_a_task_starting_after_another_spent_the_window_waits_for_its_reset(tmp_path: Path):
    clock = Clock()
    with ReplayServer() as server:
        spent = {"ratelimit-remaining": "0", "ratelimit-reset": str(int(clock.now) + 40)}
        server.routes["/xrpc/app.bsky.actor.getProfiles"] = [Reply(body=PROFILES, headers=spent)]
        with _bluesky(server, clock, tmp_path / "state") as first:  # one extract task
            list(first.profiles(["a.bsky.social"]))
        # the next task of the platform, a new client and limiter: its first request waits
        with _bluesky(server, clock, tmp_path / "state") as second:
            list(second.profiles(["b.bsky.social"]))
        assert len(server.seen) == 2
    assert clock.slept and 39 <= clock.slept[0] <= 40
    assert (tmp_path / "state" / "ratelimit-bluesky-127.0.0.1.json").exists()


def test_without_shared_state_the_next_task_would_not_know(tmp_path: Path):
    """The behaviour the shared state fixes: each task's limiter starts empty."""
    clock = Clock()
    with ReplayServer() as server:
        spent = {"ratelimit-remaining": "0", "ratelimit-reset": str(int(clock.now) + 40)}
        server.routes["/xrpc/app.bsky.actor.getProfiles"] = [Reply(body=PROFILES, headers=spent)]
        for actor in ("a.bsky.social", "b.bsky.social"):
            with _bluesky(server, clock, None) as task:
                list(task.profiles([actor]))
    assert clock.slept == []


def test_a_window_already_reset_or_on_another_instance_does_not_hold_a_task(tmp_path: Path):
    clock = Clock()
    with ReplayServer() as server:
        reset = (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(clock.now + 30))) + "+00:00"
        headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
        server.routes["/api/v1/accounts/lookup"] = [Reply(body='{"id": "1"}', headers=headers)]
        options = {"clock": clock, "sleep": clock.sleep, "rate_state_dir": tmp_path / "state"}
        with MastodonClient(server.url, **options) as first:
            first.lookup("a")
        # another instance (another host) has a window of its own
        other = server.url.replace("127.0.0.1", "localhost")
        with MastodonClient(other, **options) as elsewhere:
            elsewhere.lookup("b")
        assert clock.slept == []
        clock.now += 31  # the window has reset by the time the next task starts
        with MastodonClient(server.url, **options) as later:
            later.lookup("c")
    assert clock.slept == []
