"""A real HTTP server on 127.0.0.1 that replays scripted platform responses and faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeTime:
    """A clock that moves only when the code under test sleeps: rate-limit waits are
    asserted, not waited out."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@dataclass
class Reply:
    status: int = 200
    body: str = "{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)
    truncate_at: int | None = None  # send only this many body bytes, then hang up


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    at: float
    method: str = "GET"
    body: bytes = b""


class ReplayServer:
    """``routes[path]`` is a list of replies served in turn; the last one repeats.
    ``handlers[path]`` (path without its query) answers from the request instead, for
    answers that depend on it (which posts a getPosts asks for); routes win."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.handlers: dict[str, Callable[[Seen], Reply]] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                try:
                    self._reply()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (a timeout test): nothing to answer

            def do_POST(self) -> None:  # noqa: N802
                self.do_GET()

            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.path, dict(self.headers), time.monotonic(), self.command, body)
                server.seen.append(seen)
                path = self.path if self.path in server.routes else self.path.split("?")[0]
                replies = server.routes.get(path) or [Reply(404, '{"error":"Record not found"}')]
                reply = replies.pop(0) if len(replies) > 1 else replies[0]
                if path not in server.routes and path in server.handlers:
                    reply = server.handlers[path](seen)
                time.sleep(reply.delay)
                data = reply.body.encode()
                self.send_response(reply.status)
                if "Content-Type" not in reply.headers:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if reply.truncate_at is not None:
                    self.wfile.write(data[: reply.truncate_at])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        # shutdown() waits for serve_forever's next poll: 0.5 s by default, at every teardown
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
