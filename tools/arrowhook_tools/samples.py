"""The one TradingView-shaped alert that the CLI's curl line, the tests and the benchmark all send."""

from __future__ import annotations

import json
from typing import Any


def strategy_alert(secret: str, **overrides: Any) -> str:
    """A Pine strategy's JSON alert after placeholder substitution; overrides replace or add fields."""
    body: dict[str, Any] = {
        "key": secret,
        "ticker": "BTCUSDT",
        "exchange": "BINANCE",
        "action": "buy",
        "price": "65000.50",
        "contracts": "0.015",
        "time": "2026-11-22T10:00:00Z",
        "timenow": "2026-11-22T10:00:01Z",
    }
    body.update(overrides)
    return json.dumps(body)
