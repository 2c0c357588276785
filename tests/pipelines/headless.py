"""Headless Chromium driven over the DevTools protocol, for tests that open a page.

Debian's ``chromium`` is started with a fresh profile and ``--remote-debugging-port=0``;
the port it picked is read from the profile's ``DevToolsActivePort``, and one page
target is driven with ``websocket-client``. Console errors, uncaught exceptions, log
errors, JavaScript dialogs (``alert``) and every network request are recorded as events.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
]


@dataclass
class PageEvents:
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


class Browser:
    """One Chromium process and one page; use as a context manager (stops it by pid)."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 900) -> None:
        self.profile, self.width, self.height = profile, width, height
        self.events = PageEvents()
        self._id = 0

    def __enter__(self) -> Browser:
        import websocket

        if self.profile.exists():
            shutil.rmtree(self.profile)
        self.profile.mkdir(parents=True)
        self.proc = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            port = self._wait_port(timeout=60)
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
            page = next(t for t in targets if t["type"] == "page")
            self.ws = websocket.create_connection(
                page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True
            )
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable")
            self.call(
                "Emulation.setDeviceMetricsOverride",
                width=self.width,
                height=self.height,
                deviceScaleFactor=1,
                mobile=False,
            )
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def _stop(self) -> None:
        if getattr(self, "ws", None) is not None:
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()

    def _wait_port(self, timeout: float) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"chromium exited with {self.proc.returncode}: {err[-2000:]}")
            lines = marker.read_text().splitlines() if marker.exists() else []
            if lines and lines[0].strip().isdigit():
                return int(lines[0])
            time.sleep(0.1)
        raise TimeoutError("chromium did not open its DevTools port")

    def _record(self, msg: dict[str, Any]) -> None:
        method, p = msg.get("method"), msg.get("params", {})
        ev = self.events
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            ev.console_errors.append(" ".join(str(a.get("value", a)) for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = p.get("exceptionDetails", {})
            ev.exceptions.append(details.get("exception", {}).get("description") or str(details))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            ev.log_errors.append(p["entry"].get("text", ""))
        elif method == "Page.javascriptDialogOpening":
            ev.dialogs.append(p.get("message", ""))
            self._send("Page.handleJavaScriptDialog", accept=True)
        elif method == "Network.requestWillBeSent":
            ev.requests.append(p["request"]["url"])

    def _send(self, method: str, **params: Any) -> int:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        return self._id

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its reply, recording events seen meanwhile."""
        want = self._send(method, **params)
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == want:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._record(msg)

    def wait_event(self, method: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            msg = json.loads(self.ws.recv())
            self._record(msg)
            if msg.get("method") == method:
                self.ws.settimeout(60)
                return
        raise TimeoutError(f"no {method} within {timeout} s")

    def open(self, url: str, timeout: float = 120) -> None:
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired", timeout)

    def eval(self, expression: str) -> Any:
        res = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression[:80]}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self, dest: Path) -> tuple[int, int]:
        """Full-page PNG; returns its (width, height) in CSS pixels."""
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        w, h = int(size["width"]), int(size["height"])
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": w, "height": h, "scale": 1},
        )
        dest.write_bytes(base64.b64decode(shot["data"]))
        return w, h
