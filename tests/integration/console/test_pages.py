"""The web console in a real browser: Debian's Chromium, driven by Playwright, against the local stack
over HTTP. Each page is also saved as a screenshot (desktop and phone) under .arrowhook/screenshots."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import httpx
from playwright.sync_api import Browser, expect

from arrowhook.admin.console_session import COOKIE_NAME, SessionSigner
from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.stack import DEMO_SECRET, LocalStack
from arrowhook_tools.local.template import PROJECT_ROOT
from arrowhook_tools.standins.embedded_aws import ssm
from arrowhook_tools.standins.receivers import Receivers, Scripted
from tests.integration.console.conftest import WAIT_MS, Console, axe_violations, post_alert


def test_sign_in_sets_a_session_cookie_and_a_wrong_token_is_refused(console: Console) -> None:
    console.sign_in("not-the-token")
    expect(console.page.locator(".error")).to_contain_text("not the admin token")
    assert not console.context.cookies()
    console.shot("login-refused")
    console.sign_in()
    expect(console.page).to_have_url(re.compile(r"/console/alerts$"))
    (cookie,) = console.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (
        COOKIE_NAME,
        True,
        "Strict",
        "/console",
    )
    assert console.page.evaluate("() => document.cookie") == "", "HttpOnly: no script can read the session"
    assert console.page.evaluate("() => Object.keys(localStorage).length") == 0


def test_a_webhook_sent_while_the_page_is_open_appears_once(console: Console, stack: LocalStack) -> None:
    console.sign_in()
    nonce = uuid.uuid4().hex[:8]
    first = post_alert(stack, comment=f"before-{nonce}")
    console.page.reload()
    expect(console.page.locator(f"#alert-{first}")).to_be_visible()
    arrived = post_alert(stack, comment=f"live-{nonce}", ticker="ETHUSDT")
    row = console.page.locator(f"#alert-{arrived}")
    expect(row).to_be_visible(timeout=WAIT_MS)
    expect(row).to_contain_text(f"live-{nonce}")
    expect(console.page.locator("#live-status")).to_have_attribute("data-state", "live")
    console.page.wait_for_timeout(2500)  # any later fetch re-reads the margin: the page keeps one row
    assert console.page.locator(f"#alert-{arrived}").count() == 1
    assert console.page.locator(f"#alert-{first}").count() == 1
    console.shot("alerts-desktop")


def test_filters_narrow_the_table(console: Console, stack: LocalStack) -> None:
    nonce = uuid.uuid4().hex[:8]
    sell = post_alert(stack, action="sell", ticker="SOLUSDT", comment=f"f-{nonce}")
    buy = post_alert(stack, action="buy", ticker="ADAUSDT", comment=f"f-{nonce}")
    broken = post_alert(stack, price="not-a-price", comment=f"f-{nonce}")
    console.sign_in()
    page = console.page
    page.fill("input[name=contains]", f"f-{nonce}")
    page.click("form.filters button[type=submit]")
    for alert_id in (sell, buy, broken):
        expect(page.locator(f"#alert-{alert_id}")).to_be_visible()
    page.select_option("select[name=side]", "sell")
    page.click("form.filters button[type=submit]")
    expect(page.locator(f"#alert-{sell}")).to_be_visible()
    assert page.locator(f"#alert-{buy}").count() == 0
    page.goto(f"/console/alerts?contains=f-{nonce}&ticker=adausdt")
    expect(page.locator(f"#alert-{buy}")).to_be_visible()
    assert page.locator("tr[data-id]").count() == 1
    page.goto(f"/console/alerts?contains=f-{nonce}&issues=true")
    expect(page.locator(f"#alert-{broken}")).to_be_visible()
    assert page.locator("tr[data-id]").count() == 1
    page.goto(f"/console/alerts?contains=f-{nonce}&strategy=demo&since=1h")
    assert page.locator("tr[data-id]").count() == 3
    page.goto("/console/alerts?since=not-a-time")
    expect(page.locator(".error")).to_contain_text("since")


def test_paging_through_more_alerts_than_a_page(console: Console, stack: LocalStack) -> None:
    nonce = uuid.uuid4().hex[:8]
    posted = [post_alert(stack, comment=f"p-{nonce}-{number}") for number in range(60)]
    console.sign_in()
    page = console.page
    page.goto(f"/console/alerts?contains=p-{nonce}")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
    # One more arrives while the page is open: the page fetches the rows since its newest, re-reading a
    # margin that, after this burst, reaches into the next page; those rows must be left to "more".
    fetched = lambda response: "/console/alerts/live" in response.url  # noqa: E731
    with page.expect_response(fetched, timeout=WAIT_MS):
        posted.append(post_alert(stack, comment=f"p-{nonce}-60"))
    expect(page.locator(f"#alert-{posted[-1]}")).to_be_visible()
    assert page.locator("tr[data-id]").count() == 51
    page.click("tr.more button")  # htmx: the next page appended
    expect(page.locator("tr[data-id]")).to_have_count(61, timeout=WAIT_MS)
    shown = page.locator("tr[data-id]").evaluate_all("rows => rows.map(row => row.dataset.received + row.id)")
    assert len(set(shown)) == 61 and shown == sorted(shown, reverse=True)  # each once, newest first
    assert {row[-26:] for row in shown} == set(posted)
    page.goto(f"/console/alerts?contains=p-{nonce}")
    page.click("a[rel=next]")  # without script: the plain link to the next page
    expect(page.locator("tr[data-id]")).to_have_count(11, timeout=WAIT_MS)


def test_alert_detail_shows_fields_payload_issues_and_how_it_arrived(console: Console, stack: LocalStack) -> None:
    alert_id = post_alert(stack, price="oops", comment="detail check")
    console.sign_in()
    console.page.goto(f"/console/alerts/{alert_id}")
    page = console.page
    expect(page.locator("h1")).to_contain_text("demo")
    expect(page.locator("pre.payload")).to_contain_text('"key": "***"')
    assert DEMO_SECRET not in page.content()
    expect(page.locator("ul.issues")).to_contain_text("price")
    expect(page.locator("dl.fields").nth(1)).to_contain_text("127.0.0.1")
    console.shot("alert-detail-desktop")


def test_hostile_alert_content_renders_as_text(console: Console, stack: LocalStack) -> None:
    hostile = "<img src=x onerror=alert(1)> <script>alert(2)</script>"
    alert_id = post_alert(stack, comment=hostile, note="{{7*7}}")
    dialogs: list[str] = []
    console.page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    console.sign_in()
    row = console.page.locator(f"#alert-{alert_id}")
    expect(row).to_contain_text("<img src=x onerror=alert(1)>")
    assert console.page.locator("img").count() == 0
    console.page.goto(f"/console/alerts/{alert_id}")
    fields = console.page.locator("dl.fields").first
    expect(fields).to_contain_text("<script>alert(2)</script>")
    expect(fields.locator("dt:has-text('note') + dd")).to_have_text("{{7*7}}")  # not 49: no template ran
    assert console.page.locator("img, main script").count() == 0
    assert dialogs == []


def test_strategies_create_shows_the_secret_once_then_rotate_disable_rename_delete(
    console: Console, stack: LocalStack
) -> None:
    console.sign_in()
    page = console.page
    page.goto("/console/strategies")
    name = f"ui-{uuid.uuid4().hex[:6]}"
    page.fill("form.inline input[name=name]", name)
    page.click("form.inline button[type=submit]")
    secret = page.locator("#secret").inner_text().strip()
    assert secret.startswith("ahk_")
    expect(page.locator("#webhook-url")).to_have_text(f"{console.base}/webhook")
    assert json.loads(page.locator("#strategy-message").inner_text())["key"] == secret
    assert json.loads(page.locator("#indicator-message").inner_text())["side"] == "buy"
    console.shot("strategy-created")
    stored = httpx.post(f"{console.base}/webhook", content=strategy_alert(secret), timeout=30)
    assert stored.status_code == 200, "the secret shown works"

    page.goto("/console/strategies")
    assert secret not in page.content(), "never shown again"
    row = page.locator("tr", has_text=name)
    row.locator("summary").click()
    row.locator("button", has_text="Rotate secret").click()
    rotated = page.locator("#secret").inner_text().strip()
    assert rotated != secret
    assert httpx.post(f"{console.base}/webhook", content=strategy_alert(secret), timeout=30).status_code == 401

    page.goto("/console/strategies")
    row = page.locator("tr", has_text=name)
    row.locator("summary").click()
    row.locator("button", has_text="Disable").click()
    expect(page.locator("tr", has_text=name).locator(".status-disabled")).to_be_visible()
    assert httpx.post(f"{console.base}/webhook", content=strategy_alert(rotated), timeout=30).status_code == 401

    row = page.locator("tr", has_text=name)
    row.locator("summary").click()
    row.locator("form[action$=rename] input[name=name]").fill(f"{name}-b")
    row.locator("button", has_text="Rename").click()
    row = page.locator("tr", has_text=f"{name}-b")
    expect(row).to_be_visible()
    row.locator("summary").click()
    row.locator("input[name=confirm]").fill("wrong name")
    row.locator("button", has_text="Delete").click()
    expect(page.locator(".error")).to_contain_text(f"Type {name}-b")
    page.goto("/console/strategies")
    row = page.locator("tr", has_text=f"{name}-b")
    row.locator("summary").click()
    row.locator("input[name=confirm]").fill(f"{name}-b")
    row.locator("button", has_text="Delete").click()
    expect(page.locator("tr", has_text=f"{name}-b")).to_have_count(0)
    console.shot("strategies-desktop")


def test_a_post_without_the_csrf_token_is_refused(console: Console) -> None:
    console.sign_in()
    answer = console.page.request.post(
        "/console/strategies", form={"name": f"csrf-{uuid.uuid4().hex[:6]}"}, max_redirects=0
    )
    assert answer.status == 403
    forged = console.page.request.post(
        "/console/strategies", form={"name": "x", "csrf_token": "forged"}, max_redirects=0
    )
    assert forged.status == 403


def test_an_expired_or_forged_session_is_sent_back_to_sign_in(console: Console, stack: LocalStack) -> None:
    key = ssm(stack.aws.endpoint).get_parameter(
        Name=stack.template.resolve({"Fn::Sub": "/arrowhook/${AWS::StackName}/console-session-key"}),
        WithDecryption=True,
    )["Parameter"]["Value"]
    max_age = int(stack.template.function_spec("ConsoleFunction").environment.get("CONSOLE_SESSION_SECONDS", 28_800))
    issued_long_ago, _ = SessionSigner(key.encode(), max_age, clock=lambda: time.time() - max_age - 60).issue(
        stack.admin_token
    )
    host = console.base.removeprefix("http://").split(":")[0]
    for value in (issued_long_ago, "forged.value.here"):
        console.context.clear_cookies()
        console.context.add_cookies([{"name": COOKIE_NAME, "value": value, "domain": host, "path": "/console"}])
        console.page.goto("/console/alerts")
        expect(console.page).to_have_url(re.compile(r"/console/login$"))


def _copied_session(console: Console) -> tuple[list[Any], str]:
    """The signed-in context's cookies and CSRF token, as someone who copied them would hold them."""
    csrf = console.page.locator("form.signout input[name=csrf_token]").get_attribute("value")
    assert csrf
    return console.context.cookies(), csrf


def _create_with(console: Console, cookies: list[Any], csrf: str, name: str) -> int:
    """A strategy created with copied credentials in a browser of its own: the answer's status."""
    other = console.context.browser.new_context(base_url=console.base)  # type: ignore[union-attr]
    try:
        other.add_cookies(cookies)
        answer = other.request.post("/console/strategies", form={"name": name, "csrf_token": csrf}, max_redirects=0)
        return answer.status
    finally:
        other.close()


def test_signing_out_ends_the_session_on_the_server(console: Console, stack: LocalStack) -> None:
    """A copy of the cookie still created a strategy (201) after sign-out: the cookie was all there was."""
    console.sign_in()
    cookies, csrf = _copied_session(console)
    console.page.click("form.signout button")
    expect(console.page).to_have_url(re.compile(r"/console/login$"))
    name = f"after-signout-{uuid.uuid4().hex[:6]}"
    assert _create_with(console, cookies, csrf, name) == 303  # to the sign-in page
    admin = httpx.get(f"{console.base}/keys", headers={"Authorization": f"Bearer {stack.admin_token}"}, timeout=30)
    assert name not in admin.text


def test_replacing_the_admin_token_ends_every_session(console: Console, stack: LocalStack) -> None:
    from aws_lambda_powertools.utilities import parameters

    console.sign_in()
    cookies, csrf = _copied_session(console)
    name = stack.template.function_spec("ConsoleFunction").environment["ADMIN_TOKEN_PARAMETER"]
    client = ssm(stack.aws.endpoint)
    client.put_parameter(Name=name, Value="r" * 48, Type="SecureString", Overwrite=True)
    try:
        parameters.clear_caches()  # type: ignore[no-untyped-call]  # the console's 30 s token cache, run out
        console.page.goto("/console/alerts")
        expect(console.page).to_have_url(re.compile(r"/console/login$"))
        assert _create_with(console, cookies, csrf, f"after-rotation-{uuid.uuid4().hex[:6]}") == 303
        console.sign_in("r" * 48)
        expect(console.page).to_have_url(re.compile(r"/console/alerts"))
    finally:
        client.put_parameter(Name=name, Value=stack.admin_token, Type="SecureString", Overwrite=True)
        parameters.clear_caches()  # type: ignore[no-untyped-call]


def test_every_page_sends_a_strict_content_security_policy(console: Console, stack: LocalStack) -> None:
    console.sign_in()
    for path in ("/console/login", "/console/alerts", "/console/strategies", "/console/deliveries"):
        answer = console.page.goto(path)
        assert answer is not None
        headers = answer.headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        # Connections: this origin and the live WebSocket API's (locally ws://127.0.0.1:<port>), nothing else.
        assert stack.websocket is not None
        live_origin = stack.websocket.url.removesuffix("/live")
        assert f"connect-src 'self' {live_origin};" in headers["content-security-policy"]
        assert (headers["x-frame-options"], headers["x-content-type-options"]) == ("DENY", "nosniff")
    assert not console.page.locator("script:not([src])").count(), "no inline script"
    assert not console.page.locator("[style]").count(), "no inline style"


def test_on_a_phone_the_alerts_table_and_detail_fit(browser: Browser, stack: LocalStack) -> None:
    phone = Console(browser, stack, phone=True)
    try:
        alert_id = post_alert(stack, comment="on a phone")
        phone.sign_in()
        page = phone.page
        expect(page.locator(f"#alert-{alert_id}")).to_be_visible()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"no sideways scrolling on the alerts page ({width}px)"
        phone.shot("alerts-phone")
        page.goto(f"/console/alerts/{alert_id}")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 391
        phone.shot("alert-detail-phone")
    finally:
        phone.close()


def test_screenshots_for_the_readme_can_be_refreshed() -> None:
    """`make screenshots` copies two of the shots into docs/images for the README."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    for name in ("alerts-desktop", "alerts-phone"):
        assert f"docs/images/console-{name}.png" in readme
        assert (PROJECT_ROOT / f"docs/images/console-{name}.png").is_file()


def test_the_local_docs_page_renders_swagger_ui_from_the_stacks_own_assets(console: Console) -> None:
    """/docs was blank without internet (Swagger UI came from a CDN): now every file is served locally."""
    console.page.goto("/docs")
    expect(console.page.locator(".swagger-ui .info")).to_contain_text("Arrowhook", timeout=WAIT_MS)
    expect(console.page.locator(".opblock-summary-path", has_text="/destinations").first).to_be_visible()
    console.shot("api-docs")


def _rejected(console: Console, reason: str) -> int:
    return int(console.page.locator(f"#rejections tr[data-reason={reason}] td.num").inner_text())


def test_the_overview_charts_alerts_per_hour_and_day_by_strategy(console: Console, stack: LocalStack) -> None:
    assert stack.api is not None
    post_alert(stack, comment="overview")
    post_alert(stack, price="bad", comment="overview with an issue")
    repeated = strategy_alert(DEMO_SECRET, comment=f"overview repeat {uuid.uuid4().hex}")
    answers = [httpx.post(f"{stack.api.url}/webhook", content=repeated, timeout=30).json() for _ in range(2)]
    assert answers[1]["duplicate"] is True
    console.sign_in()
    console.page.goto("/console/overview")
    page = console.page
    expect(page.locator("[data-chart=hours] canvas")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("[data-chart=days] canvas")).to_be_visible()
    expect(page.locator(".u-legend").first).to_contain_text("demo")
    figures = page.locator(".figure").all_inner_texts()
    assert int(figures[0].split()[0].rstrip("+")) >= 2
    assert float(figures[1].split()[0]) > 0, "the parse-issue rate counts the alert with a bad price"
    assert float(page.locator("#duplicate-rate").inner_text().split()[0]) > 0, "the repeat is counted"
    # Refusals come back from (the embedded) CloudWatch, published from the webhook's metric lines.
    before = _rejected(console, "unauthorized"), _rejected(console, "empty_body")
    for body in ('{"key": "ahk_wrong"}', '{"key": "ahk_wrong_too"}'):
        assert httpx.post(f"{stack.api.url}/webhook", content=body, timeout=30).status_code == 401
    assert httpx.post(f"{stack.api.url}/webhook", content=" ", timeout=30).status_code == 400
    deadline = time.monotonic() + WAIT_MS / 1000  # published by a background thread: a few reloads at most
    while (_rejected(console, "unauthorized"), _rejected(console, "empty_body")) != (before[0] + 2, before[1] + 1):
        assert time.monotonic() < deadline, (before, _rejected(console, "unauthorized"))
        page.wait_for_timeout(250)
        page.reload()
    assert _rejected(console, "forbidden") == 0
    console.shot("overview-desktop")


def test_an_alerts_repeated_deliveries_are_listed_on_its_page(console: Console, stack: LocalStack) -> None:
    assert stack.api is not None
    body = strategy_alert(DEMO_SECRET, comment=f"repeated {uuid.uuid4().hex}")
    first, second = (httpx.post(f"{stack.api.url}/webhook", content=body, timeout=30) for _ in range(2))
    assert second.json() == {**first.json(), "duplicate": True}
    console.sign_in()
    console.page.goto(f"/console/alerts/{first.json()['alert_id']}")
    expect(console.page.locator("dd.duplicates")).to_have_text("1")
    expect(console.page.locator("ul.repeats li")).to_have_count(1)


def test_the_deliveries_page_resumes_a_paused_destination_and_sends_what_it_missed(
    console: Console, stack: LocalStack, admin: httpx.Client
) -> None:
    """A receiver answered 410 Gone: the page shows the destination paused and the alert not delivered;
    one button resumes it and sends the alert again, with the message id it had."""
    receivers = Receivers().start()
    path = f"/hook/console-{uuid.uuid4().hex[:8]}"
    receivers.script(path, Scripted(410, "deleted"))
    body = {"kind": "webhook", "name": f"gone-{uuid.uuid4().hex[:6]}", "url": receivers.url + path}
    destination = admin.post("/destinations", json=body).json()
    try:
        alert_id = post_alert(stack, ticker=f"GONE{uuid.uuid4().hex[:4].upper()}")
        deadline = time.monotonic() + WAIT_MS / 1000
        while not admin.get("/deliveries/unsent", params={"destination_id": destination["id"]}).json()["items"]:
            assert time.monotonic() < deadline, "the 410 was not recorded"
            time.sleep(0.3)
        console.sign_in()
        console.page.goto("/console/deliveries")
        lane = console.page.locator(f"#lane-{destination['id']}")
        expect(lane).to_contain_text("paused")
        expect(lane).to_contain_text("410 Gone")
        expect(console.page.locator("table.unsent")).to_contain_text(alert_id)
        console.shot("deliveries")
        lane.get_by_role("button", name="Resume and send 1 again").click()
        expect(console.page.locator("p.notice")).to_contain_text("1 delivery sent again")
        gone, again = receivers.wait_for(path, 2, timeout=WAIT_MS / 1000)
        assert again.json()["data"]["alert_id"] == alert_id
        assert again.headers["webhook-id"] == gone.headers["webhook-id"]
        console.page.goto("/console/deliveries")
        expect(console.page.locator(f"#lane-{destination['id']}")).to_contain_text("on")
    finally:
        admin.delete(f"/destinations/{destination['id']}")
        receivers.stop()


def test_a_strategys_positions_page(console: Console, stack: LocalStack) -> None:
    post_alert(stack, ticker="XRPUSDT", market_position="short", market_position_size="40")
    console.sign_in()
    console.page.goto("/console/strategies")
    console.page.locator("tr", has_text="demo").locator("a", has_text="positions").click()
    row = console.page.locator("table.positions tr", has_text="XRPUSDT")
    expect(row).to_contain_text("short")
    expect(row).to_contain_text("40")


def test_signal_health_is_shown_in_the_table_and_the_detail_and_set_per_strategy(
    console: Console, stack: LocalStack
) -> None:
    assert stack.api is not None
    ticker = f"H{uuid.uuid4().hex[:6].upper()}"
    post_alert(stack, ticker=ticker, prev_market_position="flat", market_position="long")
    flagged = post_alert(stack, ticker=ticker, prev_market_position="flat", market_position="short", action="sell")
    headers = {"Authorization": f"Bearer {stack.admin_token}"}
    deadline = time.monotonic() + WAIT_MS / 1000  # the check runs once the alert has settled
    while not (
        (httpx.get(f"{stack.api.url}/alerts/{flagged}", headers=headers, timeout=30).json().get("health") or {}).get(
            "checked_at"
        )
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    console.sign_in()
    page = console.page
    page.goto(f"/console/alerts?ticker={ticker}")
    expect(page.locator(f"#alert-{flagged} .badge.gap")).to_be_visible()
    page.goto(f"/console/alerts/{flagged}")
    expect(page.locator("#signal-health dd.gap")).to_contain_text("this one expected flat")
    console.shot("signal-health-detail")

    name = f"sig-{uuid.uuid4().hex[:6]}"
    assert httpx.post(f"{stack.api.url}/keys", json={"name": name}, headers=headers, timeout=30).status_code == 201
    page.goto("/console/strategies")
    row = page.locator("tr", has_text=name)
    row.locator("summary").click()
    form = row.locator("form.signals-form")
    form.locator("input[name=max_lag_seconds]").fill("45")
    form.locator("input[name=expect_every_minutes]").fill("30")
    form.locator("input[name=trading_hours]").fill("mon-fri 09:30-16:00 America/New_York")
    form.locator("select[name=sequence]").select_option("alternating")
    form.locator("button[type=submit]").click()
    expect(page.locator("tr", has_text=name).locator("td.signals")).to_contain_text("max lag 45 s")
    signals = httpx.get(f"{stack.api.url}/keys", params={"name": name}, headers=headers, timeout=30).json()["items"][0]
    assert signals["signals"]["expect_every_minutes"] == 30 and signals["signals"]["sequence"] == "alternating"
    row = page.locator("tr", has_text=name)
    row.locator("summary").click()
    row.locator("input[name=trading_hours]").fill("someday 9-5")
    row.locator("form.signals-form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("Signals not saved: trading hours")


def test_the_strategy_lists_hold_every_key_not_only_a_first_page(console: Console, stack: LocalStack) -> None:
    """A desk with more strategies than one page of the keys index: the strategies page, the overview and
    the alerts filter list them all (the console read only the first 100)."""
    from arrowhook.core.models import StrategyKey, new_id, utc_now
    from arrowhook.keys.credentials import display_prefix, generate_secret, hash_secret
    from arrowhook.keys.store import KeyStore
    from arrowhook_tools.standins.embedded_aws import dynamodb

    store = KeyStore(stack.template.physical_name("KeysTable"), client=dynamodb(stack.aws.endpoint))
    batch = uuid.uuid4().hex[:4]
    names = [f"zz-many-{batch}-{number:03}" for number in range(105)]  # sorted after every other key
    created: list[str] = []
    try:
        for name in names:
            secret, now = generate_secret(), utc_now()
            key = StrategyKey(
                id=new_id(), name=name, secret_prefix=display_prefix(secret), created_at=now, updated_at=now
            )
            store.create(key, hash_secret(secret))
            created.append(key.id)
        console.sign_in()
        for path in ("/console/strategies", "/console/overview", "/console/alerts"):
            page = console.page.request.get(path, timeout=WAIT_MS * 4)
            assert page.status == 200, path
            assert [name for name in names if name not in page.text()] == [], path
    finally:
        for key_id in created:
            store.delete(key_id)


def test_axe_core_finds_no_serious_accessibility_violation_on_any_page(browser: Browser, stack: LocalStack) -> None:
    """Contrast (4.32:1 on the muted text) and keyboard focus were serious findings. The check runs in a
    context that lets axe-core's script in (the console's own CSP would refuse it, as it should)."""
    assert stack.api is not None
    alert_id = post_alert(stack, ticker=f"AXE{uuid.uuid4().hex[:4].upper()}")
    context = browser.new_context(base_url=stack.api.url, bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto("/console/login")
        findings = {"login": axe_violations(page)}
        page.fill("#token", stack.admin_token)
        page.click("button[type=submit]")
        expect(page).to_have_url(re.compile(r"/console/alerts$"))
        for name, path in (
            ("alerts", "/console/alerts"),
            ("alert", f"/console/alerts/{alert_id}"),
            ("overview", "/console/overview"),
            ("deliveries", "/console/deliveries"),
            ("strategies", "/console/strategies"),
        ):
            page.goto(path)
            findings[name] = axe_violations(page)
        page.fill("form[action='/console/strategies'] input[name=name]", f"axe-{uuid.uuid4().hex[:6]}")
        page.click("form[action='/console/strategies'] button[type=submit]")
        expect(page.locator("#secret")).to_be_visible()
        findings["secret shown once"] = axe_violations(page)
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"/console/alerts/{alert_id}")
        findings["alert on a phone"] = axe_violations(page)
    finally:
        context.close()
    failing = {name: found for name, found in findings.items() if found}
    assert not failing, json.dumps(failing, indent=1)


def test_the_console_gets_a_live_ticket_from_its_session_only(console: Console, stack: LocalStack) -> None:
    """The page's ticket for the live WebSocket API (docs/live.md): a POST with the session's CSRF token;
    without it, refused like every other form."""
    console.sign_in()
    csrf = console.page.locator("form.signout input[name=csrf_token]").get_attribute("value")
    assert csrf
    refused = console.page.request.post("/console/live/ticket", max_redirects=0)
    assert refused.status == 403
    issued = console.page.request.post("/console/live/ticket", headers={"X-CSRF-Token": csrf}, max_redirects=0)
    assert issued.status == 200, issued.text()
    body = issued.json()
    assert stack.websocket is not None and body["url"] == stack.websocket.url  # the local WebSocket API
    assert body["ticket"].count(".") == 1 and body["expires_at"].endswith("Z")
