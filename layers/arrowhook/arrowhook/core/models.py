"""Stored shapes: strategy keys, the auth record a secret resolves to, and alerts."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from arrowhook.core.signals import AlertHealth, SignalExpectations
from arrowhook.core.tradingview import AlertFields, ParseIssue

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: How much of a message a list shows (the detail has all of it).
MESSAGE_PREVIEW_CHARS = 140


def new_id(now_ms: int | None = None) -> str:
    """A ULID: 26 characters that sort by creation time, so ids double as a tiebreaker in time ranges."""
    timestamp = int(time.time() * 1000) if now_ms is None else now_ms
    value = (timestamp << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def ulid_time(ulid: str) -> datetime | None:
    """When a ULID (new_id) was made, from its first 10 characters (48 bits of milliseconds); None for
    anything else."""
    if len(ulid) != 26 or any(char not in _CROCKFORD for char in ulid[:10]):
        return None
    millis = 0
    for char in ulid[:10]:
        millis = millis * 32 + _CROCKFORD.index(char)
    return datetime.fromtimestamp(millis / 1000, UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """Fixed-width UTC timestamps (millisecond precision) so they sort as strings in DynamoDB keys."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class KeyStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class StrategyKey(BaseModel):
    """A strategy's key as operators see it: never the secret, never its hash."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    status: KeyStatus = KeyStatus.ACTIVE
    secret_prefix: str
    created_at: datetime
    updated_at: datetime
    signals: SignalExpectations = Field(default_factory=SignalExpectations)


class KeyAuth(BaseModel):
    """What a webhook learns from a secret; stored beside the secret's hash, read in one GetItem."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    name: str
    status: KeyStatus
    #: Set on a rotated-out secret: it keeps working until then (epoch seconds).
    expires_at: int | None = None

    def accepts(self, now_epoch: float) -> bool:
        if self.status is not KeyStatus.ACTIVE:
            return False
        return self.expires_at is None or now_epoch < self.expires_at


class RepeatedDelivery(BaseModel):
    """A later delivery of the same body inside the dedupe window: answered with the first one's id."""

    model_config = ConfigDict(frozen=True)

    received_at: datetime
    request_id: str


class StoredAlert(BaseModel):
    """One alert as stored: parsed fields beside the raw payload (secret removed) and receive metadata."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    key_id: str
    strategy: str
    received_at: datetime
    body_format: str  # "json" or "text"
    fields: AlertFields
    extra: dict[str, Any] = Field(default_factory=dict)
    payload: str
    parse_issues: list[ParseIssue] = Field(default_factory=list)
    source_ip: str | None = None
    request_id: str | None = None
    user_agent: str | None = None
    content_type: str | None = None
    #: Recorded by the webhook on its duplicate branch (best effort, see AlertStore.record_duplicate).
    duplicates: list[RepeatedDelivery] = Field(default_factory=list)
    #: The lag the alert carries, or what a declared check wrote on it shortly after it was stored
    #: (arrowhook.signals.watch): never None once validated.
    health: AlertHealth | None = None

    @model_validator(mode="after")
    def _own_lag(self) -> StoredAlert:
        """Without a check's verdict, the health is the lag the alert itself carries (nothing stores it)."""
        if self.health is None:
            object.__setattr__(self, "health", AlertHealth.of_lag(self.received_at, self.fields.tv_timenow))
        return self

    @property
    def is_test(self) -> bool:
        """Marked as a test (`"test": true`, as `arrowhook strategies test` sends): never a trade. Everything that
        leaves says so, and it is never part of a position or a sequence."""
        return self.extra.get("test") is True

    @property
    def message(self) -> str | None:
        """What a person reads first: the alert message, the order comment, or a text alert's body."""
        text = (
            self.fields.alert_message or self.fields.comment or (self.payload if self.body_format == "text" else None)
        )
        return text[:MESSAGE_PREVIEW_CHARS] if text else None
