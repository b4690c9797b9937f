"""Browser fixtures: the real intake app served over HTTP on a loopback port, and Debian's
Chromium driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from services.intake.app import create_app
from services.intake.clock import use_clock
from tests.world import COLLECTING_AT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage"]
TIMEOUT_MS = 15_000  # each step of a page; a step is a click and a page load on loopback

ANSI_STYLE = re.compile(r"\x1b\[[0-9;]*m")  # werkzeug colours its request lines

log = logging.getLogger(__name__)
expect.set_options(timeout=TIMEOUT_MS)


class _LoggingHandler(WSGIRequestHandler):
    """Request lines go to logging (shown with a failing test), not to a stderr handler that
    werkzeug would install once and leave pointing at a closed capture stream."""

    def log(self, type: str, message: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), ANSI_STYLE.sub("", message % args))


@pytest.fixture
def live_server(settings, object_store, redis_client, world) -> Iterator[str]:
    """The intake service on http://127.0.0.1:<free port>, one thread per request, acting at
    COLLECTING_AT (inside the world's collection window)."""
    app = create_app(settings)
    use_clock(app, lambda: COLLECTING_AT)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True,  # a free port
                                         request_handler=_LoggingHandler)
    thread = threading.Thread(target=server.serve_forever, name="intake-live-server",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.extensions["sakip"].close()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests drive Debian's Chromium. "
                    "Install it with `scripts/install-system-deps --for-tests`.", pytrace=False)
    driver = sync_playwright().start()
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                          args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def context(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    """A fresh browser profile per test (its own cookies), speaking Indonesian."""
    ctx = browser.new_context(base_url=live_server, locale="id-ID",
                              timezone_id="Asia/Jakarta", viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    tab = context.new_page()
    try:
        yield tab
    finally:
        tab.close()
