"""Live alerts over WebSocket (issue 28): what a console left open costs, how fast a pushed alert becomes
a row, and that an idle page asks the stack for nothing.

- Cost, from the meter (arrowhook_tools.standins.meter) on the local stack: one connection's start (the
  console's ticket request, `$connect`) and end (`$disconnect`, its connection minute), one ping, and
  an alert's extra cost while a page is open (the fan-out's Query and push, the page's fetch of its
  rows), scaled to a month: API Gateway closes a connection every two hours (360 starts), the page
  pings after five quiet minutes (8,640 pings), 43,200 connection minutes. Beside it, the polling it
  replaced (one request a second, 2,592,000 a month). Target: at most $0.05 a month more; the idle
  stack stays at or under $0.50.
- Latency, in Debian's Chromium: webhook answered -> the row on an open alerts page. Targets: median
  <= 1.0 s, worst <= 2.0 s (the one-second polling it replaced: ~0.85 s median).
- Idle: HTTP requests an open alerts page makes in 30 s. Target: none.

Run: `python tests/bench/bench_live.py` (part of `make bench`).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[2] / part) for part in ("tools", "layers/arrowhook", ".")]

import httpx  # noqa: E402
from websockets.sync.client import ClientConnection, connect  # noqa: E402

from arrowhook.aws.dynamodb import dynamodb_client  # noqa: E402
from arrowhook.core.models import iso, utc_now  # noqa: E402
from arrowhook_tools.cli.samples import strategy_alert  # noqa: E402
from arrowhook_tools.generators.costs import PRICE_TABLE, idle_monthly  # noqa: E402
from arrowhook_tools.local.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from arrowhook_tools.local.stack import DEMO_SECRET, LocalStack, local_stack, seed_demo_key  # noqa: E402
from arrowhook_tools.standins.meter import Meter, metering  # noqa: E402

MEDIAN_TARGET_SECONDS = 1.0
WORST_TARGET_SECONDS = 2.0
POLLING_MEDIAN_SECONDS = 0.85
IDLE_SECONDS = 30
OPEN_MONTH_TARGET = 0.05
IDLE_STACK_TARGET = 0.50
LATENCY_SAMPLES = 20
COST_SAMPLES = 5
ALERTS_PER_SAMPLE = 5
#: A month as the issue counts it: a connection lasts API Gateway's two hours; a ping per five minutes.
CONNECTIONS_PER_MONTH = 30 * 24 // 2
PINGS_PER_MONTH = 30 * 24 * 12
MINUTES_PER_MONTH = 30 * 24 * 60
POLLS_PER_MONTH = 30 * 24 * 3600


def measured(action: Callable[[], object], stack: LocalStack, settle: float = 0.3) -> float:
    """Dollars the stack spends on `action` (its functions, tables, logs, API requests and messages)."""
    meter = Meter(stack.template)
    with metering(meter):
        action()
        time.sleep(settle)  # what the action set off (a $disconnect, a stream batch) is metered too
    return meter.total()


class Session:
    """A signed-in console, as its pages talk to the stack: cookies, the CSRF token, a live socket."""

    def __init__(self, stack: LocalStack) -> None:
        assert stack.api is not None
        self.http = httpx.Client(base_url=stack.api.url, timeout=30, follow_redirects=True)
        signed_in = self.http.post("/console/login", data={"token": stack.admin_token})
        self.csrf = signed_in.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        self.socket: ClientConnection | None = None
        self._opened = contextlib.ExitStack()

    def connect(self) -> None:
        issued = self.http.post("/console/live/ticket", headers={"X-CSRF-Token": self.csrf}).json()
        url = f"{issued['url']}?ticket={issued['ticket']}"
        self.socket = self._opened.enter_context(connect(url, open_timeout=30))

    def ping(self) -> None:
        assert self.socket is not None
        self.socket.send(json.dumps({"action": "ping"}))
        while json.loads(self.socket.recv(timeout=30))["type"] != "pong":
            pass

    def close(self) -> None:
        self._opened.close()
        self.socket = None

    def fetch_rows(self, after: str) -> None:
        """What the alerts page asks when an alert is pushed: the rows since its newest."""
        assert self.http.get("/console/alerts/live", params={"after": after}).status_code == 200


def costs(stack: LocalStack) -> dict[str, float]:
    """Each part's dollars, medians of COST_SAMPLES."""
    assert stack.api is not None
    session = Session(stack)
    webhook = httpx.Client(base_url=stack.api.url, timeout=30)

    sent = itertools.count()

    def alerts() -> None:
        """Alerts of distinct bodies (a repeated body is a duplicate: answered, never stored again)."""
        for _ in range(ALERTS_PER_SAMPLE):
            body = strategy_alert(DEMO_SECRET, comment=f"cost {next(sent)}")
            assert webhook.post("/webhook", content=body).is_success

    parts: dict[str, list[float]] = {name: [] for name in ("start", "ping", "end", "poll", "alert", "alert open")}
    for _ in range(COST_SAMPLES):
        parts["alert"].append(measured(alerts, stack, settle=2.0) / ALERTS_PER_SAMPLE)
        parts["start"].append(measured(session.connect, stack))
        parts["ping"].append(measured(session.ping, stack))
        parts["alert open"].append(measured(alerts, stack, settle=2.0) / ALERTS_PER_SAMPLE)
        parts["poll"].append(measured(lambda: session.fetch_rows(iso(utc_now())), stack, settle=0))
        parts["end"].append(measured(session.close, stack, settle=1.0))
    return {name: statistics.median(values) for name, values in parts.items()}


def browser_figures(stack: LocalStack) -> tuple[list[float], int] | None:
    """Seconds from the webhook's answer to the row on an open alerts page, and the HTTP requests an idle
    page made in IDLE_SECONDS (None: no Chromium here)."""
    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import expect, sync_playwright

    assert stack.api is not None
    webhook = httpx.Client(base_url=stack.api.url, timeout=30)
    delays = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(base_url=stack.api.url).new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto("/console/login")
        page.fill("#token", stack.admin_token)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/alerts")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=30_000)
        page.wait_for_timeout(1000)
        before = len(requests)
        page.wait_for_timeout(IDLE_SECONDS * 1000)
        idle_requests = len(requests) - before
        for number in range(LATENCY_SAMPLES):
            answer = webhook.post("/webhook", content=strategy_alert(DEMO_SECRET, comment=f"live {number}"))
            answered = time.perf_counter()
            page.wait_for_selector(f"#alert-{answer.json()['alert_id']}", timeout=30_000)
            delays.append(time.perf_counter() - answered)
            page.wait_for_timeout(300)
        browser.close()
    return delays, idle_requests


def main() -> None:
    overrides = {"WebhookRateLimit": "100000", "WebhookBurstLimit": "100000", "ApiRateLimit": "100000",
                 "ApiBurstLimit": "100000"}  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()), local_stack(api_port=0, parameter_overrides=overrides) as stack:
        seed_demo_key(stack.template, dynamodb_client())
        parts = costs(stack)
        seen = browser_figures(stack)

    minute = PRICE_TABLE["api_gateway_websocket_connection_minute"].dollars
    per_connection = parts["start"] + parts["end"]
    monthly = {
        f"connections: {CONNECTIONS_PER_MONTH} starts and ends (ticket, $connect, $disconnect)": per_connection
        * CONNECTIONS_PER_MONTH,
        f"pings: {PINGS_PER_MONTH} (a frame each way, a Lambda invocation, log lines)": parts["ping"] * PINGS_PER_MONTH,
        f"connection minutes: {MINUTES_PER_MONTH}": minute * MINUTES_PER_MONTH,
    }
    open_month = sum(monthly.values())
    print("Live alerts over WebSocket, on the local stack")
    print("A console open all month, $ a month (metered; prices: costs.PRICE_TABLE):")
    for item, dollars in monthly.items():
        print(f"  {item:72} {dollars:7.4f}")
    verdict = "meets" if open_month <= OPEN_MONTH_TARGET else "MISSES"
    print(f"  {'total':72} {open_month:7.4f}  {verdict} the target <= {OPEN_MONTH_TARGET:.2f}")
    polling = parts["poll"] * POLLS_PER_MONTH
    print(
        f"  the one-second polling it replaced: {POLLS_PER_MONTH} requests at ${parts['poll'] * 1e6:.2f} per million "
        f"= {polling:.2f} a month (X-Ray off); ratio open/polling {open_month / polling:.4f}"
    )
    fan_out = parts["alert open"] - parts["alert"]
    print(
        f"  each alert while a page is open, $ per million alerts: the fan-out's Query and push "
        f"{fan_out * 1e6:.2f}, the page's fetch of its rows {parts['poll'] * 1e6:.2f}, together "
        f"{(fan_out + parts['poll']) * 1e6:.2f} (an alert's own cost here: {parts['alert'] * 1e6:.2f})"
    )
    idle = idle_monthly()
    print(
        f"Idle stack, default parameters: ${idle:.2f} a month  "
        f"{'meets' if idle <= IDLE_STACK_TARGET else 'MISSES'} the target <= {IDLE_STACK_TARGET:.2f} "
        "(the WebSocket API has no fixed cost)"
    )
    if seen is None:
        print(f"Browser figures: skipped (no Chromium at {CHROMIUM})")
        return
    delays, idle_requests = seen
    median, worst = statistics.median(delays), max(delays)
    print(
        f"Webhook answered -> row on an open alerts page, {len(delays)} alerts: median {median:.2f} s "
        f"({'meets' if median <= MEDIAN_TARGET_SECONDS else 'MISSES'} <= {MEDIAN_TARGET_SECONDS:.1f}), "
        f"worst {worst:.2f} s ({'meets' if worst <= WORST_TARGET_SECONDS else 'MISSES'} <= "
        f"{WORST_TARGET_SECONDS:.1f}); the polling it replaced: ~{POLLING_MEDIAN_SECONDS:.2f} s median, "
        f"ratio {median / POLLING_MEDIAN_SECONDS:.2f}"
    )
    print(
        f"An idle alerts page, {IDLE_SECONDS} s: {idle_requests} HTTP request(s) to the stack "
        f"({'meets' if idle_requests == 0 else 'MISSES'} the target: none)"
    )


if __name__ == "__main__":
    main()
