"""Removing secrets from everything an alert stores: no fragment of a secret survives, however written.

A secret can reach a stored attribute whole, as a fragment (a parse-issue preview truncated after it
was cut, an overlapping candidate replaced first), or JSON-escaped (`"\\u0061hk_..."` authenticates
like `"ahk_..."`). So: the longest candidate first, then every run of at least MIN_FRAGMENT characters
that is part of a candidate, and in JSON text every string literal judged by its decoded value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

REPLACEMENT = "***"
#: A run this long that occurs in a secret is scrubbed wherever it appears (shorter ones are left:
#: 7 characters of a 43-character random token say nothing, and scrubbing them would mangle text).
MIN_FRAGMENT = 8
_JSON_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"')


class Scrubber:
    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({secret for secret in secrets if len(secret) >= MIN_FRAGMENT}, key=len, reverse=True)
        grams = {
            secret[start : start + MIN_FRAGMENT]
            for secret in self._secrets
            for start in range(len(secret) - MIN_FRAGMENT + 1)
        }
        # Where a fragment may start is found by one C-level search (a character-by-character walk was
        # the webhook's largest cost of its own): most texts (tickers, prices) hold none.
        self._any_gram = re.compile("|".join(map(re.escape, sorted(grams)))) if grams else None

    def text(self, text: str) -> str:
        if not self._secrets:
            return text
        if "\\" in text:
            text = _JSON_STRING.sub(self._literal, text)
        for secret in self._secrets:
            text = text.replace(secret, REPLACEMENT)
        return self._fragments(text)

    def value(self, value: Any) -> Any:
        """Any parsed value: strings, mapping keys and values, list items."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(name)): self.value(item) for name, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value

    def _literal(self, match: re.Match[str]) -> str:
        """A JSON string literal with escapes: scrubbed by what it decodes to, re-encoded if it changed."""
        literal = match.group(0)
        try:
            decoded = json.loads(literal)
        except ValueError:
            return literal
        scrubbed = self._fragments(self._whole(decoded))
        return literal if scrubbed == decoded else json.dumps(scrubbed, ensure_ascii=False)

    def _whole(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REPLACEMENT)
        return text

    def _fragments(self, text: str) -> str:
        """Replace every maximal run (>= MIN_FRAGMENT) of `text` that is a substring of a secret."""
        if self._any_gram is None:
            return text
        pieces: list[str] = []
        kept_from = 0
        found = self._any_gram.search(text)
        while found is not None:
            start, end = found.start(), found.start() + MIN_FRAGMENT
            while end < len(text) and any(text[start : end + 1] in secret for secret in self._secrets):
                end += 1
            pieces.extend((text[kept_from:start], REPLACEMENT))
            kept_from = end
            found = self._any_gram.search(text, end)
        pieces.append(text[kept_from:])
        return "".join(pieces)
