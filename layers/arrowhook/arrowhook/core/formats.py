"""Stored item formats: which release's writer made an item, so a later release reads it the right way.

Every entity item (an alert, a strategy key, a destination, a delivery record) says its format in
`item_format`. Items written before the attribute existed (release 0.1.0) carry none: they are format 1,
which is what this release still writes. A change to an item's layout writes the next number and ships
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
