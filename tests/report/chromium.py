"""A small Chrome DevTools Protocol client for Debian's headless chromium, over a pipe.

Chromium started with --remote-debugging-pipe reads protocol messages on its file descriptor 3
and writes its answers and events on 4, each a JSON object ended by a NUL byte. That is all the
tests need: no port is opened, no driver binary or browser is downloaded and no package is
added (Selenium would bring its own manager, which looks for drivers on the network). The
browser is told to resolve no host name, so it makes no request even of its own.

    with Chromium.start() as browser:
        page = browser.open(Path("report.html"))
        page.evaluate("document.title")
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Debian's binary itself first: its /usr/bin/chromium wrapper adds flags of its own (extensions,
# GPU rasterisation) that a test run does not want.
CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome")
_FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-pipe",
)


class BrowserError(Exception):
    pass


def find_chromium() -> str | None:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass
class Chromium:
    process: subprocess.Popen[bytes]
    commands: int  # our end of its fd 3
    answers: int  # our end of its fd 4
    profile: tempfile.TemporaryDirectory[str]
    _buffer: bytes = b""
    _next: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    @contextmanager
    def start(cls, executable: str | None = None, timeout: float = 30.0) -> Iterator[Chromium]:
        binary = executable or find_chromium()
        if binary is None:
            raise BrowserError("chromium is not installed")
        to_browser, commands = os.pipe()
        answers, from_browser = os.pipe()
        profile = tempfile.TemporaryDirectory(prefix="envguard-chromium-")

        def descriptors() -> None:  # in the child, before exec: its fd 3 and 4
            # Copies first: the pipes may themselves be 3 and 4, and dup2 onto the same
            # descriptor would keep its close-on-exec flag.
            read, write = os.dup(to_browser), os.dup(from_browser)
            os.dup2(read, 3)
            os.dup2(write, 4)

        process = subprocess.Popen(
            [binary, *_FLAGS, f"--user-data-dir={profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,  # Python's own descriptors are not inheritable (PEP 446); 3 and 4 are
            preexec_fn=descriptors,
        )
        os.close(to_browser)
        os.close(from_browser)
        browser = cls(process, commands, answers, profile)
        try:
            browser.call("Browser.getVersion", timeout=timeout)
            yield browser
        finally:
            browser.close()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.call("Browser.close", timeout=5)
            except (BrowserError, OSError):
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for fd in (self.commands, self.answers):
            try:
                os.close(fd)
            except OSError:
                pass
        self.profile.cleanup()

    # --- the protocol

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = 30.0) -> Any:
        self._next += 1
        ident = self._next
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode("utf-8") + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == ident:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            if "method" in answer:
                self.events.append(answer)

    def wait_for(self, method: str, session: str | None, timeout: float = 30.0) -> dict[str, Any]:
        """The first event `method` of `session` not yet waited for."""
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event["method"] == method and event.get("sessionId") == session:
                    return self.events.pop(index)
            event = self._read(deadline)
            if "method" in event:
                self.events.append(event)

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("chromium did not answer in time")
            ready, _, _ = select.select([self.answers], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.answers, 1 << 20)
            if not chunk:
                raise BrowserError(f"chromium exited ({self.process.poll()})")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        found: dict[str, Any] = json.loads(message)
        return found

    def open(self, path: Path | None, width: int = 1400, height: int = 1000, timeout: float = 30.0) -> Page:
        """A new tab showing `path` once its load event has fired (None: a blank tab)."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, target)
        for domain in ("Page", "Runtime", "Log"):
            page.call(f"{domain}.enable")
        page.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        if path is not None:
            page.navigate(path, timeout)
        return page


@dataclass
class Page:
    browser: Chromium
    session: str
    target: str

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
        return self.browser.call(method, params, self.session, timeout)

    def navigate(self, path: Path, timeout: float = 30.0) -> float:
        """Load `path`; the seconds until its load event and the report's script are done."""
        started = time.monotonic()
        self.call("Page.navigate", {"url": path.resolve().as_uri()})
        self.browser.wait_for("Page.loadEventFired", self.session, timeout)
        # Then one frame: the page has been laid out and painted once.
        self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        return time.monotonic() - started

    def evaluate(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def press(self, key: str, code: int, modifiers: int = 0) -> None:
        """A real key press (trusted events, default actions included: Tab moves the focus)."""
        for kind in ("rawKeyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code, "modifiers": modifiers})

    def type(self, text: str) -> None:
        self.call("Input.insertText", {"text": text})

    def problems(self) -> list[str]:
        """What the page logged as errors (CSP violations among them) or threw, so far."""
        found = []
        kept = []
        for event in self.browser.events:
            if event.get("sessionId") != self.session:
                kept.append(event)
            elif event["method"] == "Log.entryAdded" and event["params"]["entry"]["level"] == "error":
                found.append(event["params"]["entry"]["text"])
            elif event["method"] == "Runtime.exceptionThrown":
                found.append(json.dumps(event["params"]["exceptionDetails"]))
            elif event["method"] == "Runtime.consoleAPICalled" and event["params"]["type"] == "error":
                found.append(json.dumps(event["params"]["args"]))
            else:
                kept.append(event)
        self.browser.events[:] = kept
        return found

    def screenshot(self, full_page: bool = True) -> bytes:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.call("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
            params["captureBeyondViewport"] = True
        return base64.b64decode(self.call("Page.captureScreenshot", params)["data"])

    def close(self) -> None:
        self.browser.call("Target.closeTarget", {"targetId": self.target})
