"""The export's columns, shared by `arrowhook alerts export` and the console's export: one row per alert
as the admin API lists it (AlertOut's JSON), flattened for a spreadsheet and safe in one."""

from __future__ import annotations

import json
import re
from typing import Any

EXPORT_COLUMNS = (
    "alert_id",
    "received_at",
    "strategy",
    "key_id",
    "ticker",
    "exchange",
    "side",
    "price",
    "quantity",
    "position_size",
    "market_position",
    "market_position_size",
    "prev_market_position",
    "fill",
    "interval",
    "order_id",
    "comment",
    "alert_message",
    "tv_time",
    "tv_timenow",
    "body_format",
    "message",
    "lag_ms",
    "late",
    "gap_before",
    "parse_issues",
    "extra",
)
#: What a spreadsheet would run as a formula (OWASP's CSV injection list), unless the cell is a number.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def csv_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: an alert's field starting like a formula (`=HYPERLINK(...)`,
    `@SUM`, `-2+3`) gets a leading apostrophe; numbers, including negative ones, stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def export_row(alert: dict[str, Any]) -> dict[str, Any]:
    """One CSV row: every column, a text alert's body as its message, the signal health flattened."""
    health = alert.get("health") or {}
    gap = health.get("gap_before")
    row = {name: alert.get(name) for name in EXPORT_COLUMNS}
    row["message"] = alert.get("text") or alert.get("alert_message") or alert.get("comment")
    row["lag_ms"], row["late"] = health.get("lag_ms"), health.get("late")
    row["gap_before"] = f"expected {gap['expected']}, found {gap['found']}" if gap else None
    row["parse_issues"] = json.dumps(alert.get("parse_issues") or [])
    row["extra"] = json.dumps(alert.get("extra") or {})
    return {name: csv_cell(value) for name, value in row.items()}
