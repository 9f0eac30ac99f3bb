"""What a strategy declares about its alerts (SignalExpectations, on its key) and what the checks found
about one alert (AlertHealth, on the alert). The checks themselves are arrowhook.signals.checks."""

from __future__ import annotations

import re
from datetime import datetime, time
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)


class SequenceCheck(StrEnum):
    #: Alerts that carry `prev_market_position` are checked against the previous alert's position.
    POSITIONS = "positions"
    #: Also, for alerts without position fields: entries and exits alternate (flat-long-flat or
    #: flat-short-flat), so two buys or two sells (or two closes) in a row mean one went missing.
    ALTERNATING = "alternating"
    OFF = "off"


def problems(error: ValidationError) -> str:
    """What a person reads of a validation error: each problem's message, without pydantic's framing."""
    return "; ".join(str(detail["msg"]).removeprefix("Value error, ") for detail in error.errors())


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_TEXT = re.compile(
    r"^(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})(?:\s+(?P<zone>\S+))?$"
)


#: A time of day as the API writes it ("09:30:00"; an offset only if one was given). JSON Schema's
#: `format: time` would demand an offset (RFC 3339 full-time), which no session time has: a validator
#: that checks formats (Schemathesis does) would call every answer that carries trading hours wrong.
ClockTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$",
            "examples": ["09:30", "16:00:00"],
        }
    ),
]


class TradingHours(BaseModel):
    """When a strategy is expected to send: a session on each listed weekday, in the exchange's time
    zone. `end` at or before `start` is a session through midnight (futures: 18:00-17:00)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = Field("UTC", max_length=64, description="IANA time zone, e.g. America/New_York.")
    weekdays: tuple[int, ...] = Field((0, 1, 2, 3, 4), description="0 = Monday ... 6 = Sunday.")
    start: ClockTime = time(0, 0)
    end: ClockTime = time(0, 0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as America/New_York)") from None
        return value

    @field_validator("weekdays")
    @classmethod
    def _days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(day not in range(7) for day in value):
            raise ValueError("weekdays: one or more of 0 (Monday) ... 6 (Sunday)")
        return tuple(sorted(set(value)))

    @classmethod
    def parse(cls, text: str) -> TradingHours:
        """`mon-fri 09:30-16:00 America/New_York` (days as ranges or a list: `sun-thu`, `mon,wed,fri`;
        the zone defaults to UTC). ValueError says what is wrong."""
        words = text.strip().split()
        match = _HOURS_TEXT.match(" ".join([*(word.lower() for word in words[:2]), *words[2:3]]))
        if match is None:
            raise ValueError("trading hours: expected e.g. 'mon-fri 09:30-16:00 America/New_York'")
        days: list[int] = []
        for part in match["days"].split(","):
            first, _, last = part.partition("-")
            if first not in WEEKDAY_NAMES or (last and last not in WEEKDAY_NAMES):
                raise ValueError(f"trading hours: unknown day in {part!r} (use {', '.join(WEEKDAY_NAMES)})")
            low, high = WEEKDAY_NAMES.index(first), WEEKDAY_NAMES.index(last or first)
            days.extend(range(low, high + 1) if low <= high else [*range(low, 7), *range(high + 1)])
        values = {"weekdays": tuple(days), "start": match["start"].zfill(5), "end": match["end"].zfill(5)}
        try:
            return cls.model_validate({**values, "timezone": match["zone"] or "UTC"})
        except ValidationError as error:
            raise ValueError(f"trading hours: {problems(error)}") from None

    def describe(self) -> str:
        days = ",".join(WEEKDAY_NAMES[day] for day in self.weekdays)
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M} {self.timezone}"


class SignalExpectations(BaseModel):
    """A strategy's declared expectations; every check is off until declared, except the position check."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_lag_seconds: int | None = Field(
        None, ge=1, le=86_400, description="Flag alerts received later than this after TradingView fired them."
    )
    sequence: SequenceCheck = Field(SequenceCheck.POSITIONS, description="Which missed-alert check runs.")
    expect_every_minutes: int | None = Field(
        None, ge=5, le=10_080, description="Notify when no alert arrives for this long (inside trading hours)."
    )
    trading_hours: TradingHours | None = Field(
        None, description="Count silence only inside these hours (default: around the clock)."
    )

    @model_validator(mode="after")
    def _hours_need_a_period(self) -> SignalExpectations:
        if self.trading_hours is not None and self.expect_every_minutes is None:
            raise ValueError("trading_hours applies to expect_every_minutes: set both")
        return self


class GapBefore(BaseModel):
    """At least one alert is missing before this one: what it expected, and what the previous one left."""

    model_config = ConfigDict(frozen=True)

    rule: SequenceCheck
    expected: str = Field(description="The position (or side) this alert says came before it.")
    found: str = Field(description="What the previous alert of the strategy and ticker left.")
    previous_alert_id: str


#: What the health says when it claims no lag (the console and the CLI show it).
NO_TIMENOW = "no timenow in the alert: its lag is unknown"


class AlertHealth(BaseModel):
    """What the checks found. The lag is the alert's own (its `timenow` against its arrival), so it is
    read from the alert; only a declared check (a max lag, a sequence) writes a health on the alert,
    shortly after it is stored, so an alert of a strategy that declares none costs no second write."""

    model_config = ConfigDict(frozen=True)

    lag_ms: int | None = Field(None, description="TradingView's timenow to received_at, milliseconds.")
    lag_unknown: str | None = Field(
        None, description="Why no lag is claimed: the alert carries no timenow (its bar `time` is not when it fired)."
    )
    late: bool = Field(False, description="Later than the strategy's max_lag_seconds.")
    gap_before: GapBefore | None = None
    checked_at: datetime | None = Field(
        None, description="When a declared check (max lag, sequence) ran; null: the lag alone, read from the alert."
    )

    @classmethod
    def of_lag(cls, received_at: datetime, timenow: datetime | None, **checked: object) -> AlertHealth:
        """The lag from TradingView's `timenow` to the arrival (never the bar's `time`: that is when the
        bar opened, so a fresh alert on a 15-minute bar would look 15 minutes late). Never negative: a
        sender's clock ahead of ours is no lag."""
        if timenow is None:
            return cls.model_validate({"lag_unknown": NO_TIMENOW, **checked})
        return cls.model_validate({"lag_ms": max(0, int((received_at - timenow).total_seconds() * 1000)), **checked})
