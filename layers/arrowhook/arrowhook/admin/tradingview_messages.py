"""Ready-to-paste TradingView alert messages for a strategy key (the console shows them at creation)."""

from __future__ import annotations

import json

#: A Pine strategy: one alert covers every order fill; TradingView replaces the {{...}} placeholders.
_STRATEGY_FIELDS = {
    "ticker": "{{ticker}}",
    "exchange": "{{exchange}}",
    "action": "{{strategy.order.action}}",
    "contracts": "{{strategy.order.contracts}}",
    "price": "{{strategy.order.price}}",
    "order_id": "{{strategy.order.id}}",
    "comment": "{{strategy.order.comment}}",
    "position_size": "{{strategy.position_size}}",
    "market_position": "{{strategy.market_position}}",
    "market_position_size": "{{strategy.market_position_size}}",
    "prev_market_position": "{{strategy.prev_market_position}}",
    "prev_market_position_size": "{{strategy.prev_market_position_size}}",
    "interval": "{{interval}}",
    "time": "{{time}}",
    "timenow": "{{timenow}}",
}
#: An indicator (alertcondition() or alert()): the side is written by hand, one alert per direction.
_INDICATOR_FIELDS = {
    "ticker": "{{ticker}}",
    "exchange": "{{exchange}}",
    "side": "buy",
    "price": "{{close}}",
    "interval": "{{interval}}",
    "time": "{{time}}",
    "timenow": "{{timenow}}",
}


def strategy_message(secret: str) -> str:
    return json.dumps({"key": secret, **_STRATEGY_FIELDS}, indent=1)


def indicator_message(secret: str) -> str:
    return json.dumps({"key": secret, **_INDICATOR_FIELDS}, indent=1)
