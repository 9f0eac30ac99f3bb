"""A TradingView alert body read: decoded (text first, never failing; JSON when it is an object), its
secret found, and its fields parsed leniently into AlertFields (arrowhook.core.tradingview). Anything a
trader's template can produce parses without raising: a field that cannot be read becomes null with a
listed issue, so the alert itself is never lost.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arrowhook.core.tradingview import FIELD_ALIASES, PLACEHOLDER, SECRET_FIELDS, AlertFields, ParseIssue, preview

_SECRET_IN_TEXT = re.compile(r'"(?:key|secret|passphrase)"\s*:\s*"([^"\\]{1,512})"', re.IGNORECASE)
#: Anything shaped like an Arrowhook secret (see arrowhook.keys.credentials), wherever it appears in a body.
_SECRET_SHAPED = re.compile(r"ahk_[A-Za-z0-9_\-]{16,}")
_MIN_SCRUBBED_CHARS = 8
#: TradingView templates nest two or three levels; anything far deeper is kept as text.
MAX_JSON_DEPTH = 32

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
        ParseIssue(field=name, problem="unreplaced TradingView placeholder", value=preview(value))
        for name, value in extra.items()
        if isinstance(value, str) and PLACEHOLDER.search(value)
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
