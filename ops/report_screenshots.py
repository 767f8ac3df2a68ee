"""Screenshots of the HTML candidate report, for the README (``make screenshots``).

    python -m ops.report_screenshots data/exports/candidates-2026-11-21.html \\
        --niche sourdough-baking --account mastodon-crumbshot-bakers-social --out docs/img

Headless Chromium (the Debian package) opens the report and captures one niche's section
and one candidate's page, each clipped to its element. The browser is driven over the
DevTools protocol on a pipe (``--remote-debugging-pipe``: no port, no extra library); it
is started here and stopped by its process group.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import click

CHROMIUM = "/usr/bin/chromium"


class Chromium:
    """One headless Chromium tab, driven over the DevTools protocol's pipe transport
    (JSON messages ending in a NUL byte, commands on fd 3, answers on fd 4)."""

    def __init__(self, profile: Path, proxy_port: int | None = None, width: int = 1200) -> None:
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()

        def child_fds() -> None:
            # via fds above 4 first: either pipe end may itself be fd 3 or 4
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (commands_read, answers_write)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        args = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            f"--window-size={width},900",
        ]
        if proxy_port is not None:
            # every http(s) request goes to this port; loopback is never proxied
            args += [
                f"--proxy-server=http://127.0.0.1:{proxy_port}",
                "--proxy-bypass-list=<-loopback>",
            ]
        # the startup tab's URL: without one, Debian's Chromium 156 opens its new-tab page,
        # which fetches its search engine's start page (start.duckduckgo.com)
        args.append("about:blank")
        self.process = subprocess.Popen(
            args,
            preexec_fn=child_fds,
            close_fds=False,  # fds 3 and 4 are the protocol's pipe (Python's own: no inherit)
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.close(commands_read)
        os.close(answers_write)
        self._buffer, self._next_id, self.width = b"", 0, width
        target = self._call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self._call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for fd in (self._commands, self._answers):
            try:
                os.close(fd)
            except OSError:
                pass

    def _call(self, method: str, session: str | None = None, **params: Any) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._answers, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium closed its pipe during {method}")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def call(self, method: str, **params: Any) -> dict:
        """A command to the page's session."""
        return self._call(method, self._session, **params)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def open(self, url: str, timeout: float = 60) -> None:
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while self.evaluate("document.readyState") != "complete":
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not finish loading in {timeout} s")
            time.sleep(0.1)

    def dom(self) -> str:
        return self.evaluate("document.documentElement.outerHTML")

    def screenshot(self, selector: str, path: Path, max_height: int = 1400, pad: int = 12) -> Path:
        """A PNG of the element ``selector`` names with ``pad`` pixels around it (its top
        ``max_height`` pixels)."""
        box = self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect();"
            " return [r.left + scrollX, r.top + scrollY, r.width, r.height]; })()"
        )
        x, y, width, height = box
        x, y = max(x - pad, 0), max(y - pad, 0)
        height = min(height + 2 * pad, max_height)
        clip = {"x": x, "y": y, "width": width + 2 * pad, "height": height, "scale": 1}
        shot = self.call(
            "Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


def capture(report: Path, niche: str, account: str, out: Path, profile: Path) -> list[Path]:
    """The niche's section and the candidate's page of ``report`` as PNGs in ``out``."""
    with Chromium(profile) as browser:
        browser.open(report.resolve().as_uri())
        return [
            browser.screenshot(f"#niche-{niche}", out / "report-niche.png"),
            browser.screenshot(f"#account-{account}", out / "report-candidate.png"),
        ]


@click.command()
@click.argument("report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--niche", default="sourdough-baking", show_default=True)
@click.option("--account", default="mastodon-crumbshot-bakers-social", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("docs/img"))
def main(report: Path, niche: str, account: str, out: Path) -> None:
    """Screenshots of REPORT's niche section and candidate page."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="radar-chromium-") as profile:
        for path in capture(report, niche, account, out, Path(profile)):
            click.echo(f"{path} ({path.stat().st_size / 1000:.0f} kB)")


if __name__ == "__main__":
    main()
