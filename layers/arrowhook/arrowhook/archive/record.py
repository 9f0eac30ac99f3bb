"""The archive's line format, version 1: one JSON object per alert in the gzip JSON Lines objects.

Objects are kept for years and read by Athena (the Glue table's columns are these fields), so the
format has its own model instead of reusing an API response: a change to the admin API can never
change what is written to S3. A golden-line test pins it; a format change is a new model (V2) and a
new object prefix, with the Glue table to match. Decimals are JSON strings, so prices stay exact.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from arrowhook.core.models import StoredAlert
from arrowhook.core.tradingview import MarketPosition, ParseIssue, Side


class ArchivedAlertV1(BaseModel):
    """Every stored field of one alert, in the order the first archives were written."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    key_id: str
    strategy: str
    received_at: datetime
    body_format: str
    ticker: str | None = None
    exchange: str | None = None
    side: Side | None = None
    price: Decimal | None = None
    quantity: Decimal | None = None
    position_size: Decimal | None = None
    market_position: MarketPosition | None = None
    market_position_size: Decimal | None = None
    prev_market_position: MarketPosition | None = None
    interval: str | None = None
    order_id: str | None = None
    comment: str | None = None
    alert_message: str | None = None
    tv_time: datetime | None = None
    tv_timenow: datetime | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    parse_issues: list[ParseIssue] = Field(default_factory=list)
    payload: str
    source_ip: str | None = None
    request_id: str | None = None
    user_agent: str | None = None
    content_type: str | None = None

    @field_serializer("price", "quantity", "position_size", "market_position_size")
    def _plain_decimal(self, value: Decimal | None) -> str | None:
        """Positional notation (`100000`, never `1E+5`): what CAST(... AS DECIMAL(38,18)) reads."""
        return None if value is None else format(value, "f")

    @classmethod
    def of(cls, alert: StoredAlert) -> ArchivedAlertV1:
        return cls.model_validate(
            {**alert.model_dump(exclude={"fields"}), **alert.fields.model_dump(exclude_none=True)}
        )
