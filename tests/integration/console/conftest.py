"""The console's browser tests' shared parts: Debian's Chromium driven by Playwright, one context per
test recording every request and socket its pages open, screenshots under .arrowhook/screenshots."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, WebSocket, expect, sync_playwright

from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.browser import CHROMIUM, CHROMIUM_ARGS
from arrowhook_tools.local.stack import DEMO_SECRET, LocalStack
from arrowhook_tools.local.template import PROJECT_ROOT
from tests.integration.conftest import in_process_stack

SCREENSHOTS = PROJECT_ROOT / ".arrowhook" / "screenshots"
#: Generous: the stack and the browser share two cores with the rest of the suite.
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def running() -> Iterator[LocalStack]:
    """One in-process stack per test module."""
    with in_process_stack() as stack:
        yield stack


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():  # make test installs Debian's package; CI must have it, a laptop may not
        missing = f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package"
        if os.environ.get("CI"):
            pytest.fail(missing, pytrace=False)
        pytest.skip(missing)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


class Console:
    """One browser context (its own cookies), recording every request the pages make."""

    def __init__(self, browser: Browser, stack: LocalStack, *, phone: bool = False) -> None:
        assert stack.api is not None
        self.base = stack.api.url
        self.stack = stack
        viewport: ViewportSize = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
        self.context = browser.new_context(viewport=viewport, base_url=self.base, is_mobile=phone)
        self.requests: list[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.page: Page = self.context.new_page()
        self.sockets: list[WebSocket] = []
        self.page.on("websocket", lambda socket: self.sockets.append(socket))  # noqa: PLW0108 - a bound list method cannot carry playwright's handler mark
        self.console_errors: list[str] = []
        self.page.on("console", lambda message: self._console(message.type, message.text))
        self.page.on("response", lambda response: self._answered(response.url, response.status))

    def _console(self, kind: str, text: str) -> None:
        """Script errors and CSP violations; an HTTP error answer is checked where it is expected."""
        if kind == "error" and not text.startswith("Failed to load resource"):
            self.console_errors.append(text)

    def _answered(self, url: str, status: int) -> None:
        if "/console/static/" in url and status != 200:
            self.console_errors.append(f"asset {url}: HTTP {status}")

    def sign_in(self, token: str | None = None) -> None:
        self.page.goto("/console/alerts")
        expect(self.page).to_have_url(re.compile(r"/console/login$"))
        self.page.fill("#token", token or self.stack.admin_token)
        self.page.click("button[type=submit]")

    def shot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))  # the viewport: what a person sees first, at a fixed size
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def console(browser: Browser, stack: LocalStack) -> Iterator[Console]:
    opened = Console(browser, stack)
    yield opened
    opened.close()
    assert all(url.startswith(opened.base) for url in opened.requests), "no request leaves the stack"
    assert all(socket.url.startswith("ws://127.0.0.1:") for socket in opened.sockets), "nor any socket"
    assert not opened.console_errors, opened.console_errors


def post_alert(stack: LocalStack, **fields: Any) -> str:
    assert stack.api is not None
    answer = httpx.post(f"{stack.api.url}/webhook", content=strategy_alert(DEMO_SECRET, **fields), timeout=30)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["alert_id"])


AXE = PROJECT_ROOT / "functions" / "console" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA findings on the page as it is now, serious or critical only."""
    page.add_script_tag(content=AXE.read_text())
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a",
        "wcag21aa"]}})).violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary).slice(0, 5)}))"""
    )
    return [violation for violation in found if violation["impact"] in ("serious", "critical")]


@contextlib.contextmanager
def signed_in_for_axe(browser: Browser, stack: LocalStack) -> Iterator[Page]:
    """A signed-in page whose context lets axe-core's script in (the console's own CSP refuses it, as it
    should)."""
    assert stack.api is not None
    context = browser.new_context(base_url=stack.api.url, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto("/console/login")
        page.fill("#token", stack.admin_token)
        page.click("button[type=submit]")
        yield page
    finally:
        context.close()
