"""What an order-fill alert says about the strategy's position: before it, after it, the order itself,
and what the fill meant (open long, add, reduce, close, reverse to short, and the short mirrors).

Positions are signed decimals (long > 0, short < 0, flat 0), never floats. TradingView strategy alerts
carry some of `strategy.prev_market_position` (+ `_size`), `strategy.market_position` (+ `_size`),
`strategy.position_size` (signed) and the order's `action` + `contracts`; each function answers from what
the alert carries and None when it does not say. The ledger (arrowhook.ledger) applies the same rules
in sequence, where the position before an alert is the one the previous alert left.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import StrEnum

from arrowhook.core.models import StoredAlert
from arrowhook.core.tradingview import MarketPosition, Side

ZERO = Decimal(0)


class FillMeaning(StrEnum):
    OPEN_LONG = "open long"
    ADD_LONG = "add long"
    REDUCE_LONG = "reduce long"
    CLOSE_LONG = "close long"
    REVERSE_TO_SHORT = "reverse to short"
    OPEN_SHORT = "open short"
    ADD_SHORT = "add short"
    REDUCE_SHORT = "reduce short"
    CLOSE_SHORT = "close short"
    REVERSE_TO_LONG = "reverse to long"


def implied(alert: StoredAlert) -> tuple[MarketPosition, Decimal | None] | None:
    """What one alert says the strategy holds after it, if anything (size unsigned, None if unsaid)."""
    fields = alert.fields
    size = fields.market_position_size if fields.market_position_size is not None else fields.position_size
    if fields.market_position is not None:
        return MarketPosition(fields.market_position), size.copy_abs() if size is not None else None
    if fields.position_size is not None:
        signed = fields.position_size
        held = MarketPosition.LONG if signed > 0 else MarketPosition.SHORT if signed < 0 else MarketPosition.FLAT
        return held, signed.copy_abs()
    return None


def prev_size(alert: StoredAlert) -> Decimal | None:
    """`strategy.prev_market_position_size`, which templates send under either name (kept in `extra`)."""
    nested = alert.extra.get("strategy")
    raw = alert.extra.get("prev_market_position_size", alert.extra.get("strategy.prev_market_position_size"))
    if raw is None and isinstance(nested, dict):
        raw = nested.get("prev_market_position_size")
    try:
        return Decimal(str(raw)).copy_abs() if raw is not None else None
    except InvalidOperation:
        return None


def signed(position: MarketPosition, size: Decimal | None) -> Decimal | None:
    """A position as one signed number; flat is 0 whatever the size, long or short needs its size."""
    if position is MarketPosition.FLAT:
        return ZERO
    if size is None:
        return None
    return size if position is MarketPosition.LONG else -size


def stated_after(alert: StoredAlert) -> Decimal | None:
    said = implied(alert)
    return signed(*said) if said is not None else None


def stated_before(alert: StoredAlert) -> Decimal | None:
    before = alert.fields.prev_market_position
    return signed(MarketPosition(before), prev_size(alert)) if before is not None else None


def order_change(alert: StoredAlert) -> Decimal | None:
    """The order's own signed quantity: + for a buy, - for a sell (`close` names no direction)."""
    side, quantity = alert.fields.side, alert.fields.quantity
    if quantity is None or side not in (Side.BUY, Side.SELL):
        return None
    return quantity.copy_abs() if side == Side.BUY else -quantity.copy_abs()


def meaning(before: Decimal, after: Decimal) -> FillMeaning | None:
    """What moving from `before` to `after` is; None when nothing moved."""
    if before == after:
        return None
    if before == ZERO:
        return FillMeaning.OPEN_LONG if after > 0 else FillMeaning.OPEN_SHORT
    long_before = before > 0
    if after == ZERO:
        return FillMeaning.CLOSE_LONG if long_before else FillMeaning.CLOSE_SHORT
    if (after > 0) != long_before:
        return FillMeaning.REVERSE_TO_SHORT if long_before else FillMeaning.REVERSE_TO_LONG
    if abs(after) > abs(before):
        return FillMeaning.ADD_LONG if long_before else FillMeaning.ADD_SHORT
    return FillMeaning.REDUCE_LONG if long_before else FillMeaning.REDUCE_SHORT


def fill_meaning(alert: StoredAlert) -> FillMeaning | None:
    """What this fill meant, from the alert alone: its stated positions before and after, or one of them
    and the order. None when it cannot tell (an indicator alert, or a fill that says only the order)."""
    if alert.is_test:
        return None
    before, after, change = stated_before(alert), stated_after(alert), order_change(alert)
    if before is None and after is not None and change is not None:
        before = after - change
    if after is None and before is not None and change is not None:
        after = before + change
    if before is None or after is None:
        return None
    return meaning(before, after)
