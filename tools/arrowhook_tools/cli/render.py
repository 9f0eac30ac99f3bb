"""Printing data that anyone holding a strategy key controls (tickers, comments, names) to a terminal."""

from __future__ import annotations

import re
from typing import Any

from rich.markup import escape

#: C0 controls (tab and newline included: rows stay one line), DEL, C1 (CSI, OSC...), and the Unicode
#: format characters that reorder or hide text (bidi overrides, zero-width).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


#: The same, but for text shown over several lines: tab and newline are kept (a carriage return is not:
#: it would let a line overwrite another).
_UNPRINTABLE_IN_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def shown(value: Any, *, lines: bool = False) -> str:
    """Data as data: no escape sequence reaches the terminal (each becomes U+FFFD, visibly), and no Rich
    markup is interpreted (`[/]` no longer crashes, `[link=...]` no longer makes a hyperlink). With
    `lines`, newlines and tabs stay as they are (a payload in a detail view, not a table row)."""
    pattern = _UNPRINTABLE_IN_LINES if lines else _UNPRINTABLE
    return escape(pattern.sub("\ufffd", "" if value is None else str(value)))
