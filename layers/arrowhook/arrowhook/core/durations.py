"""One grammar for durations everywhere: the alerts API's `since`/`until` ("24h" back from now), the
CLI's `--grace`, `--since`, `--interval`. A whole number of seconds, or a whole number with a unit:
90s, 30m, 12h, 7d, 2w (case and spaces ignored)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d{1,12})\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
HELP = "seconds, or 90s, 30m, 12h, 7d, 2w"


def is_duration(text: str) -> bool:
    return _DURATION.match(text) is not None


def parse_duration(text: str) -> timedelta:
    """ValueError for anything else, or for a duration too long to compute with."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration ({HELP})")
    try:
        return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])
    except OverflowError:
        raise ValueError(f"{text!r} is too long") from None
