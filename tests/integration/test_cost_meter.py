"""The cost meter on the local stack: one alert through the webhook and the stream consumer, every unit it
causes checked against a count by hand from the items as stored, and no AWS call left without a price."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from arrowhook.aws.dynamodb import item_size
from arrowhook_tools.cli.samples import strategy_alert
from arrowhook_tools.local.stack import LocalStack
from arrowhook_tools.local.template import PROJECT_ROOT
from arrowhook_tools.standins.meter import (
    OBSERVER,
    PIPE_CALLER,
    Meter,
    calling_as,
    life_cycle_per_million,
    metering,
    write_units,
)
from arrowhook_tools.standins.receivers import Receivers
from tests.integration.conftest import ARRIVAL_SECONDS, Strategy, in_process_stack

README = PROJECT_ROOT / "README.md"
PERFORMANCE = PROJECT_ROOT / "docs/performance.md"


@pytest.fixture(scope="module")
def running(receivers: Receivers) -> Iterator[LocalStack]:
    with in_process_stack({"AllowHttpDestinations": "true", "EventBus": "on"}) as stack:
        yield stack


def item(stack: LocalStack, table_id: str, **key: str) -> dict[str, Any]:
    client = boto3.client("dynamodb", endpoint_url=stack.aws.endpoint)
    with calling_as(OBSERVER):
        found = client.get_item(
            TableName=stack.template.physical_name(table_id), Key={name: {"S": value} for name, value in key.items()}
        )
    return dict(found.get("Item") or {})


def forget_live_connections(stack: LocalStack) -> int:
    """No live client here: connection records another module's stack left in this process's tables (a
    client that gave up mid-handshake on a loaded machine never sends its `$disconnect`) would each cost
    this alert's fan-out a push and a delete. Removed before metering, as API Gateway's 410 would."""
    client = boto3.client("dynamodb", endpoint_url=stack.aws.endpoint)
    table = stack.template.physical_name("KeysTable")
    with calling_as(OBSERVER):
        stale = [
            entry["pk"]
            for page in client.get_paginator("scan").paginate(TableName=table)
            for entry in page["Items"]
            if entry["pk"]["S"].startswith("CONNECTION#")
        ]
        for pk in stale:
            client.delete_item(TableName=table, Key={"pk": pk})
    return len(stale)


def units(meter: Meter, who: str, price: str) -> float:
    return sum(quantity for (caller, name), quantity in meter.usage.items() if caller == who and name == price)


def test_one_alert_is_metered_unit_by_unit_and_every_call_has_a_price(
    stack: LocalStack, admin: httpx.Client, receivers: Receivers
) -> None:
    strategy = Strategy(admin, receivers)
    strategy.destination("webhook")
    assert stack.api is not None
    forget_live_connections(stack)
    meter = Meter(stack.template)
    with metering(meter):
        answer = httpx.post(f"{stack.api.url}/webhook", content=strategy_alert(strategy.secret), timeout=30).json()
        alert_id = answer["alert_id"]
        deadline = time.monotonic() + ARRIVAL_SECONDS
        while not receivers.at(strategy.path("webhook")):
            assert time.monotonic() < deadline, "the alert was not delivered in time"
            time.sleep(0.1)
        # The sender's record and the Pipe's event land after the destination's request.
        while not (
            units(meter, "SenderFunction", "dynamodb_write_unit")
            and units(meter, PIPE_CALLER, "eventbridge_pipe_request")
        ):
            assert time.monotonic() < deadline, "the delivery record or the bus event did not land in time"
            time.sleep(0.1)
    stored = item(stack, "AlertsTable", pk=f"ALERT#{alert_id}")
    # By hand: the marker, then the alert, each a plain write (no transaction: that billed both twice),
    # and the alert's entry in each of its two indexes: keys, ticker, side, strategy (and key_id in the
    # day index), far under 1 KB: one unit each. A marker (DEDUPE#, a 64-character hash, the alert id, an
    # expiry) is well under 1 KB: one unit.
    entries = [
        {name: stored[name] for name in ("pk", "key_id", "sort_key", "ticker", "side", "strategy")},
        {name: stored[name] for name in ("pk", "day", "sort_key", "ticker", "side", "strategy", "key_id")},
    ]
    assert all(write_units(item_size(entry)) == 1 for entry in entries)
    alert_units, marker_units = write_units(item_size(stored)), 1
    assert units(meter, "WebhookFunction", "dynamodb_write_unit") == marker_units + alert_units + len(entries)
    # The stream consumer writes the pending delivery record (under 1 KB), and nothing on the alert: its
    # strategy declares no check, so its health is the lag it carries.
    assert "health" not in stored
    assert units(meter, "DeliveryFunction", "dynamodb_write_unit") == 1, "the pending delivery record only"
    assert units(meter, "HttpApi", "api_gateway_http_request") == 1
    assert units(meter, "WebhookFunction", "lambda_request") == 1
    assert units(meter, "SenderFunction", "lambda_request") >= 1
    assert units(meter, "DeliveryFunction", "sqs_fifo_request") == 1, "the lane's message, sent once"
    assert units(meter, "AlertEventPipe", "eventbridge_pipe_request") == 1
    assert units(meter, "WebhookFunction", "cloudwatch_logs_ingest_gb") > 0, "the webhook's own lines are counted"
    assert units(meter, "WebhookFunction", "xray_trace_recorded") == 0, "tracing is off by default"
    assert not meter.unpriced, f"calls the meter has no price for: {sorted(meter.unpriced)}"


def test_the_readmes_figure_is_the_meters_for_one_alert_with_the_defaults(
    stack: LocalStack, admin: httpx.Client, receivers: Receivers
) -> None:
    """The README's "about $N per million alerts over their life" stays within 15 % of what the meter
    measures for one alert with no destination (the bus is off by default: its Pipe is left out), and
    docs/performance.md's measured defaults agree with it."""
    strategy = Strategy(admin, receivers)
    assert stack.api is not None
    meter = Meter(stack.template)
    with metering(meter):
        assert stack.streams is not None
        handled = stack.streams.handled["DeliveryFunction"]
        alert_id = strategy.send(stack)
        deadline = time.monotonic() + ARRIVAL_SECONDS
        while stack.streams.handled["DeliveryFunction"] <= handled:
            assert time.monotonic() < deadline, "the stream consumer did not handle the alert in time"
            time.sleep(0.1)
    for key in [key for key in meter.usage if key[0] == PIPE_CALLER]:
        del meter.usage[key]
    figures = life_cycle_per_million(
        meter,
        [item(stack, "AlertsTable", pk=f"ALERT#{alert_id}")],
        [],
        alerts_table=stack.template.physical_name("AlertsTable"),
        deliveries_table=stack.template.physical_name("DeliveriesTable"),
        retention_days=int(stack.template.parameters["ArchiveRetentionDays"]),
    )
    stated = re.search(r"about \$(\d+(?:\.\d+)?) per million alerts\s+over their life", README.read_text())
    assert stated is not None, "the README states an alert's life cost"
    assert sum(figures.values()) == pytest.approx(float(stated[1]), rel=0.15), figures
    measured = re.search(r"\| defaults: a strategy alert [^|]*\| \*\*(\d+\.\d+)\*\*", PERFORMANCE.read_text())
    assert measured is not None, "docs/performance.md states the measured defaults"
    assert float(measured[1]) == pytest.approx(float(stated[1]), rel=0.05), "the README and the page agree"
