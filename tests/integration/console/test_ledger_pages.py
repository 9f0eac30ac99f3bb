"""The ledger page and the reconciliation upload in Chromium: the trades, the realized profit, the open
position and the equity curve from fills posted to the webhook; TradingView's export uploaded with the
session's CSRF token and its three lists shown; each page on a phone without sideways scrolling, and
axe-core finding no serious violation."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect

from arrowhook_tools.local.stack import LocalStack
from tests.integration.console.conftest import WAIT_MS, Console, axe_violations, post_alert, signed_in_for_axe

EXPORT = """Trade #,Type,Date/Time,Signal,Price USD,Position size (qty),Position size (value),Net P&L USD
3,Exit short,2026-11-20 13:00,Open,100,1,100,
3,Entry short,2026-11-20 12:00,Short,105,1,105,
2,Exit long,2026-11-20 11:30,Close,99,1,99,-1
2,Entry long,2026-11-20 11:00,Long,100,1,100,
1,Exit long,2026-11-20 10:00,Close,110,1,110,10
1,Entry long,2026-11-20 09:00,Long,100,1,100,
"""


def _fills(stack: LocalStack) -> list[str]:
    """Trade 1 both ways, trade 3's entry (still open): trade 2 never alerted."""
    orders = [
        ("2026-11-20T09:00:00Z", "buy", "100", "flat", "long"),
        ("2026-11-20T10:00:00Z", "sell", "110", "long", "flat"),
        ("2026-11-20T12:00:00Z", "sell", "105", "flat", "short"),
    ]
    sent = []
    for at, action, price, before, after in orders:
        sizes = {"prev_market_position_size": "0" if before == "flat" else "1"}
        sizes["market_position_size"] = "0" if after == "flat" else "1"
        fill = {"action": action, "contracts": "1", "price": price, "ticker": "SOLUSDT", "time": at, "timenow": at}
        sent.append(post_alert(stack, **fill, **sizes, prev_market_position=before, market_position=after))
    return sent


def test_the_ledger_page_and_a_reconciliation_upload(console: Console, stack: LocalStack, tmp_path: Path) -> None:
    alerts = _fills(stack)
    console.sign_in()
    page = console.page
    page.goto("/console/strategies")
    page.locator("tr", has_text="demo").locator("a", has_text="ledger").click()
    expect(page.locator("h1")).to_contain_text("demo: ledger")
    expect(page.locator("#realized")).to_have_text("10")
    expect(page.locator("#trades tbody tr")).to_have_count(1)
    expect(page.locator("#open-positions")).to_contain_text("short")
    expect(page.locator("[data-chart=equity] canvas")).to_be_visible(timeout=WAIT_MS)
    console.shot("ledger-desktop")
    page.goto("/console/alerts?ticker=SOLUSDT")
    expect(page.locator(f"#alert-{alerts[2]} .fill")).to_have_text("open short")

    export = tmp_path / "ema-cross_trades.csv"
    export.write_text(EXPORT)
    page.goto(page.url.split("/console/")[0] + "/console/strategies")
    page.locator("tr", has_text="demo").locator("a", has_text="ledger").click()
    page.set_input_files("input[name=export]", str(export))
    page.click("form[enctype] button[type=submit]")
    expect(page.locator("#reconcile-summary")).to_contain_text("5 order(s) in the export")
    expect(page.locator("#missing tbody tr")).to_have_count(2)  # trade 2's entry and exit
    expect(page.locator("#missing")).to_contain_text("2")
    expect(page.locator("#unmatched")).to_contain_text("(0)")
    console.shot("reconcile-desktop")

    page.goto(page.url.replace("/reconcile", "/ledger"))
    page.set_input_files("input[name=export]", {"name": "notes.csv", "mimeType": "text/csv", "buffer": b"name,email\n"})
    page.click("form[enctype] button[type=submit]")
    expect(page.locator(".error")).to_contain_text("expected the columns Trade #")


def test_the_ledger_on_a_phone_and_with_axe_core(browser: Browser, stack: LocalStack) -> None:
    _fills(stack)
    phone = Console(browser, stack, phone=True)
    try:
        phone.sign_in()
        page = phone.page
        page.goto("/console/strategies")
        page.locator("tr", has_text="demo").locator("a", has_text="ledger").click()
        expect(page.locator("#realized")).to_be_visible()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 391, f"no sideways scrolling on the ledger page ({width}px)"
        phone.shot("ledger-phone")
    finally:
        phone.close()
    with signed_in_for_axe(browser, stack) as page:
        page.goto("/console/strategies")
        page.locator("tr", has_text="demo").locator("a", has_text="ledger").click()
        expect(page.locator("#realized")).to_be_visible()
        assert axe_violations(page) == []
