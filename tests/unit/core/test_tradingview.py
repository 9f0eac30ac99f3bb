"""TradingView body parsing: every normalization, and no input that can make it raise."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from arrowhook.core.alert_body import ParsedAlert, decode_body, parse_fields
from arrowhook.core.tradingview import MarketPosition, Side
from arrowhook_tools.local.template import PROJECT_ROOT


def parse(document: dict[str, Any] | str) -> ParsedAlert:
    text = document if isinstance(document, str) else json.dumps(document)
    return parse_fields(decode_body(text.encode()))


def issue_fields(parsed: ParsedAlert) -> dict[str, str]:
    return {issue.field: issue.problem for issue in parsed.issues}


@pytest.mark.parametrize(
    ("raw", "side"),
    [
        ("buy", Side.BUY),
        ("BUY", Side.BUY),
        (" Long ", Side.BUY),
        ("enter-long", Side.BUY),
        ("sell", Side.SELL),
        ("Short", Side.SELL),
        ("entry short", Side.SELL),
        ("close", Side.CLOSE),
        ("exit", Side.CLOSE),
        ("flat", Side.CLOSE),
        ("Exit Long", Side.CLOSE),
        ("close_short", Side.CLOSE),
    ],
)
def test_side_synonyms_normalize(raw: str, side: Side) -> None:
    assert parse({"action": raw}).fields.side is side


@pytest.mark.parametrize("alias", ["side", "action", "order_action", "strategy.order.action", "signal"])
def test_side_aliases(alias: str) -> None:
    assert parse({alias: "sell"}).fields.side is Side.SELL


def test_nested_strategy_placeholders_are_read_like_flat_ones() -> None:
    parsed = parse(
        {
            "strategy": {
                "order": {"action": "buy", "contracts": "2", "price": "101.5", "id": "L1", "comment": "entry"},
                "position_size": "2",
                "market_position": "long",
            }
        }
    )
    fields = parsed.fields
    assert (fields.side, fields.quantity, fields.price) == (Side.BUY, Decimal("2"), Decimal("101.5"))
    assert (fields.order_id, fields.comment, fields.position_size) == ("L1", "entry", Decimal("2"))
    assert fields.market_position is MarketPosition.LONG
    assert parsed.issues == ()


def test_unknown_side_is_null_with_issue() -> None:
    parsed = parse({"action": "hodl"})
    assert parsed.fields.side is None
    assert "unrecognised side" in issue_fields(parsed)["side"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("65000.50", Decimal("65000.50")),
        (65000, Decimal("65000")),
        ("0.1", Decimal("0.1")),
        ("1e-8", Decimal("1e-8")),
        (" 42 ", Decimal("42")),
        ("-3.25", Decimal("-3.25")),
    ],
)
def test_prices_are_exact_decimals(raw: Any, expected: Decimal) -> None:
    price = parse({"price": raw}).fields.price
    assert price == expected
    assert isinstance(price, Decimal)


def test_json_float_literals_stay_exact() -> None:
    parsed = parse('{"price": 0.1, "qty": 0.2}')
    assert parsed.fields.price is not None and parsed.fields.quantity is not None
    assert parsed.fields.price + parsed.fields.quantity == Decimal("0.3")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("{{close}}", "unreplaced TradingView placeholder"),
        ("{{strategy.order.price}}", "unreplaced TradingView placeholder"),
        ("NaN", "not a finite number"),
        ("-Infinity", "not a finite number"),
        ("", "empty value"),
        ("   ", "empty value"),
        ("65,000", "not a number"),
        ("1_000", "not a number"),
        ("abc", "not a number"),
        (True, "boolean"),
        ({"a": 1}, "object"),
        ([1, 2], "list"),
        ("1" * 39, "significant digits"),
        ("1e200", "out of range"),
    ],
)
def test_unusable_numbers_become_null_with_issue(raw: Any, problem: str) -> None:
    parsed = parse({"price": raw, "ticker": "BTCUSDT"})
    assert parsed.fields.price is None
    assert problem in issue_fields(parsed)["price"]
    assert parsed.fields.ticker == "BTCUSDT"  # one bad field never spoils the others


def test_bare_nan_literal_from_tradingview_is_an_issue() -> None:
    parsed = parse('{"price": NaN, "qty": 1}')
    assert parsed.fields.price is None
    assert issue_fields(parsed)["price"] == "not a finite number"
    assert parsed.fields.quantity == Decimal("1")


@pytest.mark.parametrize("alias", ["quantity", "qty", "contracts", "size", "strategy.order.contracts"])
def test_quantity_aliases(alias: str) -> None:
    assert parse({alias: "0.015"}).fields.quantity == Decimal("0.015")


def test_position_fields() -> None:
    fields = parse(
        {
            "strategy.position_size": "-3",
            "strategy.market_position": "SHORT",
            "strategy.market_position_size": "3",
            "strategy.prev_market_position": "flat",
        }
    ).fields
    assert fields.position_size == Decimal("-3")
    assert fields.market_position is MarketPosition.SHORT
    assert fields.market_position_size == Decimal("3")
    assert fields.prev_market_position is MarketPosition.FLAT


def test_invalid_market_position_is_an_issue() -> None:
    parsed = parse({"market_position": "sideways"})
    assert parsed.fields.market_position is None
    assert "market_position" in issue_fields(parsed)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-22T10:00:00Z", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("2026-11-22T11:00:00+01:00", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("2026-11-22T10:00:00", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        (1795341600, datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
        ("1795341600000", datetime(2026, 11, 22, 10, 0, tzinfo=UTC)),
    ],
)
def test_times_parse_to_utc(raw: Any, expected: datetime) -> None:
    fields = parse({"time": raw, "timenow": raw}).fields
    assert fields.tv_time == expected
    assert fields.tv_timenow == expected


def test_bad_time_is_an_issue() -> None:
    parsed = parse({"time": "yesterday", "timenow": "{{timenow}}"})
    assert (parsed.fields.tv_time, parsed.fields.tv_timenow) == (None, None)
    assert set(issue_fields(parsed)) == {"tv_time", "tv_timenow"}


def test_ticker_exchange_prefix_split_and_uppercased() -> None:
    fields = parse({"ticker": "binance:btcusdt"}).fields
    assert (fields.ticker, fields.exchange) == ("BTCUSDT", "BINANCE")
    explicit = parse({"ticker": "BINANCE:BTCUSDT", "exchange": "bybit"}).fields
    assert (explicit.ticker, explicit.exchange) == ("BTCUSDT", "BYBIT")


def test_numbers_in_text_fields_become_text() -> None:
    fields = parse({"interval": 60, "order_id": 7, "ticker": "ES1!"}).fields
    assert (fields.interval, fields.order_id, fields.ticker) == ("60", "7", "ES1!")


def test_extra_fields_kept_and_secret_fields_dropped() -> None:
    parsed = parse({"key": "ahk_x", "passphrase": "p", "ticker": "X", "rsi": "28.4", "meta": {"bot": "v2"}})
    assert parsed.extra == {"rsi": "28.4", "meta.bot": "v2"}


def test_first_alias_wins_and_the_rest_stays_extra() -> None:
    parsed = parse({"price": "10", "close": "11"})
    assert parsed.fields.price == Decimal("10")
    assert parsed.extra == {"close": "11"}


def test_text_body_is_not_json_and_has_no_issue() -> None:
    body = decode_body(b"BTCUSDT crossing 65000")
    assert body.document is None
    assert parse_fields(body).issues == ()


def test_malformed_json_is_noted() -> None:
    parsed = parse('{"ticker": "BTCUSDT", "price": {{close}}, }')
    assert parsed.fields.ticker is None
    assert "body is not valid JSON" in issue_fields(parsed)["body"]


def test_json_that_is_not_an_object_is_noted() -> None:
    assert "not an object" in issue_fields(parse("[1, 2, 3]"))["body"]


def test_deeply_nested_json_does_not_raise() -> None:
    parsed = parse("[" * 200_000 + "]" * 200_000)
    assert "body" in issue_fields(parsed)


def test_invalid_utf8_is_replaced_and_noted() -> None:
    body = decode_body(b'{"ticker": "BTC\xff"}')
    assert body.document == {"ticker": "BTC\ufffd"}
    assert "not valid UTF-8" in body.issues[0].problem


def test_byte_order_mark_is_ignored() -> None:
    assert decode_body('\ufeff{"ticker": "X"}'.encode()).document == {"ticker": "X"}


@pytest.mark.parametrize("field", ["key", "secret", "passphrase"])
def test_secret_found_under_each_alias(field: str) -> None:
    assert decode_body(json.dumps({field: " ahk_abc "}).encode()).secret == "ahk_abc"


def test_secret_found_in_malformed_json() -> None:
    assert decode_body(b'{"key": "ahk_abc", "price": {{close}}}').secret == "ahk_abc"


def test_no_secret() -> None:
    assert decode_body(b'{"ticker": "X", "key": 5}').secret is None
    assert decode_body(b"plain text alert").secret is None


def test_issue_preview_is_bounded() -> None:
    parsed = parse({"price": "x" * 10_000})
    assert parsed.issues[0].value is not None and len(parsed.issues[0].value) <= 64


@pytest.mark.parametrize("field", ["comment", "strategy.order.comment", "alert_message"])
def test_an_empty_comment_is_nothing_not_a_parse_issue(field: str) -> None:
    """{{strategy.order.comment}} is empty for every order placed without a comment: most alerts."""
    parsed = parse({"ticker": "BTCUSDT", "price": "1", field: "  "})
    assert (parsed.fields.comment, parsed.fields.alert_message, parsed.issues) == (None, None, ())


def test_an_empty_price_is_still_a_parse_issue() -> None:
    assert issue_fields(parse({"price": ""})) == {"price": "empty value"}


def test_an_unreplaced_placeholder_in_an_extra_field_is_flagged_and_kept() -> None:
    parsed = parse({"ticker": "ETHUSD", "rsi": "28.41", "volume": "{{volume}}"})
    assert issue_fields(parsed) == {"volume": "unreplaced TradingView placeholder"}
    assert parsed.extra == {"rsi": "28.41", "volume": "{{volume}}"}, "the value is kept as sent"


def test_the_indicator_sample_has_the_parse_issue_the_docs_promise() -> None:
    event = json.loads((PROJECT_ROOT / "events/webhook-indicator-alert.json").read_text())
    assert issue_fields(parse_fields(decode_body(event["body"].encode()))) == {
        "volume": "unreplaced TradingView placeholder"
    }
