"""Stored item formats: which release's writer made an item, so a later release reads it the right way.

Strategy keys, destinations and delivery records say their format in `item_format`; items written before
the attribute existed (release 0.1.0) carry none and are format 1, which this release still writes.
Alerts say it only from format 2 on: an absent `item_format` is format 1, and writing it would cost 13
bytes an alert, enough to take one of 1,011-1,023 bytes past DynamoDB's 1 KB write unit (docs/architecture.md,
"Decisions measured"). A change to an item's layout writes the next number and ships
with the reader of every earlier one; tests/compat loads the previous release's items to hold it to that.
Readers never refuse a higher number (a rollback reads what the newer release wrote as best it can:
pydantic models ignore attributes they do not know).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ITEM_FORMAT_ATTRIBUTE = "item_format"
#: The format this release writes.
ITEM_FORMAT = 1


def format_of(values: Mapping[str, Any]) -> int:
    """The format an item (plain values, or DynamoDB JSON) was written in; 1 when it says none."""
    value = values.get(ITEM_FORMAT_ATTRIBUTE)
    if isinstance(value, Mapping):
        value = value.get("N")
    return int(value) if value is not None else 1
