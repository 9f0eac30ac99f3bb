"""What a fill meant, from one alert, where a trader sees it: the admin API's alert, a signed webhook's
payload, a chat template's `{fill}`; and nothing for an indicator alert or an order alone."""

from __future__ import annotations

from arrowhook.admin.schemas import AlertOut
from arrowhook.core.fills import FillMeaning, fill_meaning
from arrowhook.delivery.destinations import placeholder_values
from arrowhook.delivery.sending import alert_document
from tests.unit.ledger.test_book import fill, order


def test_a_fill_says_what_it_meant_wherever_the_alert_is_shown_or_sent() -> None:
    reversal = order(0, "sell", "2", "105", ("long", "1"), ("short", "1"))
    assert fill_meaning(reversal) is FillMeaning.REVERSE_TO_SHORT
    assert AlertOut.of(reversal).model_dump(mode="json")["fill"] == "reverse to short"
    assert alert_document(reversal)["fill"] == "reverse to short"
    assert placeholder_values(reversal)["fill"] == "reverse to short"


def test_one_side_of_the_position_and_the_order_are_enough_and_an_indicator_says_nothing() -> None:
    after_only = fill(0, side="buy", quantity="1", market_position="long", market_position_size="3")
    assert fill_meaning(after_only) is FillMeaning.ADD_LONG, "long 2 before, long 3 after"
    before_only = fill(1, side="buy", quantity="1", prev_market_position="short", prev_size="1")
    assert fill_meaning(before_only) is FillMeaning.CLOSE_SHORT
    indicator = fill(2, side="buy", price="100")
    assert fill_meaning(indicator) is None and "fill" not in alert_document(indicator)
    assert fill_meaning(fill(3, side="buy", quantity="1")) is None, "an order alone: from what position?"


def test_custom_fields_and_the_lag_reach_templates_and_signed_payloads() -> None:
    """`{extra.rsi}` in a template and `data.extra` / `data.health` in a signed webhook: what TradingView
    sent beyond the known fields, and how long it took to arrive."""
    from datetime import timedelta

    from arrowhook.delivery.destinations import check_template
    from tests.fakes.alerts import START

    fired = START - timedelta(seconds=2)  # the alert arrives at START: 2 s after TradingView fired it
    indicator = fill(0, side="buy", price="100", tv_timenow=fired.isoformat())
    indicator = indicator.model_copy(update={"extra": {"rsi": "71.3", "sl": 98.5}})
    assert check_template("{side} {ticker} rsi {extra.rsi} sl {extra.sl} lag {lag}s") is not None
    values = placeholder_values(indicator)
    assert (values["extra.rsi"], values["extra.sl"], values["lag"]) == ("71.3", "98.5", "2.0")
    document = alert_document(indicator)
    assert document["extra"] == {"rsi": "71.3", "sl": 98.5}
    assert document["health"]["lag_ms"] == 2000
