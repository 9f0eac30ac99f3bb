"""The console as the one place, in Chromium: destinations added (the URL entered once, the signing secret
shown once), previewed, tested, edited, switched off and deleted, with their recent deliveries; a test
alert sent from a strategy's row; the table's filter exported as CSV and JSON Lines with the CLI's
columns; the overview's signal health per strategy; the strategies page on a 390 px phone."""

from __future__ import annotations

import csv
import io
import json
import uuid

from playwright.sync_api import Browser, expect

from arrowhook.admin.export import EXPORT_COLUMNS
from arrowhook_tools.local.stack import DEMO_SECRET, LocalStack
from arrowhook_tools.standins.receivers import Receivers
from tests.integration.console.conftest import WAIT_MS, Console, axe_violations, post_alert, signed_in_for_axe


def test_a_destination_managed_from_the_console(console: Console, stack: LocalStack, receivers: Receivers) -> None:
    name = f"hook-{uuid.uuid4().hex[:6]}"
    url = f"{receivers.url}/hook/{name}"
    console.sign_in()
    page = console.page
    page.goto("/console/destinations")
    form = page.locator("#add-destination")
    form.locator("select[name=kind]").select_option("webhook")
    form.locator("input[name=name]").fill(name)
    form.locator("select[name=strategies]").select_option("demo")
    form.locator("input[name=url]").fill(url)
    form.locator("textarea[name=template]").fill("{side} {ticker} at {price} ({fill}) rsi {extra.rsi}")
    expect(page.locator("#add-preview")).to_contain_text("buy BTCUSDT at 50000", timeout=WAIT_MS)
    form.locator("button[type=submit]").click()
    secret = page.locator("#signing-secret").inner_text().strip()
    assert secret.startswith("whsec_")
    assert url not in page.content(), "the URL is kept, never shown again"
    console.shot("destinations-desktop")
    page.goto("/console/destinations")
    assert secret not in page.content(), "the signing secret is shown once"
    card = page.locator("section.destination", has_text=name)
    card.get_by_role("button", name="Send a test").click()
    expect(page.locator("#destination-notice")).to_contain_text("answered OK (HTTP 2")
    assert receivers.wait_for(f"/hook/{name}", 1, timeout=WAIT_MS / 1000)

    card = page.locator("section.destination", has_text=name)
    card.locator("summary", has_text="Edit the template").click()
    card.locator("textarea[name=template]").fill("{nope}")
    expect(card.locator(".preview")).to_contain_text("unknown placeholder {nope}", timeout=WAIT_MS)
    card.locator("textarea[name=template]").fill("{strategy}: {side} {ticker} rsi {extra.rsi}")
    card.get_by_role("button", name="Save the template").click()
    alert_id = post_alert(stack, comment=f"for {name}", rsi="64.2")
    (sent,) = receivers.wait_for(f"/hook/{name}", 2, timeout=WAIT_MS / 1000)[1:]
    assert sent.json()["data"]["message"] == "demo: buy BTCUSDT rsi 64.2"
    page.goto("/console/destinations")
    page.locator("section.destination", has_text=name).locator("a", has_text="recent deliveries").click()
    expect(page.locator("#recent-deliveries")).to_contain_text("delivered", timeout=WAIT_MS)
    expect(page.locator(f"#recent-deliveries a[href='/console/alerts/{alert_id}']")).to_be_visible()

    page.goto("/console/destinations")
    page.locator("section.destination", has_text=name).get_by_role("button", name="Switch off").click()
    expect(page.locator("section.destination", has_text=name).locator(".status-disabled")).to_be_visible()
    card = page.locator("section.destination", has_text=name)
    card.locator("summary", has_text="Delete").click()
    card.locator("input[name=confirm]").fill(name)
    card.get_by_role("button", name="Delete").click()
    expect(page.locator("section.destination", has_text=name)).to_have_count(0)


def test_a_test_alert_from_a_strategys_row(console: Console) -> None:
    console.sign_in()
    page = console.page
    page.goto("/console/strategies")
    row = page.locator("tr", has_text="demo")
    row.locator("summary").click()
    form = row.locator("form[data-test-alert]")
    form.locator("input[name=secret]").fill("ahk_wrong")
    form.get_by_role("button", name="Send a test alert").click()
    expect(form.locator(".test-result")).to_contain_text("Refused (HTTP 401")
    form.locator("input[name=secret]").fill(DEMO_SECRET)
    form.get_by_role("button", name="Send a test alert").click()
    link = form.locator(".test-result a")
    expect(link).to_have_text("Stored: see it and its deliveries", timeout=WAIT_MS)
    link.click()
    expect(page.locator("h1")).to_contain_text("demo")
    expect(page.locator("main")).to_contain_text("ARROWHOOK-TEST")
    assert DEMO_SECRET not in page.content()


def test_the_filter_exported_as_csv_and_json_lines(console: Console, stack: LocalStack) -> None:
    nonce = uuid.uuid4().hex[:8]
    posted = [post_alert(stack, comment=f"x-{nonce}-{number}") for number in range(3)]
    formula = post_alert(stack, comment=f"x-{nonce}", alert_message='=HYPERLINK("http://evil.example")')
    console.sign_in()
    page = console.page
    page.goto(f"/console/alerts?contains=x-{nonce}")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [row["alert_id"] for row in rows] == [*posted, formula], "oldest first, every one"
    assert rows[-1]["alert_message"].startswith("'="), "a formula is text in a spreadsheet"
    answer = page.request.get(f"/console/alerts/export?contains=x-{nonce}&format=ndjson")
    lines = [json.loads(line) for line in answer.text().splitlines()]
    assert [line["alert_id"] for line in lines] == [*posted, formula]
    assert answer.headers["x-arrowhook-truncated"] == "false"


def test_the_overview_shows_each_strategys_signal_health(console: Console, stack: LocalStack) -> None:
    post_alert(stack, comment="health")
    console.sign_in()
    console.page.goto("/console/overview")
    row = console.page.locator("#strategy-health tr[data-strategy=demo]")
    expect(row.locator(".late")).to_have_text("0")
    expect(row.locator(".gaps")).to_have_text("0")
    expect(row.locator(".silent")).to_have_text("no")


def test_the_strategies_and_destinations_pages_fit_a_phone_and_pass_axe(browser: Browser, stack: LocalStack) -> None:
    phone = Console(browser, stack, phone=True)
    try:
        phone.sign_in()
        for path in ("/console/strategies", "/console/destinations"):
            phone.page.goto(path)
            width = phone.page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 391, f"no sideways scrolling on {path} ({width}px)"
        phone.page.goto("/console/strategies")
        phone.shot("strategies-phone")
    finally:
        phone.close()
    with signed_in_for_axe(browser, stack) as page:
        for path in ("/console/destinations", "/console/overview", "/console/strategies"):
            page.goto(path)
            assert axe_violations(page) == [], path
