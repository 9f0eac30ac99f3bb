"""Signal health end to end over real HTTP: alerts posted to the local webhook flow on the stream to the
delivery function; those whose sequence is checked come back through the signal-check queue once
settled; results land on the alert (GET /alerts/{id}) and notices reach a fake webhook receiver. The
silent-strategy check runs as `arrowhook signals check` would (the function, with an `at` moment)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from arrowhook_tools.local.stack import LocalStack
from arrowhook_tools.standins.receivers import Receivers
from tests.integration.conftest import ARRIVAL_SECONDS, Strategy, in_process_stack, settled


@pytest.fixture(scope="module")
def running(receivers: Receivers) -> Iterator[LocalStack]:
    with in_process_stack({"AllowHttpDestinations": "true", "SignalSettleSeconds": "1"}) as stack:
        yield stack


@pytest.fixture
def strategy(admin: httpx.Client, receivers: Receivers) -> Strategy:
    watched = Strategy(admin, receivers)
    watched.destination("webhook")
    return watched


def _health(admin: httpx.Client, alert_id: str, until: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The alert's health once `until` holds (the checks run a settle delay after the alert)."""
    deadline = time.monotonic() + ARRIVAL_SECONDS
    while True:
        health = admin.get(f"/alerts/{alert_id}").json().get("health")
        if (health and until(health)) or time.monotonic() > deadline:
            return dict(health or {})
        time.sleep(0.2)


def _checked(health: dict[str, Any]) -> bool:
    """A declared check ran (before it, the health is only the lag the alert carries: no `checked_at`)."""
    return health.get("checked_at") is not None


def _messages(receivers: Receivers, strategy: Strategy, kind: str, *, expect: int = 0) -> list[dict[str, Any]]:
    """The notices of `kind` the strategy's webhook got, once `expect` arrived (they travel the delivery lane)."""
    deadline = time.monotonic() + ARRIVAL_SECONDS
    while True:
        found = [request.json() for request in receivers.at(strategy.path("webhook"))]
        matching = [message for message in found if message["type"] == kind]
        if len(matching) >= expect or time.monotonic() > deadline:
            return matching
        time.sleep(0.2)


def _order(prev: str, position: str, side: str, fired: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "prev_market_position": prev,
        "market_position": position,
        "action": side,
        "timenow": fired.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **fields,
    }


def test_an_alert_missing_in_the_sequence_is_flagged_on_the_next_and_notified_once(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client, receivers: Receivers
) -> None:
    now = datetime.now(UTC)
    opened = strategy.send(stack, **_order("flat", "long", "buy", now, ticker="GAPUSDT"))
    assert _checked(_health(admin, opened, _checked))
    # the exit (long -> flat) never reaches us: the next entry says the strategy was flat
    shorted = strategy.send(stack, **_order("flat", "short", "sell", now + timedelta(seconds=5), ticker="GAPUSDT"))
    health = _health(admin, shorted, _checked)
    assert health["gap_before"] == {
        "rule": "positions",
        "expected": "flat",
        "found": "long",
        "previous_alert_id": opened,
    }
    [notice] = _messages(receivers, strategy, "signal.gap", expect=1)
    assert notice["data"]["alert_id"] == shorted and "at least one alert is missing" in notice["data"]["message"]
    assert {item["purpose"] for item in admin.get(f"/alerts/{shorted}").json()["deliveries"]} == {"alert", "gap"}
    listed = admin.get("/alerts", params={"strategy": strategy.name}).json()["items"]
    assert {item["alert_id"]: bool(item["health"]["gap_before"]) for item in listed} == {opened: False, shorted: True}


def test_a_pair_arriving_a_few_hundred_ms_apart_in_the_wrong_order_is_not_a_gap(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client
) -> None:
    """The false positive to avoid: TradingView fired entry then exit; the exit arrived first."""
    now = datetime.now(UTC)
    opened = strategy.send(stack, **_order("flat", "long", "buy", now, ticker="ORDUSDT"))
    assert _checked(_health(admin, opened, _checked))
    fired = now + timedelta(seconds=10)
    closed = strategy.send(stack, **_order("long", "flat", "sell", fired, ticker="ORDUSDT"))  # sent second
    time.sleep(0.3)
    reopened = strategy.send(stack, **_order("flat", "long", "buy", fired, ticker="ORDUSDT"))  # sent first
    for alert_id in (closed, reopened):
        health = _health(admin, alert_id, _checked)
        assert _checked(health) and health.get("gap_before") is None, alert_id


def test_a_complete_sequence_and_a_repeated_order_raise_nothing(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client, receivers: Receivers
) -> None:
    now = datetime.now(UTC)
    steps = [("flat", "long", "buy"), ("long", "flat", "sell"), ("flat", "short", "sell"), ("short", "flat", "buy")]
    sent = [
        strategy.send(stack, **_order(prev, position, side, now + timedelta(seconds=5 * index), ticker="SEQUSDT"))
        for index, (prev, position, side) in enumerate(steps)
    ]
    again = strategy.send(
        stack, **_order("short", "flat", "buy", now + timedelta(seconds=16), ticker="SEQUSDT", order_id="exit-1")
    )
    for alert_id in [*sent, again]:
        health = _health(admin, alert_id, _checked)
        assert _checked(health) and health.get("gap_before") is None, alert_id
    assert _messages(receivers, strategy, "signal.gap") == []


def test_a_late_alert_is_flagged_and_a_destination_can_skip_it(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client, receivers: Receivers
) -> None:
    assert admin.patch(f"/keys/{strategy.key_id}", json={"signals": {"max_lag_seconds": 60}}).status_code == 200
    skipping = strategy.destination("webhook", name=f"skip-{strategy.tag}", url=strategy.url("webhook") + "-skip")
    assert admin.patch(f"/destinations/{skipping['id']}", json={"skip_late": True}).json()["skip_late"] is True
    now = datetime.now(UTC)
    late = strategy.send(stack, ticker="LAGUSDT", timenow=(now - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    on_time = strategy.send(stack, ticker="LAGUSDT", timenow=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    late_health, on_time_health = _health(admin, late, _checked), _health(admin, on_time, _checked)
    assert late_health["late"] is True and late_health["lag_ms"] >= 180_000
    assert on_time_health["late"] is False and on_time_health["lag_ms"] < 60_000
    records = strategy.deliveries(late, settled(2))
    by_name = {record["destination_name"]: record for record in records}
    assert by_name[f"skip-{strategy.tag}"]["status"] == "skipped"
    assert by_name[f"skip-{strategy.tag}"]["last_error"].startswith("late: ")
    assert by_name[f"webhook-{strategy.tag}"]["status"] == "delivered"


def test_an_alert_without_timenow_is_never_late(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client, receivers: Receivers
) -> None:
    """An indicator alert on a 15-minute bar, fired now: its `time` is the bar's open, 1961 s ago. No
    lag is claimed (the health says why), and a destination skipping late alerts gets it."""
    assert admin.patch(f"/keys/{strategy.key_id}", json={"signals": {"max_lag_seconds": 60}}).status_code == 200
    skipping = strategy.destination("webhook", name=f"skip-{strategy.tag}", url=strategy.url("webhook") + "-skip")
    assert admin.patch(f"/destinations/{skipping['id']}", json={"skip_late": True}).status_code == 200
    bar_open = (datetime.now(UTC) - timedelta(seconds=1961)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fresh = strategy.send(stack, ticker="BARUSDT", interval="15", time=bar_open, timenow=None)
    health = _health(admin, fresh, _checked)
    assert (health["late"], health.get("lag_ms"), health["lag_unknown"]) == (
        False,
        None,
        "no timenow in the alert: its lag is unknown",
    )
    records = strategy.deliveries(fresh, settled(2))
    assert sorted(record["status"] for record in records) == ["delivered", "delivered"]


def _watch(stack: LocalStack, at: datetime) -> dict[str, Any]:
    result: dict[str, Any] = stack.functions.invoke(
        "DeliveryFunction", {"trigger": "signal-watch", "at": at.isoformat()}
    )
    return result


def test_a_silent_strategy_is_notified_once_and_when_it_recovers(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client, receivers: Receivers
) -> None:
    signals = {"expect_every_minutes": 60}
    assert admin.patch(f"/keys/{strategy.key_id}", json={"signals": signals}).status_code == 200
    strategy.send(stack, ticker="SILUSDT")
    now = datetime.now(UTC)
    assert strategy.name not in _watch(stack, now + timedelta(minutes=30))["silent"]
    assert strategy.name in _watch(stack, now + timedelta(hours=2))["silent"]
    assert strategy.name not in _watch(stack, now + timedelta(hours=2, minutes=5))["silent"], "notified once"
    [silent] = _messages(receivers, strategy, "signal.silent", expect=1)
    assert silent["data"]["strategy"] == strategy.name and "no alert for 2 h" in silent["data"]["message"]
    strategy.send(stack, ticker="SILUSDT", comment="back")  # another body: the same one would be a duplicate
    assert strategy.name in _watch(stack, datetime.now(UTC) + timedelta(minutes=1))["recovered"]
    assert len(_messages(receivers, strategy, "signal.recovered", expect=1)) == 1


def test_silence_outside_trading_hours_is_not_silence(
    stack: LocalStack, strategy: Strategy, admin: httpx.Client
) -> None:
    """A daily session ending 10 minutes after the alert and reopening 18 hours after it: 18 hours later
    the strategy has been quiet for 10 minutes of trading (not silent); 19 hours later, for 70 (silent)."""
    strategy.send(stack, ticker="HRSUSDT")
    items = admin.get("/alerts", params={"strategy": strategy.name}).json()["items"]
    sent = datetime.fromisoformat(items[0]["received_at"]).replace(second=0, microsecond=0)
    hours = {
        "timezone": "UTC",
        "weekdays": list(range(7)),
        "start": (sent - timedelta(hours=6)).strftime("%H:%M"),
        "end": (sent + timedelta(minutes=10)).strftime("%H:%M"),
    }
    signals = {"expect_every_minutes": 60, "trading_hours": hours}
    assert admin.patch(f"/keys/{strategy.key_id}", json={"signals": signals}).status_code == 200
    assert strategy.name not in _watch(stack, sent + timedelta(hours=18))["silent"]
    assert strategy.name in _watch(stack, sent + timedelta(hours=19))["silent"]
