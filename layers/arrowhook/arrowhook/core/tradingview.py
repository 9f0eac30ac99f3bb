"""TradingView alert bodies: decoding, secret extraction and lenient field parsing.

TradingView substitutes `{{placeholders}}` into the alert message and sends the result as
`application/json` when it parses as JSON, else as `text/plain`. Anything a trader's template can
produce must parse without raising: a field that cannot be read becomes null with a listed issue,
so the alert itself is never lost.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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
_PLACEHOLDER = re.compile(r"\{\{[^{}]*\}\}")
_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
_SECRET_IN_TEXT = re.compile(r'"(?:key|secret|passphrase)"\s*:\s*"([^"\\]{1,512})"', re.IGNORECASE)
#: Anything shaped like an Arrowhook secret (see arrowhook.keys.credentials), wherever it appears in a body.
_SECRET_SHAPED = re.compile(r"ahk_[A-Za-z0-9_\-]{16,}")
_MIN_SCRUBBED_CHARS = 8
#: TradingView templates nest two or three levels; anything far deeper is kept as text.
MAX_JSON_DEPTH = 32
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


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"


def _unusable_reason(value: Any) -> str | None:
    """Values TradingView produces when a placeholder had nothing to say."""
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return "empty value"
        if _PLACEHOLDER.search(stripped):
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
    issues.append(ParseIssue(field=name, problem=reason, value=_preview(value)))
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
_ALL_ALIASES = frozenset(alias for aliases in FIELD_ALIASES.values() for alias in aliases)


@dataclass(frozen=True)
class DecodedBody:
    """The request body as text, and as a JSON object when it is one."""

    text: str
    document: dict[str, Any] | None
    issues: tuple[ParseIssue, ...] = ()
    #: The key field's value (of a JSON body, or of a broken JSON body's text), found once, here.
    secret: str | None = None
    #: Every value that may be a secret, to scrub from what is stored (the secret included).
    secret_candidates: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ParsedAlert:
    fields: AlertFields
    extra: dict[str, Any] = field(default_factory=dict)
    issues: tuple[ParseIssue, ...] = ()


def decode_body(raw: bytes) -> DecodedBody:
    """The one pass over the body: text first (never fails: invalid UTF-8 is replaced and noted), then
    JSON if it is an object, then the secret and every candidate to scrub."""
    text, document, issues = _decode(raw)
    secret = _find_secret(text, document)
    return DecodedBody(
        text=text, document=document, issues=issues, secret=secret, secret_candidates=_candidates(text, secret)
    )


def _decode(raw: bytes) -> tuple[str, dict[str, Any] | None, tuple[ParseIssue, ...]]:
    issues: list[ParseIssue] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        text = raw.decode("utf-8", errors="replace")
        issues.append(
            ParseIssue(field="body", problem=f"body is not valid UTF-8 ({error.reason} at byte {error.start})")
        )
    text = text.removeprefix("\ufeff")
    duplicates: list[str] = []
    replaced: list[str] = []
    try:
        document = json.loads(
            text,
            parse_float=Decimal,
            parse_constant=str,
            object_pairs_hook=lambda pairs: _object(pairs, duplicates, replaced),
        )
    except (ValueError, RecursionError) as error:
        if text.lstrip().startswith(("{", "[")):
            issues.append(ParseIssue(field="body", problem=f"body is not valid JSON: {_json_error(error)}"))
        return text, None, tuple(issues)
    if not isinstance(document, dict):
        issues.append(ParseIssue(field="body", problem=f"JSON body is a {type(document).__name__}, not an object"))
        return text, None, tuple(issues)
    if _deeper_than(document, MAX_JSON_DEPTH):
        issues.append(
            ParseIssue(field="body", problem=f"JSON nested deeper than {MAX_JSON_DEPTH} levels: kept as text")
        )
        return text, None, tuple(issues)
    issues.extend(
        ParseIssue(field=name[:64], problem="key appears more than once; the last value is used")
        for name in dict.fromkeys(duplicates)
    )
    if replaced:
        issues.append(
            ParseIssue(
                field="body",
                problem=f"{len(replaced)} string(s) held a lone UTF-16 surrogate escape (\\ud800-\\udfff), "
                "which cannot be stored: replaced with U+FFFD",
            )
        )
    return text, document, tuple(issues)


def _deeper_than(document: Any, limit: int) -> bool:
    """Iterative, so that a hostile body cannot exhaust the stack here (or later, in code that recurses)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
    return False


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(value: Any, replaced: list[str]) -> Any:
    """JSON may escape a lone surrogate ("\\ud800"), which no UTF-8 store accepts: an authenticated alert
    holding one would be refused forever. Replace it (U+FFFD) in every string, and note where."""
    if isinstance(value, str) and _LONE_SURROGATE.search(value):
        replaced.append(value)
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, list):
        return [_storable(item, replaced) for item in value]
    return value


def _object(pairs: list[tuple[str, Any]], duplicates: list[str], replaced: list[str]) -> dict[str, Any]:
    """json's own last-wins rule, but a repeated key is reported rather than silently dropped."""
    document: dict[str, Any] = {}
    for raw_name, value in pairs:
        name = _storable(raw_name, replaced)
        if name in document:
            duplicates.append(name)
        document[name] = _storable(value, replaced)
    return document


def _candidates(text: str, secret: str | None) -> frozenset[str]:
    """Each `key`/`secret`/`passphrase` value (a repeated key's earlier values included) and any token
    shaped like an Arrowhook secret."""
    # Short values are left alone: scrubbing "a" would mangle the payload, and such a key never authenticates.
    found = {match.group(1).strip() for match in _SECRET_IN_TEXT.finditer(text)}
    found = {candidate for candidate in found if len(candidate) >= _MIN_SCRUBBED_CHARS}
    found.update(_SECRET_SHAPED.findall(text))
    if secret:
        found.add(secret)
    return frozenset(found)


def _json_error(error: ValueError | RecursionError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno} column {error.colno}"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error)


def _find_secret(text: str, document: dict[str, Any] | None) -> str | None:
    """The key field of a JSON body, or of a body TradingView sent as text because its JSON was broken."""
    if document is not None:
        for name in SECRET_FIELDS:
            value = document.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None
    match = _SECRET_IN_TEXT.search(text)
    return match.group(1).strip() if match else None


def _flatten(document: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in document.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, dict) and value and dotted.lower() not in _ALL_ALIASES:
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def parse_fields(body: DecodedBody) -> ParsedAlert:
    """Typed fields from a JSON object; a text body keeps all its content in the raw payload."""
    if body.document is None:
        return ParsedAlert(fields=AlertFields(), issues=body.issues)
    flat = {name: value for name, value in _flatten(body.document).items() if name.lower() not in SECRET_FIELDS}
    by_lower = {name.lower(): name for name in flat}
    mapped: dict[str, Any] = {}
    consumed: set[str] = set()
    for field_name, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            original = by_lower.get(alias)
            if original is not None and original not in consumed:
                mapped[field_name] = flat[original]
                consumed.add(original)
                break
    issues: list[ParseIssue] = list(body.issues)
    fields = AlertFields.model_validate(mapped, context={"issues": issues})
    fields = _split_exchange_prefix(fields)
    extra = {name: value for name, value in flat.items() if name not in consumed}
    # Extra fields are kept as sent, but a placeholder TradingView did not replace (a typo, or one the
    # alert type does not have) is flagged as for a known field.
    issues.extend(
        ParseIssue(field=name, problem="unreplaced TradingView placeholder", value=_preview(value))
        for name, value in extra.items()
        if isinstance(value, str) and _PLACEHOLDER.search(value)
    )
    return ParsedAlert(fields=fields, extra=extra, issues=tuple(issues))


def _split_exchange_prefix(fields: AlertFields) -> AlertFields:
    """TradingView's {{ticker}} is bare ("BTCUSDT") but symbols are often written "BINANCE:BTCUSDT"."""
    ticker = fields.ticker
    update: dict[str, Any] = {}
    if ticker and ":" in ticker:
        prefix, _, bare = ticker.partition(":")
        if prefix and bare:
            update["ticker"] = bare
            if not fields.exchange:
                update["exchange"] = prefix
    if ticker is not None:
        update.setdefault("ticker", ticker)
        update["ticker"] = update["ticker"].upper()
    if fields.exchange or "exchange" in update:
        update["exchange"] = (update.get("exchange") or fields.exchange or "").upper()
    return fields.model_copy(update=update) if update else fields
