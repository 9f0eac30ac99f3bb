"""TradingView alerts' vocabulary: sides, market positions, the typed fields of an alert (AlertFields) with
their lenient validators, and the keys each field is read from (the body itself is read by
arrowhook.core.alert_body).

TradingView substitutes `{{placeholders}}` into the alert message and sends the result as
`application/json` when it parses as JSON, else as `text/plain`. Anything a trader's template can
produce must parse without raising: a field that cannot be read becomes null with a listed issue,
so the alert itself is never lost.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

SECRET_FIELDS = ("key", "secret", "passphrase")
PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}")
_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
#: DynamoDB numbers: 38 significant digits, magnitude between 1E-130 and 9.99E+125.
_MAX_DIGITS = 38
#: Exact amounts are also what the archive's documented type holds, DECIMAL(38,18) (Athena, DuckDB):
#: at most 20 digits before the point and 18 after (a price of 0.000000000000000001 or a quantity of
#: 10^19 fits; anything beyond is not a price TradingView sends).
DECIMAL_PRECISION, DECIMAL_SCALE = 38, 18
_MAX_INTEGER_DIGITS = DECIMAL_PRECISION - DECIMAL_SCALE
_PREVIEW_CHARS = 64
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"
    CLOSE = "close"


class MarketPosition(StrEnum):
    LONG = "long"
    SHORT = "short"
    FLAT = "flat"


SIDE_SYNONYMS = {
    "buy": Side.BUY,
    "long": Side.BUY,
    "enter_long": Side.BUY,
    "entry_long": Side.BUY,
    "cover": Side.BUY,
    "sell": Side.SELL,
    "short": Side.SELL,
    "enter_short": Side.SELL,
    "entry_short": Side.SELL,
    "close": Side.CLOSE,
    "exit": Side.CLOSE,
    "flat": Side.CLOSE,
    "close_long": Side.CLOSE,
    "close_short": Side.CLOSE,
    "exit_long": Side.CLOSE,
    "exit_short": Side.CLOSE,
    "close_all": Side.CLOSE,
}


class ParseIssue(BaseModel):
    """Why one field of an alert was stored as null, or (an extra field) looks wrong though kept."""

    model_config = ConfigDict(frozen=True)

    field: str
    problem: str
    value: str | None = None


def preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"


def _unusable_reason(value: Any) -> str | None:
    """Values TradingView produces when a placeholder had nothing to say."""
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return "empty value"
        if PLACEHOLDER.search(stripped):
            return "unreplaced TradingView placeholder"
        if stripped.lower() in _NON_FINITE:
            return "not a finite number"
    if isinstance(value, Decimal) and not value.is_finite():
        return "not a finite number"
    if isinstance(value, (dict, list)):
        return "expected a single value, got a " + ("object" if isinstance(value, dict) else "list")
    return None


def _lenient(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    """Turn any unusable value into null and record why, instead of failing the whole alert."""
    if value is None:
        return None
    issues: list[ParseIssue] = info.context["issues"] if info.context else []
    name = info.field_name or "?"
    reason = _unusable_reason(value)
    if reason is None:
        try:
            return handler(value)
        except ValidationError as error:
            reason = "; ".join(str(detail["msg"]) for detail in error.errors())
        except (ValueError, TypeError, ArithmeticError) as error:
            reason = str(error)
    issues.append(ParseIssue(field=name, problem=reason, value=preview(value)))
    return None


Lenient = WrapValidator(_lenient)


def _blank_is_none(value: Any) -> Any:
    """Free text TradingView leaves empty when there is nothing to say ({{strategy.order.comment}} of
    an order without a comment): nothing, not a parse issue on most alerts."""
    return None if isinstance(value, str) and not value.strip() else value


def _number_text(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, str):
        value = value.strip()
        if not _PLAIN_NUMBER.match(value):  # Decimal() would also take "1_000" or " 1e5 " forms
            raise ValueError("not a number")
    return value


def _fits_dynamodb(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    significant = "".join(map(str, value.as_tuple().digits)).strip("0")
    if len(significant) > _MAX_DIGITS:  # counted by hand: Decimal.normalize() would round at 28 digits
        raise ValueError(f"more than {_MAX_DIGITS} significant digits")
    if significant and not -130 <= value.adjusted() <= 125:
        raise ValueError("number out of range")
    return _fits_archive(value)


def _fits_archive(value: Decimal) -> Decimal:
    """Within DECIMAL(38,18), counted by hand (normalize() rounds at 28 digits); trailing zeros after the
    point are not digits that need room."""
    _, digits, exponent = value.as_tuple()
    kept = list(digits)
    power = int(exponent)
    while power < 0 and len(kept) > 1 and kept[-1] == 0:
        kept.pop()
        power += 1
    if max(0, -power) > DECIMAL_SCALE or max(0, len(kept) + power) > _MAX_INTEGER_DIGITS:
        raise ValueError(
            f"number out of range for an exact amount: at most {_MAX_INTEGER_DIGITS} digits before the point "
            f"and {DECIMAL_SCALE} after"
        )
    return value


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, Decimal, float)):
        return str(value)
    return value.strip() if isinstance(value, str) else value


def _side(value: Any) -> Any:
    if isinstance(value, str):
        normalized = re.sub(r"[\s\-]+", "_", value.strip().lower())
        if normalized in SIDE_SYNONYMS:
            return SIDE_SYNONYMS[normalized]
        raise ValueError(f"unrecognised side {value.strip()!r} (expected buy, sell, long, short, close or exit)")
    return value


def _market_position(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _timestamp(value: Any) -> Any:
    """TradingView's {{time}}/{{timenow}} are ISO 8601 UTC; scripts sometimes send epoch seconds or ms."""
    if isinstance(value, str) and _PLAIN_NUMBER.match(value.strip()):
        return Decimal(value.strip())
    return value


def _utc_optional(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


Amount = Annotated[Decimal | None, BeforeValidator(_number_text), AfterValidator(_fits_dynamodb), Lenient]
Text = Annotated[str | None, BeforeValidator(_text), Field(max_length=256), Lenient]
LongText = Annotated[
    str | None, BeforeValidator(_text), Field(max_length=4096), Lenient, BeforeValidator(_blank_is_none)
]
Timestamp = Annotated[datetime | None, BeforeValidator(_timestamp), AfterValidator(_utc_optional), Lenient]
SideField = Annotated[Side | None, BeforeValidator(_side), Lenient]
PositionField = Annotated[MarketPosition | None, BeforeValidator(_market_position), Lenient]


class AlertFields(BaseModel):
    """The typed view of an alert; every field is optional because TradingView templates vary."""

    model_config = ConfigDict(frozen=True)

    ticker: Text = None
    exchange: Text = None
    side: SideField = None
    price: Amount = None
    quantity: Amount = None
    position_size: Amount = None
    market_position: PositionField = None
    market_position_size: Amount = None
    prev_market_position: PositionField = None
    interval: Text = None
    order_id: Text = None
    comment: LongText = None
    alert_message: LongText = None
    tv_time: Timestamp = None
    tv_timenow: Timestamp = None


#: Field name -> keys that carry it, first match wins. Dotted names are TradingView's placeholder
#: names, matched whether the template writes them flat ("strategy.order.action") or nested.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "ticker": ("ticker", "symbol", "syminfo.ticker"),
    "exchange": ("exchange", "syminfo.prefix"),
    "side": ("side", "action", "order_action", "strategy.order.action", "signal"),
    "price": ("price", "order_price", "strategy.order.price", "close"),
    "quantity": ("quantity", "qty", "contracts", "size", "strategy.order.contracts"),
    "position_size": ("position_size", "strategy.position_size"),
    "market_position": ("market_position", "strategy.market_position"),
    "market_position_size": ("market_position_size", "strategy.market_position_size"),
    "prev_market_position": ("prev_market_position", "strategy.prev_market_position"),
    "interval": ("interval", "timeframe"),
    "order_id": ("order_id", "strategy.order.id"),
    "comment": ("comment", "strategy.order.comment"),
    "alert_message": ("alert_message", "strategy.order.alert_message"),
    "tv_time": ("time",),
    "tv_timenow": ("timenow",),
}
