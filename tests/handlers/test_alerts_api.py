"""Alerts admin API inside moto: filters, order, pages, signed cursors, and only Query/GetItem calls."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from arrowhook.alerts.query import parse_moment
from arrowhook.alerts.store import AlertStore
from arrowhook.core.models import StoredAlert, new_id
from arrowhook.core.tradingview import AlertFields, ParseIssue, Side
from arrowhook_tools.local.template import PROJECT_ROOT, LocalTemplate
from arrowhook_tools.standins.embedded_aws import provision_secure_parameters
from arrowhook_tools.standins.gateway_routes import RouteTable
from tests.conftest import ApiResponse, Strategy, call_route, load_module
from tests.fakes.alerts import START, stored_alert

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Call = Callable[..., ApiResponse]


@pytest.fixture
def alerts_app(aws: DynamoDBClient, template: LocalTemplate, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    from aws_lambda_powertools.utilities import parameters

    for name, value in template.function_spec("AlertsFunction").environment.items():
        monkeypatch.setenv(name, value)
    provision_secure_parameters(template, boto3.client("ssm"))
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    yield load_module(PROJECT_ROOT / "functions/alerts/app.py", "alerts_app_under_test")


@pytest.fixture
def operations(aws: DynamoDBClient, alerts_app: ModuleType) -> list[str]:
    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    for client in (alerts_app.alerts._client, alerts_app.keys._client):
        client.meta.events.register("before-call.dynamodb", record)
    return seen


@pytest.fixture
def api(alerts_app: ModuleType, admin_routes: RouteTable) -> Call:
    def call(target: str) -> ApiResponse:
        return call_route(alerts_app, admin_routes, "GET", target)

    return call


@pytest.fixture
def seeded(make_strategy: Callable[[str], Strategy], aws: DynamoDBClient, template: LocalTemplate) -> list[StoredAlert]:
    """30 alerts over three days, two strategies, three tickers, all sides; newest last."""
    strategies = [make_strategy("alpha"), make_strategy("beta")]
    store = AlertStore(template.physical_name("AlertsTable"), client=aws)
    created = []
    for number in range(30):
        received = START + timedelta(hours=2 * number)
        strategy = strategies[number % 2]
        alert = StoredAlert(
            alert_id=new_id(int(received.timestamp() * 1000)),
            key_id=strategy.key.id,
            strategy=strategy.key.name,
            received_at=received,
            body_format="json",
            payload="{}",
            fields=AlertFields(
                ticker=["BTCUSDT", "ETHUSD", "AAPL"][number % 3],
                side=list(Side)[number % 3],
                price=Decimal("0.1") * number + Decimal("0.2"),
            ),
        )
        store.put(alert, f"hash-{number}", 60)
        created.append(alert)
    return created


def ids(alerts: list[StoredAlert]) -> list[str]:
    return [alert.alert_id for alert in alerts]


def walk(api: Call, target: str, page_size: int) -> list[str]:
    found: list[str] = []
    cursor = None
    for _ in range(100):
        response = api(
            f"{target}{'&' if '?' in target else '?'}limit={page_size}" + (f"&cursor={cursor}" if cursor else "")
        )
        assert response.status == 200, response.body
        found.extend(item["alert_id"] for item in response.body["items"])
        cursor = response.body["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("page_size", [1, 4, 7, 50])
@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ("", lambda alert: True),
        ("strategy=alpha", lambda alert: alert.strategy == "alpha"),
        ("ticker=ethusd", lambda alert: alert.fields.ticker == "ETHUSD"),
        ("side=close", lambda alert: alert.fields.side == Side.CLOSE),
        ("strategy=beta&ticker=AAPL", lambda alert: alert.strategy == "beta" and alert.fields.ticker == "AAPL"),
        ("ticker=BTCUSDT&side=buy", lambda alert: alert.fields.ticker == "BTCUSDT" and alert.fields.side == Side.BUY),
        (
            "since=2026-11-21T00:00:00Z&until=2026-11-22T06:00:00Z",
            lambda alert: (
                datetime(2026, 11, 21, tzinfo=UTC) <= alert.received_at <= datetime(2026, 11, 22, 6, tzinfo=UTC)
            ),
        ),
        (
            "strategy=alpha&side=sell&since=2026-11-21T00:00:00Z",
            lambda alert: (
                alert.strategy == "alpha"
                and alert.fields.side == Side.SELL
                and alert.received_at >= datetime(2026, 11, 21, tzinfo=UTC)
            ),
        ),
    ],
)
def test_every_filter_returns_exactly_the_matching_alerts_in_order(
    api: Call,
    seeded: list[StoredAlert],
    operations: list[str],
    query: str,
    keep: Callable[[StoredAlert], bool],
    page_size: int,
) -> None:
    target = "/alerts?" + query + ("&" if query else "") + "since=2026-11-19T00:00:00Z" * ("since" not in query)
    expected = [alert.alert_id for alert in sorted(seeded, key=lambda a: a.received_at, reverse=True) if keep(alert)]
    assert expected, "the case selects something"
    assert walk(api, target, page_size) == expected
    assert set(operations) <= {"Query", "GetItem", "BatchGetItem"}, "no request is served by a Scan"
    assert "Query" in operations


def test_oldest_first(api: Call, seeded: list[StoredAlert]) -> None:
    assert walk(api, "/alerts?strategy=alpha&order=oldest", 4) == ids([a for a in seeded if a.strategy == "alpha"])


def test_decimals_are_exact_strings(api: Call, seeded: list[StoredAlert]) -> None:
    items = api("/alerts?since=2026-11-19T00:00:00Z&limit=500&order=oldest").body["items"]
    assert [item["price"] for item in items[:3]] == ["0.2", "0.3", "0.4"]
    assert sum(Decimal(item["price"]) for item in items[:2]) == Decimal("0.5")


def test_one_alert_with_payload_and_metadata(api: Call, seeded: list[StoredAlert]) -> None:
    response = api(f"/alerts/{seeded[0].alert_id}")
    assert response.status == 200
    assert response.body["payload"] == "{}"
    assert response.body["ticker"] == "BTCUSDT" and response.body["strategy"] == "alpha"
    assert "source_ip" in response.body and "parse_issues" in response.body
    assert api("/alerts/nope").status == 404
    assert "payload" not in api("/alerts?limit=1&since=2026-11-19T00:00:00Z").body["items"][0]


def test_tampered_and_foreign_cursors_are_400(api: Call, seeded: list[StoredAlert]) -> None:
    cursor = api("/alerts?strategy=alpha&limit=2").body["next_cursor"]
    assert cursor
    assert api(f"/alerts?strategy=alpha&limit=2&cursor={cursor}").status == 200
    body, _, signature = cursor.partition(".")
    forged_state = json.dumps({"f": "x", "s": {"p": 0, "k": None}}).encode()
    import base64

    forged = base64.urlsafe_b64encode(forged_state).decode().rstrip("=") + "." + signature
    for bad in (cursor[:-2], forged, "garbage", body):
        response = api(f"/alerts?strategy=alpha&limit=2&cursor={bad}")
        assert (response.status, response.body) == (400, {"error": "invalid_cursor", "message": "invalid cursor"}), bad
    assert api(f"/alerts?strategy=beta&limit=2&cursor={cursor}").status == 400, "a cursor for other filters"


def test_stats(api: Call, seeded: list[StoredAlert]) -> None:
    body = api("/alerts/stats?since=2026-11-19T00:00:00Z").body
    assert body["total"] == 30
    assert body["by_strategy"] == {"alpha": 15, "beta": 15}
    assert body["by_ticker"] == {"BTCUSDT": 10, "ETHUSD": 10, "AAPL": 10}
    assert body["by_side"] == {"buy": 10, "sell": 10, "close": 10}
    assert body["first_seen"].startswith("2026-11-20T12:00") and body["last_seen"].startswith("2026-11-22T22:00")
    assert api("/alerts/stats?strategy=alpha&since=2026-11-19T00:00:00Z").body["total"] == 15


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("since=yesterday", 400),
        ("key_id=a&strategy=b", 400),
        ("limit=0", 422),
        ("limit=501", 422),
        ("side=hold", 422),
        ("order=random", 422),
        # Times that used to overflow (500 after seconds) or run away (one Query per day for millennia):
        ("until=9999-12-31", 400),
        ("since=0001-01-01T00:00:00%2B05:00", 400),
        ("since=999999999w", 400),
        ("since=52000w", 400),
        ("since=2001-01-01", 400),  # across all strategies: at most 366 days
        ("since=2026-11-22&until=2026-11-21", 400),
    ],
)
def test_bad_parameters(api: Call, query: str, status: int) -> None:
    answer = api(f"/alerts?{query}")
    assert answer.status == status
    assert answer.body["error"] and answer.body["message"]
    if "since=" in query or "until=" in query:
        assert api(f"/alerts/stats?{query}").status == 400, "stats is bounded the same way"


def test_a_request_reads_a_bounded_number_of_day_partitions_and_the_cursor_continues(
    api: Call, seeded: list[StoredAlert], alerts_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(alerts_app.listing, "now", lambda: START + timedelta(days=200))
    calls: list[str] = []
    alerts_app.alerts._client.meta.events.register("before-call.dynamodb.Query", lambda **_: calls.append("q"))
    pages, cursor = 0, ""
    found: list[str] = []
    while True:
        calls.clear()
        answer = api(f"/alerts?since=2026-11-01&limit=500{cursor}")
        assert answer.status == 200 and len(calls) <= 31
        pages += 1
        found.extend(item["alert_id"] for item in answer.body["items"])
        if not answer.body["next_cursor"]:
            break
        cursor = f"&cursor={answer.body['next_cursor']}"
    assert pages > 1, "an empty stretch of days ends a page early, with a cursor"
    assert found == [alert.alert_id for alert in reversed(seeded)]


def test_relative_times_are_resolved_once_and_page_two_follows_page_one(
    api: Call, seeded: list[StoredAlert], alerts_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--since 72h` used to be re-resolved on every request: page 2's cursor no longer matched (400)."""
    clock = iter(START + timedelta(hours=70, minutes=minutes) for minutes in range(0, 1000, 7))
    monkeypatch.setattr(alerts_app.listing, "now", lambda: next(clock))
    found: list[str] = []
    cursor = ""
    while True:
        answer = api(f"/alerts?since=72h&limit=7{cursor}")
        assert answer.status == 200, answer.body
        found.extend(item["alert_id"] for item in answer.body["items"])
        if not answer.body["next_cursor"]:
            break
        cursor = f"&cursor={answer.body['next_cursor']}"
    assert found == [alert.alert_id for alert in reversed(seeded)], "every alert of the first page's range, once"


def test_unknown_strategy_is_an_empty_page(api: Call, seeded: list[StoredAlert]) -> None:
    assert api("/alerts?strategy=nobody").body == {"items": [], "next_cursor": None}


def test_relative_times() -> None:
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    assert parse_moment("24h", now) == datetime(2026, 11, 21, 12, tzinfo=UTC)
    assert parse_moment("7d", now) == datetime(2026, 11, 15, 12, tzinfo=UTC)
    assert parse_moment("30m", now) == datetime(2026, 11, 22, 11, 30, tzinfo=UTC)
    assert parse_moment("2026-11-01T00:00:00", now) == datetime(2026, 11, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="neither ISO"):
        parse_moment("soon", now)


def test_the_list_shows_what_to_read_first_and_filters_by_body_and_issues(
    api: Call, make_strategy: Callable[[str], Strategy], aws: DynamoDBClient, template: LocalTemplate
) -> None:
    """A text alert's row used to be empty: `message` is its body (or alert_message, or the comment)."""
    strategy = make_strategy("texts")
    store = AlertStore(template.physical_name("AlertsTable"), client=aws)
    texts = [
        stored_alert(strategy.key, 0, body_format="text", payload="BTCUSDT crossed 65000"),
        stored_alert(strategy.key, 1, comment="EMA cross"),
        stored_alert(strategy.key, 2, issues=[ParseIssue(field="price", problem="not a number")]),
        # A large body is kept compressed: `contains` still finds what is in it, and not what is not.
        stored_alert(strategy.key, 3, body_format="text", payload="x" * 40_000 + " crossed again"),
        stored_alert(strategy.key, 4, body_format="text", payload="y" * 40_000),
    ]
    for number, alert in enumerate(texts):
        store.put(alert, f"text-{number}", 0)
    items = api("/alerts?strategy=texts&order=oldest").body["items"]
    assert [item.get("message") for item in items][:3] == ["BTCUSDT crossed 65000", "EMA cross", None]
    found = api("/alerts?strategy=texts&contains=crossed&order=oldest").body["items"]
    assert [item["alert_id"] for item in found] == [texts[0].alert_id, texts[3].alert_id]
    assert items[0]["text"] == "BTCUSDT crossed 65000" and items[1].get("text") is None, "a text alert's body"
    assert [
        item["parse_issues"][0]["field"] for item in api("/alerts?strategy=texts&has_issues=true").body["items"]
    ] == ["price"]


def test_the_api_answers_by_name_or_id_and_404s_an_unknown_strategy(
    api: Call, aws: DynamoDBClient, template: LocalTemplate, make_strategy: Callable[[str], Strategy]
) -> None:
    key = make_strategy("api-pos").key
    alert = stored_alert(key, 1, ticker="BTCUSDT", market_position="long", market_position_size="0.5")
    AlertStore(template.physical_name("AlertsTable"), client=aws).put(alert, "api-pos", 0)
    for reference in (key.id, "api-pos"):
        answer = api(f"/strategies/{reference}/positions")
        assert answer.status == 200, answer.body
        assert answer.body["strategy"] == "api-pos"
        assert [(p["ticker"], p["position"], p["size"]) for p in answer.body["positions"]] == [
            ("BTCUSDT", "long", "0.5")
        ]
    assert api("/strategies/nope/positions").status == 404


def test_a_live_ticket_names_its_strategies_by_id_and_an_unknown_one_is_404(
    alerts_app: ModuleType, admin_routes: RouteTable, make_strategy: Callable[[str], Strategy]
) -> None:
    from arrowhook.aws.secure_parameters import secure_value
    from arrowhook.live.tickets import TicketSigner

    def post(body: Any) -> ApiResponse:
        return call_route(alerts_app, admin_routes, "POST", "/live/tickets", body)

    alpha = make_strategy("alpha")
    issued = post({"strategies": ["ALPHA", alpha.key.id]})
    assert issued.status == 201, issued.body
    assert issued.body["strategies"] == [alpha.key.id] and issued.body["url"] == alerts_app.settings.live_url
    key = secure_value(alerts_app.settings.cursor_key_parameter, 3600).encode()
    ticket = TicketSigner(key).check(issued.body["ticket"], datetime.now(UTC))
    assert (ticket.holder, ticket.strategies) == ("admin", (alpha.key.id,))
    assert post(None).body["strategies"] is None
    assert post({"strategies": ["nope"]}).status == 404
