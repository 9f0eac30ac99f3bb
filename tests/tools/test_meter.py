"""The cost meter's rules, each checked against a figure worked out by hand from AWS's published rules."""

from __future__ import annotations

from typing import Any

import pytest

from arrowhook.aws.dynamodb import attribute_size, item_size
from arrowhook_tools.generators.costs import PRICE_TABLE, PRICES
from arrowhook_tools.local.template import LocalTemplate
from arrowhook_tools.standins.meter import IndexShape, Meter, TableShape, read_units


def text(size: int) -> dict[str, str]:
    return {"S": "x" * size}


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "abc"}, 3),
        ({"S": "é"}, 2),  # UTF-8 bytes
        ({"N": "123.45"}, 4),  # 5 significant digits: 3 bytes, plus 1
        ({"N": "1000"}, 3),  # 4 digits: trailing zeros counted (DynamoDB trims them: an upper bound)
        ({"BOOL": True}, 1),
        ({"NULL": True}, 1),
        ({"B": "AAEC"}, 3),  # base64 of 3 bytes
        ({"L": [{"S": "a"}, {"S": "bb"}]}, 3 + 2 + 3),
        ({"M": {"x": {"N": "1"}}}, 3 + 1 + 1 + 2),
        ({"SS": ["a", "bc"]}, 3),
    ],
)
def test_attribute_sizes_follow_dynamodbs_rules(value: dict[str, Any], size: int) -> None:
    assert attribute_size(value) == size


def test_an_item_is_its_names_and_values() -> None:
    assert item_size({"pk": {"S": "ALERT#1"}, "n": {"N": "7"}}) == 2 + 7 + 1 + 2
    assert item_size(None) == 0


@pytest.fixture
def meter() -> Meter:
    meter = Meter(LocalTemplate())
    meter.shapes["t"] = TableShape(
        "t",
        ("pk",),
        (
            IndexShape("All", ("g",), "ALL"),
            IndexShape("Few", ("g",), "INCLUDE", ("shown",)),
            IndexShape("Keys", ("k",), "KEYS_ONLY"),
        ),
    )
    return meter


def write(meter: Meter, operation: str, before: Any, after: Any, response: dict[str, Any] | None = None) -> None:
    """One DynamoDB write of table `t`, the item as it was and as it is."""
    items = {"t|key|0": (before, after)}
    meter.aws_request("Fn", "dynamodb", operation, {"TableName": "t"}, response=response or {}, items=items)


def units(meter: Meter, price: str = "dynamodb_write_unit") -> float:
    return sum(quantity for (_, name), quantity in meter.usage.items() if name == price)


def test_a_transactional_put_counts_twice_and_each_index_entry_once(meter: Meter) -> None:
    """1,500 bytes: 2 units, twice in a transaction = 4; the ALL entry 2 units, the INCLUDE and KEYS_ONLY
    entries under 1 KB: 1 each. Total 4 + 2 + 1 + 1 = 8."""
    item = {"pk": {"S": "p"}, "g": {"S": "g"}, "k": {"S": "k"}, "shown": {"S": "s"}, "body": text(1500 - 17)}
    assert item_size(item) == 1500
    write(meter, "TransactWriteItems", None, item)
    assert units(meter) == 8


def test_a_cancelled_transaction_counts_its_prepare_phase_only(meter: Meter) -> None:
    item = {"pk": {"S": "p"}, "g": {"S": "g"}}
    cancelled = {"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"}
    meter.aws_request(
        "Webhook", "dynamodb", "TransactWriteItems", {}, response=cancelled, items={"t|a|0": (None, item)}
    )
    assert units(meter) == 1


def test_an_update_rewrites_only_the_index_entries_whose_projection_changed(meter: Meter) -> None:
    """A new `health` attribute: the item (1 unit) and the ALL entry (1); INCLUDE and KEYS_ONLY stay."""
    before = {"pk": {"S": "p"}, "g": {"S": "g"}, "k": {"S": "k"}, "shown": {"S": "s"}}
    after = {**before, "health": {"S": "ok"}}
    meter.aws_request(
        "Delivery", "dynamodb", "UpdateItem", {"TableName": "t"}, response={}, items={"t|a|0": (before, after)}
    )
    assert units(meter) == 2


def test_a_changed_index_key_deletes_one_entry_and_puts_another(meter: Meter) -> None:
    before = {"pk": {"S": "p"}, "k": {"S": "old"}}
    after = {"pk": {"S": "p"}, "k": {"S": "new"}}
    write(meter, "PutItem", before, after)
    assert units(meter) == 1 + 2


def test_a_delete_removes_the_item_and_every_index_entry(meter: Meter) -> None:
    item = {"pk": {"S": "p"}, "g": {"S": "g"}, "k": {"S": "k"}, "big": text(2000)}
    assert meter.delete_units("t", item) == 2 + 2 + 1 + 1
    meter.aws_request(
        "Archive", "dynamodb", "DeleteItem", {"TableName": "t"}, response={}, items={"t|a|0": (item, None)}
    )
    assert units(meter) == 6


def test_reads_are_4_kb_units_halved_when_eventually_consistent(meter: Meter) -> None:
    assert read_units(5000, consistent=True) == 2
    assert read_units(5000, consistent=False) == 1
    assert read_units(0, consistent=False) == 0.5, "an item not found still costs a unit's half"
    found = {"Items": [{"pk": text(3000)}, {"pk": text(3000)}]}
    meter.aws_request("Alerts", "dynamodb", "Query", {"TableName": "t"}, response=found)
    assert units(meter, "dynamodb_read_unit") == 1.0


def test_an_invocation_is_its_cpu_at_the_memorys_share_plus_its_round_trips(meter: Meter) -> None:
    """10 ms of CPU on a full core at 256 MB: 10 x 1769 / 256 = 69.1 ms, plus 2 calls x 10 ms = 89.1 ms,
    billed 90 ms: 0.09 x 0.25 GB = 0.0225 GB-seconds."""
    meter.invocation("Webhook", 256, 0.010, 2)
    assert units(meter, "lambda_request") == 1
    assert units(meter, "lambda_arm_gb_second") == pytest.approx(0.0225)
    assert units(meter, "xray_trace_recorded") == 0, "tracing is off by default"
    traced = Meter(LocalTemplate(parameter_overrides={"Tracing": "on"}))
    traced.invocation("Webhook", 256, 0.010, 2)
    assert units(traced, "xray_trace_recorded") == 1


def test_lambdas_own_log_lines_count_only_when_the_system_level_lets_them_through(meter: Meter) -> None:
    meter.invocation("Webhook", 256, 0.0, 0)
    assert units(meter, "cloudwatch_logs_ingest_gb") == 0, "SystemLogLevel WARN"
    template = LocalTemplate()
    del template.raw["Globals"]["Function"]["LoggingConfig"]
    chatty = Meter(template)
    chatty.invocation("Webhook", 256, 0.0, 0)
    assert units(chatty, "cloudwatch_logs_ingest_gb") == pytest.approx(330e-9)


def test_sqs_requests_are_priced_by_queue_kind_and_empty_polls_are_left_to_the_idle_estimate(meter: Meter) -> None:
    meter.aws_request("Delivery", "sqs", "SendMessage", {"QueueUrl": "q.fifo", "MessageBody": "x"}, response={})
    meter.aws_request("pollers", "sqs", "ReceiveMessage", {"QueueUrl": "q"}, response={})
    meter.aws_request("pollers", "sqs", "ReceiveMessage", {"QueueUrl": "q"}, response={"Messages": [{}]})
    assert (units(meter, "sqs_fifo_request"), units(meter, "sqs_request")) == (1, 1)


def test_a_websocket_connection_is_its_begun_minutes_its_frames_in_32_kb_steps_and_its_access_log(
    meter: Meter,
) -> None:
    meter.websocket_connection(61.0)  # two begun minutes
    meter.websocket_connection(0.5)
    meter.websocket_message(40)
    meter.websocket_message(32_769)  # a pushed alert over 32 KB counts twice
    assert units(meter, "api_gateway_websocket_connection_minute") == 3
    assert units(meter, "api_gateway_websocket_message") == 3
    context = {"requestId": "r", "identity.sourceIp": "ip", "routeKey": "$default", "status": "200"}
    meter.websocket_route({**context, "connectionId": "c", "eventType": "MESSAGE", "error.messageString": "-"})
    line = (
        '{"requestId":"r","ip":"ip","routeKey":"$default","status":"200","connectionId":"c",'
        '"eventType":"MESSAGE","error":"-"}'
    )
    assert units(meter, "cloudwatch_logs_ingest_gb") == pytest.approx((len(line) + 1) / 1e9), "the stage's format"


def test_a_call_without_a_price_is_listed_not_guessed(meter: Meter) -> None:
    meter.aws_request("Webhook", "kinesis", "PutRecord", {}, response={})
    meter.aws_request("Webhook", "dynamodb", "ExecuteStatement", {}, response={})
    assert sorted(meter.unpriced) == ["Webhook dynamodb:ExecuteStatement", "Webhook kinesis:PutRecord"]
    assert meter.total() == 0


def test_every_price_names_its_source_and_the_estimates_use_the_same_table() -> None:
    for name, price in PRICE_TABLE.items():
        assert price.source.startswith("https://aws.amazon.com/"), name
        assert price.dollars >= 0 and price.unit, name
    assert PRICES["dynamodb_write_units_per_million"] == pytest.approx(PRICE_TABLE["dynamodb_write_unit"].dollars * 1e6)
    assert PRICES["sqs_fifo_requests_per_million"] == pytest.approx(0.50)
