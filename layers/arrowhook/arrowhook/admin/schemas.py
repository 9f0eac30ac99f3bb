"""Request and response bodies of the admin API (FastAPI turns these into its OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from arrowhook.core.fills import FillMeaning, fill_meaning
from arrowhook.core.models import KeyStatus, RepeatedDelivery, StoredAlert, StrategyKey
from arrowhook.core.signals import AlertHealth, SignalExpectations
from arrowhook.core.tradingview import AlertFields, MarketPosition, ParseIssue
from arrowhook.delivery.destinations import Destination
from arrowhook.delivery.kinds.registry import DestinationKind
from arrowhook.delivery.sending import DeliveryRecord
from arrowhook.live.tickets import Ticket

#: A made-up secret prefix for the documentation examples.
_EXAMPLE_PREFIX = "ahk_Q3k9Zp"
_KEY_EXAMPLE: dict[str, JsonValue] = {
    "id": "01JD8Z6V4X2M7Q9R3T5W8Y0B1C",
    "name": "ema-cross",
    "description": "BTCUSDT 15m EMA cross",
    "status": "active",
    "secret_prefix": _EXAMPLE_PREFIX,
    "created_at": "2026-11-22T10:00:00Z",
    "updated_at": "2026-11-22T10:00:00Z",
}
Name = Field(
    min_length=1,
    max_length=64,
    pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._\-]*$",
    description="Unique per deployment (case-insensitive): letters, digits, space, dot, dash, underscore.",
    examples=["ema-cross"],
)


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "ema-cross", "description": "BTCUSDT 15m"}]}
    )

    name: str = Name
    description: str = Field("", max_length=512, description="Free text for operators.")


class KeyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": False}]})

    name: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._\-]*$",
        description="Rename (still unique).",
    )
    description: str | None = Field(None, max_length=512)
    enabled: bool | None = Field(None, description="false disables the key (webhooks get 401), true enables it.")
    signals: SignalExpectations | None = Field(
        None,
        description="Replace what the strategy declares about its alerts (lag limit, missed-alert check, "
        "how often it sends, trading hours): docs/signal-health.md.",
    )


class KeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"grace_seconds": 3600}]})

    grace_seconds: int = Field(
        0, ge=0, le=30 * 86_400, description="How long the old secret keeps working (0: rejected at once)."
    )


class KeyVerify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str = Field(min_length=1, max_length=512, description="A secret to check (never stored or logged).")


class KeyVerification(BaseModel):
    """Whether a secret is one of the key's working secrets (its current one, or the old one in grace)."""

    key_id: str
    matches: bool
    active: bool = Field(description="The key is enabled: a matching secret is accepted by the webhook.")


class KeyOut(BaseModel):
    """A key as operators see it: never the secret, never its hash."""

    model_config = ConfigDict(json_schema_extra={"examples": [_KEY_EXAMPLE]})

    id: str = Field(description="Key id (ULID).")
    name: str
    description: str
    status: KeyStatus
    secret_prefix: str = Field(description="The secret's first characters, to tell keys apart.")
    created_at: datetime
    updated_at: datetime
    signals: SignalExpectations = Field(
        default_factory=SignalExpectations, description="What the strategy declares about its alerts."
    )

    @classmethod
    def of(cls, key: StrategyKey) -> KeyOut:
        return cls.model_validate(key.model_dump())


class KeyWithSecret(KeyOut):
    """Returned only by create and rotate: the one time the plaintext secret is shown."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**_KEY_EXAMPLE, "secret": f"{_EXAMPLE_PREFIX}..."}]})

    secret: str = Field(
        description="Put this in the TradingView alert's `key` field. It is not stored and cannot be shown again."
    )


class KeyPage(BaseModel):
    items: list[KeyOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last page.")


class AlertIdentity(BaseModel):
    """What every alert has, whatever its body: who sent it, when, and in which form."""

    alert_id: str
    key_id: str
    strategy: str = Field(description="The key's name when the alert arrived.")
    received_at: datetime
    body_format: str = Field(description="`json`, or `text` when the body was not a JSON object.")


class AlertOut(AlertFields, AlertIdentity):
    """An alert in a list: its identity, then every parsed field (AlertFields is the one source: a field
    added there is listed here), then what the API adds. Decimals are JSON strings, so prices survive
    any JSON parser exactly."""

    model_config = ConfigDict(frozen=False)

    extra: dict[str, Any] = Field(default_factory=dict)
    parse_issues: list[ParseIssue] = Field(default_factory=list)
    message: str | None = Field(
        None, description="What to read first: alert_message, the comment, or a text alert's body (140 chars)."
    )
    health: AlertHealth | None = Field(
        None, description="Lag, lateness and a missed alert before this one, once the signal checks ran."
    )
    text: str | None = Field(
        None, description="A text alert's whole body (secret replaced by ***); null for a JSON alert."
    )
    fill: FillMeaning | None = Field(
        None, description="What this order fill meant (open long, reverse to short...), from the alert alone."
    )

    @classmethod
    def of(cls, alert: StoredAlert) -> Self:
        return cls.model_validate(
            {
                **alert.model_dump(exclude={"fields", "payload"}),
                **alert.fields.model_dump(exclude_none=True),
                **derived_fields(alert),
            }
        )


def derived_fields(alert: StoredAlert) -> dict[str, Any]:
    """What every view of an alert shows beside its stored fields, computed from them (one place: the
    single-alert view once left out the fill and a text alert's body)."""
    return {
        "message": alert.message,
        "text": alert.payload if alert.body_format == "text" else None,
        "fill": fill_meaning(alert),
    }


class AlertDetail(AlertOut):
    """One alert with its raw payload (secret removed), how it was received, and where it was forwarded."""

    payload: str = Field(description="The body as received, with the secret replaced by ***.")
    source_ip: str | None = None
    request_id: str | None = None
    user_agent: str | None = None
    content_type: str | None = None
    duplicates: list[RepeatedDelivery] = Field(
        default_factory=list,
        description="Later deliveries of the same body inside the dedupe window, answered with this alert's "
        "id and not stored again (at most 50 listed; the AlertsDuplicate metric counts all).",
    )
    deliveries: list[DeliveryRecord] = Field(
        default_factory=list, description="One record per destination the alert was forwarded to."
    )

    @classmethod
    def of(cls, alert: StoredAlert, deliveries: list[DeliveryRecord] | None = None) -> Self:
        return cls.model_validate(
            {
                **alert.model_dump(exclude={"fields"}),
                **alert.fields.model_dump(exclude_none=True),
                **derived_fields(alert),
                "deliveries": deliveries or [],
            }
        )


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last page.")


class AlertStatsOut(BaseModel):
    total: int
    by_strategy: dict[str, int]
    by_ticker: dict[str, int]
    by_side: dict[str, int]
    first_seen: datetime | None
    last_seen: datetime | None
    truncated: bool = Field(description="True when the range held more alerts than one request counts.")


_DESTINATION_EXAMPLE: dict[str, JsonValue] = {
    "id": "01JD9A0B1C2D3E4F5G6H7J8K9M",
    "name": "trading-desk",
    "kind": "discord",
    "strategies": ["01JD8Z6V4X2M7Q9R3T5W8Y0B1C"],
    "template": "**{strategy}** {side} {ticker} @ {price}",
    "enabled": True,
    "timeout_seconds": 5.0,
    "chat_id": None,
    "target": "https://discord.com/…AbCd…",
    "created_at": "2026-11-23T10:00:00Z",
    "updated_at": "2026-11-23T10:00:00Z",
}
_TEMPLATE_HELP = (
    "Message text with placeholders such as {strategy} {side} {ticker} @ {price} (docs/destinations.md lists "
    "them); an unknown placeholder is refused. Omitted: the kind's default."
)


class DestinationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "discord",
                    "name": "trading-desk",
                    "strategies": ["ema-cross"],
                    "url": "https://discord.com/api/webhooks/1/x",
                }
            ]
        },
    )

    kind: DestinationKind
    name: str | None = Field(None, min_length=1, max_length=64, description="Defaults to the kind.")
    strategies: list[str] = Field(
        default_factory=list, max_length=100, description="Strategy names or key ids; empty: every strategy."
    )
    template: str | None = Field(None, max_length=2000, description=_TEMPLATE_HELP)
    enabled: bool = True
    timeout_seconds: float = Field(5.0, ge=1, le=10, description="Per request to the destination.")
    skip_late: bool = Field(
        False, description="Record alerts later than their strategy's max_lag_seconds as skipped, not sent."
    )
    url: str | None = Field(None, max_length=2048, description="discord, slack, webhook: the URL (a secret).")
    bot_token: str | None = Field(None, max_length=256, description="telegram: the bot token (a secret).")
    chat_id: str | None = Field(None, max_length=64, description="telegram: the chat id or @channel.")


class DestinationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"enabled": False}]})

    name: str | None = Field(None, min_length=1, max_length=64)
    strategies: list[str] | None = Field(
        None, max_length=100, description="Replaces the list; [] means every strategy."
    )
    template: str | None = Field(None, max_length=2000, description=_TEMPLATE_HELP)
    enabled: bool | None = None
    timeout_seconds: float | None = Field(None, ge=1, le=10)
    skip_late: bool | None = None
    url: str | None = Field(None, max_length=2048, description="A new URL (replaces the secret).")
    bot_token: str | None = Field(None, max_length=256)
    chat_id: str | None = Field(None, max_length=64)


class DestinationOut(BaseModel):
    """A destination as operators see it: `target` hints where it points; the URL or token is never shown."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DESTINATION_EXAMPLE]})

    id: str
    name: str
    kind: DestinationKind
    strategies: list[str] = Field(description="Key ids; empty: every strategy.")
    template: str
    enabled: bool
    paused_reason: str | None = Field(
        None, description="Why the sender switched it off (410 Gone, a run of refusals); enabling it clears this."
    )
    refusals: int = Field(0, description="Refusals (401, 403, 404) in a row; the sender pauses it at the limit.")
    timeout_seconds: float
    skip_late: bool = False
    chat_id: str | None = None
    target: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, destination: Destination) -> Self:
        return cls.model_validate(destination.model_dump())


class DestinationCreated(DestinationOut):
    signing_secret: str | None = Field(
        None,
        description="webhook destinations: the Standard Webhooks signing secret (whsec_...), shown this once.",
    )


class SigningSecretRotate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"grace_seconds": 86400}]})

    grace_seconds: int = Field(
        86_400, ge=0, le=30 * 86_400, description="How long messages are signed with the old secret too."
    )


class ResumeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"redrive": True}]})

    redrive: bool = Field(True, description="Also send again what it missed (its held and failed deliveries).")


class ResumeResult(BaseModel):
    destination: DestinationOut
    redriven: int = Field(description="Missed deliveries back in its lane (0 without a redrive).")


class RedriveRequest(BaseModel):
    """Which failed or held deliveries to send again; nothing narrows to every lane's whole backlog."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"destination_id": "01JD...", "dry_run": True}]}
    )

    destination_id: str | None = Field(None, max_length=64, description="One destination's lane.")
    strategy: str | None = Field(None, max_length=64, description="The lanes of this strategy's destinations.")
    since: str | None = Field(None, max_length=64, description="Alerts received from (ISO 8601 or 24h, 7d).")
    until: str | None = Field(None, max_length=64, description="Alerts received until.")
    dry_run: bool = Field(False, description="Only list what would be sent again.")
    failure_queue: bool = Field(
        False,
        description="Instead of the filters: what the failure queue's reports name, and those reports removed "
        "(its alarm clears).",
    )


class UnsentList(BaseModel):
    items: list[DeliveryRecord] = Field(description="Failed and held deliveries, lane by lane, oldest alert first.")


class RedriveResult(BaseModel):
    dry_run: bool
    redriven: int = Field(description="Deliveries back in their lanes (0 in a dry run).")
    acknowledged: int = Field(0, description="failure_queue: reports removed from the failure queue.")
    items: list[DeliveryRecord] = Field(description="What was (or, in a dry run, would be) sent again.")


class DestinationList(BaseModel):
    items: list[DestinationOut]


class DestinationTestResult(BaseModel):
    """The destination's answer to one test message, sent now."""

    ok: bool
    status_code: int | None = Field(description="The destination's HTTP status; null when it did not answer.")
    answer: str = Field(description="The start of its answer, or why there was none.")


class PositionOut(BaseModel):
    ticker: str
    position: MarketPosition | None = Field(description="long, short or flat; null when no alert says (indicators).")
    size: Decimal | None = Field(None, description="market_position_size, or |position_size|.")
    confirmed_at: datetime = Field(description="When the alert that last said so arrived.")
    alert_id: str


class PositionsOut(BaseModel):
    """What the strategy's alerts imply it holds, per ticker."""

    key_id: str
    strategy: str
    positions: list[PositionOut]
    alerts_read: int
    complete: bool = Field(description="False when the strategy has more alerts than one request reads.")


class LiveTicketRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategies: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, max_length=100, description="Strategy ids or names whose alerts the connection receives; omitted: all."
    )


class LiveTicketOut(BaseModel):
    """Connect to `url` with `?ticket=<ticket>` within the ticket's time; it opens one connection, once."""

    ticket: str
    url: str = Field(description="The live WebSocket API (wss://...).")
    expires_at: datetime
    strategies: list[str] | None = Field(description="Key ids the connection receives; null: every strategy.")

    @classmethod
    def of(cls, token: str, ticket: Ticket, url: str) -> Self:
        strategies = list(ticket.strategies) if ticket.strategies is not None else None
        return cls(
            ticket=token, url=url, expires_at=datetime.fromtimestamp(ticket.expires_at, UTC), strategies=strategies
        )
