"""The console in a real browser: Debian's Chromium (``/usr/bin/chromium``, which
``.ci/run`` installs with apt) driven by Playwright, headless, against the app served
by uvicorn on 127.0.0.1. Every page is checked for console errors and by axe-core
(from the npm registry, installed by ``make install``): no serious or critical
violation. Screenshots are kept under ``.artifacts/screenshots``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from yirong.api.app import create_app
from yirong.infra.db import Database

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / ".artifacts" / "screenshots"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@contextmanager
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is needed for the browser tests: apt-get install chromium")
    if not AXE.exists():
        pytest.fail("axe-core is needed for the browser tests: make install (npm ci)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def served(db: Database) -> Iterator[str]:
    """The app on a free port of 127.0.0.1 while the block runs; gives its address."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(db), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


class Watched:
    """A page whose console errors and uncaught exceptions are collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def check(self, name: str, *, refused: int | None = None) -> None:
        """No console error so far, no serious or critical axe violation, and a
        screenshot of the page as it is, kept under ``name``. ``refused``: the page
        is a refusal with this status, which Chromium logs as a failed load (and
        nothing else may be logged)."""
        expected = f"the server responded with a status of {refused}"
        errors = [e for e in self.errors if not (refused and expected in e)]
        assert errors == [], (name, errors)
        self.errors.clear()
        # Evaluated, not added as a <script>: the console's CSP (enforced here too)
        # rightly refuses an inline script.
        self.page.evaluate(AXE.read_text(encoding="utf-8"))
        violations: list[dict[str, Any]] = self.page.evaluate(
            "async () => (await axe.run()).violations.map("
            "v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
        )
        bad = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert bad == [], (name, bad)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
