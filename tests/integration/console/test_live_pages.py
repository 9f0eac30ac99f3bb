"""The console on the live WebSocket API (docs/live.md), in Debian's Chromium against the local stack: rows
pushed as they arrive, no HTTP request while idle, nothing missed or doubled across a server-side close,
the status shown, and a refused ticket answered by a slow poll until the socket connects again. The
page's clock is Playwright's, so five quiet minutes or a 30-second poll pass at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, Route, expect

from arrowhook_tools.local.stack import LocalStack
from tests.integration.console.conftest import WAIT_MS, Console, post_alert

TICKETS = "**/console/live/ticket"


def _live(page: Page) -> None:
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=WAIT_MS)


def _shown(page: Page) -> list[str]:
    """The table's rows, top to bottom, as `<received_at> <id>`."""
    script = "rows => rows.map(row => row.dataset.received + ' ' + row.dataset.id)"
    return [str(row) for row in page.locator("tr[data-id]").evaluate_all(script)]


def _forget_refused_sockets(console: Console) -> None:
    """Chromium logs a refused WebSocket upgrade as a console error: expected where a test refuses one."""
    console.console_errors[:] = [text for text in console.console_errors if not text.startswith("WebSocket connection")]


def test_an_open_alerts_page_is_pushed_new_rows_and_makes_no_request_while_idle(
    console: Console, stack: LocalStack
) -> None:
    console.page.clock.install()
    console.sign_in()
    page = console.page
    _live(page)
    (socket,) = console.sockets
    sent: list[str] = []
    socket.on("framesent", lambda payload: sent.append(str(payload)))
    requests_before = len(console.requests)
    page.clock.fast_forward("06:00")  # six quiet minutes: one ping keeps the socket open, nothing else
    assert _until(page, lambda: '{"action":"ping"}' in sent), sent
    assert console.requests[requests_before:] == [], "no HTTP request while idle"
    nonce = uuid.uuid4().hex[:8]
    arrived = post_alert(stack, comment=f"pushed-{nonce}")
    expect(page.locator(f"#alert-{arrived}")).to_contain_text(f"pushed-{nonce}", timeout=WAIT_MS)
    assert page.locator(f"#alert-{arrived}").count() == 1
    assert len(console.sockets) == 1
    console.shot("alerts-live")


def test_a_server_side_close_mid_burst_misses_nothing_and_doubles_nothing(console: Console, stack: LocalStack) -> None:
    assert stack.websocket is not None
    nonce = uuid.uuid4().hex[:8]
    console.sign_in()
    page = console.page
    page.goto(f"/console/alerts?contains=burst-{nonce}")
    _live(page)
    posted: list[str] = []
    dropped = threading.Event()

    def burst() -> None:
        for number in range(12):
            posted.append(post_alert(stack, comment=f"burst-{nonce}-{number}"))
            if number == 4:
                stack.websocket.drop()  # type: ignore[union-attr]
                dropped.set()

    sender = threading.Thread(target=burst)
    sender.start()
    sender.join(timeout=WAIT_MS / 1000 * 4)
    assert dropped.is_set() and len(posted) == 12
    expect(page.locator("tr[data-id]")).to_have_count(12, timeout=WAIT_MS)
    _live(page)
    page.wait_for_timeout(1500)  # a late push or resend of any of them must not add a row
    shown = _shown(page)
    assert len(shown) == 12 and shown == sorted(shown, reverse=True), shown  # each once, newest first
    assert {row.split()[1] for row in shown} == set(posted)
    assert len(console.sockets) >= 2, "the page connected again after the server closed its socket"


def test_a_refused_ticket_shows_the_page_not_live_polls_slowly_then_goes_live_again(
    console: Console, stack: LocalStack
) -> None:
    def forged(route: Route) -> None:
        issued: dict[str, Any] = route.fetch().json()
        route.fulfill(json={**issued, "ticket": "forged." + issued["ticket"].partition(".")[2]})

    console.page.clock.install()
    console.sign_in()
    page = console.page
    page.route(TICKETS, forged)
    page.goto("/console/alerts")
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "polling", timeout=WAIT_MS)  # refused twice
    expect(status).to_contain_text("checked every 30 s")
    console.shot("alerts-not-live")
    assert len(console.sockets) >= 2, "each try opened a socket, refused"
    while_refused = post_alert(stack, comment=f"polled-{uuid.uuid4().hex[:8]}")
    page.clock.fast_forward("00:31")  # the slow poll's next fetch
    expect(page.locator(f"#alert-{while_refused}")).to_be_visible(timeout=WAIT_MS)
    page.unroute(TICKETS)
    page.clock.fast_forward("00:31")  # the next reconnect, at most 30 s away
    _live(page)
    pushed = post_alert(stack, comment=f"pushed-{uuid.uuid4().hex[:8]}")
    expect(page.locator(f"#alert-{pushed}")).to_be_visible(timeout=WAIT_MS)
    assert page.locator(f"#alert-{while_refused}").count() == 1
    _forget_refused_sockets(console)


def test_the_overview_counts_each_alert_once_across_a_reconnect(console: Console, stack: LocalStack) -> None:
    assert stack.websocket is not None
    console.page.clock.install()
    console.sign_in()
    page = console.page
    page.goto("/console/overview")
    _live(page)
    total = page.locator("#alerts-48h")
    before = int(total.inner_text())
    post_alert(stack, comment="counted", price="not-a-price")
    expect(total).to_have_text(str(before + 1), timeout=WAIT_MS)
    expect(page.locator("[data-last-alert=demo]")).not_to_have_text("never")
    expect(page.locator("#issues-48h")).not_to_have_text("0")
    page.route(TICKETS, lambda route: route.fulfill(status=503, body="unavailable"))
    stack.websocket.drop()
    expect(page.locator("#live-status")).not_to_have_attribute("data-state", "live", timeout=WAIT_MS)
    for number in range(2):
        post_alert(stack, comment=f"while-away-{number}")
    page.unroute(TICKETS)
    page.clock.fast_forward("00:31")
    _live(page)
    expect(total).to_have_text(str(before + 3), timeout=WAIT_MS)  # resumed: the two sent while away
    page.wait_for_timeout(1500)
    assert total.inner_text() == str(before + 3), "each alert counted once"


def _until(page: Page, check: Callable[[], bool]) -> bool:
    """Wait in the page's event loop (Playwright delivers a socket's frames while the test waits in it)."""
    for _ in range(WAIT_MS // 100):
        if check():
            return True
        page.wait_for_timeout(100)
    return check()
