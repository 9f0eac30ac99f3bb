"""Where stored alerts are forwarded: a destination, its secret, and its message template rendered for its
kind (alert fields are hostile input: a ticker of `@everyone` must not ping a channel; each kind's module
under arrowhook.delivery.kinds escapes for its service).

A message template is operator text with `{placeholder}` fields from a fixed list: no attribute access,
no indexing, no format specs, so a template can never reach anything but the alert's plain values.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from arrowhook.core.errors import ArrowhookError
from arrowhook.core.fills import fill_meaning
from arrowhook.core.models import StoredAlert, iso
from arrowhook.delivery.kinds.base import InvalidDestinationError, MessageLimit
from arrowhook.delivery.kinds.registry import DestinationKind


class DestinationNotFoundError(ArrowhookError):
    """No destination has this id."""


#: Placeholder -> what it stands for (docs/destinations.md lists these).
PLACEHOLDERS: dict[str, str] = {
    "strategy": "the strategy's (key's) name",
    "side": "buy / sell / ... (normalised)",
    "ticker": "the symbol",
    "exchange": "the exchange prefix",
    "price": "the order or close price, exact",
    "quantity": "contracts / quantity",
    "position_size": "strategy.position_size",
    "market_position": "long / short / flat",
    "fill": "what the order fill meant: open long, add long, reduce long, close long, reverse to short, ...",
    "interval": "the chart's interval",
    "order_id": "strategy.order.id",
    "comment": "strategy.order.comment",
    "message": "a text alert's message, or alert_message",
    "received_at": "when Arrowhook stored it (UTC, ISO 8601)",
    "alert_id": "the alert's id",
    "lag": "seconds from TradingView firing it to its arrival (its timenow), when known",
}
#: A field TradingView sends beyond the known ones, by its name: `{extra.rsi}`, `{extra.sl}`.
EXTRA_PLACEHOLDER = re.compile(r"extra\.[A-Za-z0-9_]{1,64}")
_MISSING = "-"
#: Leads every chat message and email of a test alert: plain text, so each kind shows it as written.
TEST_MARK = "[TEST]"


def check_template(template: str, kind: DestinationKind | None = None) -> str:
    """The template if every field is a known placeholder used plainly, and its own text leaves room for
    the values inside the kind's message limit; else InvalidDestinationError."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as error:
        raise InvalidDestinationError(f"template: {error} (write {{{{ and }}}} for literal braces)") from None
    for _, field, format_spec, conversion in parts:
        if field is None:
            continue
        if field not in PLACEHOLDERS and not EXTRA_PLACEHOLDER.fullmatch(field):
            known = ", ".join("{" + name + "}" for name in PLACEHOLDERS) + ", {extra.<field>}"
            raise InvalidDestinationError(f"template: unknown placeholder {{{field}}}; known: {known}")
        if format_spec or conversion:
            raise InvalidDestinationError(f"template: {{{field}}} takes no format spec or conversion")
    limit = kind.rules.limit if kind is not None else None
    if (
        kind is not None
        and limit is not None
        and limit.measure(render(template, {}, kind.rules.escape)) > limit.chars // 2
    ):
        raise InvalidDestinationError(f"template: longer than half of {kind}'s {limit.chars} characters")
    return template


def placeholder_values(alert: StoredAlert) -> dict[str, str | None]:
    fields = alert.fields
    values: dict[str, object] = {
        "strategy": alert.strategy,
        "side": fields.side,
        "ticker": fields.ticker,
        "exchange": fields.exchange,
        "price": fields.price,
        "quantity": fields.quantity,
        "position_size": fields.position_size,
        "market_position": fields.market_position,
        "fill": fill_meaning(alert),
        "interval": fields.interval,
        "order_id": fields.order_id,
        "comment": fields.comment,
        "message": fields.alert_message or (alert.payload if alert.body_format == "text" else None),
        "received_at": iso(alert.received_at),
        "alert_id": alert.alert_id,
        "lag": f"{lag / 1000:.1f}" if alert.health and (lag := alert.health.lag_ms) is not None else None,
    }
    for name, value in alert.extra.items():  # custom fields; a nested one is shown as JSON
        if name != "test" and isinstance(value, str | int | float | bool | dict | list):
            values[f"extra.{name}"] = value if not isinstance(value, dict | list) else json.dumps(value)
    return {name: None if value is None else _one_line(str(value)) for name, value in values.items()}


#: Characters that reorder or hide text: bidi overrides and isolates, marks, zero-width ones. In a chat
#: message an alert value could make `sell` read as `buy` or hide what follows.
_INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def _one_line(value: str) -> str:
    """A value on one line, without characters that reorder or hide text."""
    return " ".join(_INVISIBLE.sub("", value).split())


def render(template: str, values: Mapping[str, str | None], escape: Callable[[str], str]) -> str:
    """The operator's literal text as written; every value on one line and through the target's `escape`
    (a value can never start a Markdown heading or quote on a line of its own); a missing one as `-`."""
    out: list[str] = []
    for literal, field, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if field is not None:
            value = values.get(field)
            out.append(_MISSING if value is None else escape(value))
    return "".join(out).strip()


_CUT_MARK = "…"


def render_within(
    template: str, values: Mapping[str, str | None], escape: Callable[[str], str], limit: MessageLimit | None
) -> str:
    """render(), with the longest values cut (before escaping, marked with …) until the message fits the
    service's limit: cutting the sent text instead could split a tag or an entity (`&am`), which Telegram
    refuses outright. The operator's own text is never cut (check_template keeps it inside the limit)."""
    text = render(template, values, escape)
    if limit is None:
        return text
    cut = dict(values)
    while limit.measure(text) > limit.chars:
        filled = [name for name, value in cut.items() if value]
        if not filled:
            break
        longest = max(filled, key=lambda name: len(cut[name] or ""))
        value = cut[longest] or ""

        def fits(kept: int, name: str = longest, value: str = value) -> bool:
            shortened = {**cut, name: value[:kept] + _CUT_MARK if kept else ""}
            return limit.measure(render(template, shortened, escape)) <= limit.chars

        low, high = 0, len(value) - 1  # the most of it that fits: a binary search over its length
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if fits(middle) else (low, middle - 1)
        cut[longest] = value[:low] + _CUT_MARK if low else ""
        text = render(template, cut, escape)
    return text


class DestinationSecret(BaseModel):
    """What is kept encrypted (SSM SecureString): never returned by the API after creation, never logged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str | None = None
    bot_token: str | None = None
    signing_secret: str | None = None
    #: After a rotation, the old signing secret also signs until `previous_expires_at` (epoch seconds), so a
    #: receiver can switch secrets without refusing a message (Standard Webhooks' multiple signatures).
    previous_signing_secret: str | None = None
    previous_expires_at: int | None = None

    def signing_secrets(self, now: datetime) -> list[str]:
        """Every secret a message is signed with now: the current one, and the old one inside its grace."""
        current = [self.signing_secret] if self.signing_secret else []
        grace = self.previous_signing_secret and (self.previous_expires_at or 0) > now.timestamp()
        return current + ([str(self.previous_signing_secret)] if grace else [])


class Destination(BaseModel):
    """A destination as stored and listed (no secret: `target` is a masked hint of where it points)."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str = Field(min_length=1, max_length=64)
    kind: DestinationKind
    #: Key ids of the strategies it forwards; empty means every strategy.
    strategies: tuple[str, ...] = ()
    template: str
    enabled: bool = True
    timeout_seconds: float = Field(5.0, ge=1, le=10)
    #: Alerts later than their strategy's max_lag_seconds are recorded as "skipped: late", not sent.
    skip_late: bool = False
    #: Telegram's chat id (not a secret: useless without the bot token).
    chat_id: str | None = None
    #: Why the sender switched it off (410 Gone, a run of refusals); cleared when it is enabled again.
    paused_reason: str | None = None
    #: Refusals (401, 403, 404) in a row so far: at `PauseAfterRefusals` the sender pauses it.
    refusals: int = 0
    target: str = ""
    created_at: datetime
    updated_at: datetime

    def applies_to(self, key_id: str) -> bool:
        """Switched off by its operator: nothing is recorded. Paused by the sender: what arrives is held
        (recorded), so that resuming it can send what it missed."""
        live = self.enabled or self.paused_reason is not None
        return live and (not self.strategies or key_id in self.strategies)

    @property
    def escape(self) -> Callable[[str], str]:
        return self.kind.rules.escape

    def message(self, alert: StoredAlert) -> str:
        template = f"{TEST_MARK} {self.template}" if alert.is_test else self.template
        return self.render(template, placeholder_values(alert))

    def render(self, template: str, values: Mapping[str, str | None]) -> str:
        """A message for this destination: values escaped for its kind, cut to fit its limit."""
        return render_within(template, values, self.escape, self.kind.rules.limit)
