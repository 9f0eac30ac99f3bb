"""Secrets never survive in what an alert stores, however the sender writes them: a property test.

The review found a JSON-escaped secret stored as written, secrets in User-Agent and Content-Type
stored verbatim, parse-issue previews keeping 43 of 47 characters (truncated before scrubbing), and
overlapping candidates leaving the last 17 characters. The property: no substring of the secret of
8 characters or more appears in any stored attribute, nor in any JSON string the payload decodes to.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from arrowhook.core.errors import UnauthorizedError
from arrowhook.core.models import KeyAuth, KeyStatus, StoredAlert
from arrowhook.core.settings import WebhookSettings
from arrowhook.ingest.scrub import MIN_FRAGMENT, Scrubber
from arrowhook.ingest.service import IncomingAlert, ingest_alert

TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
secrets_ = st.text(alphabet=TOKEN_CHARS, min_size=43, max_size=43).map(lambda tail: "ahk_" + tail)


class _Keys:
    def __init__(self, secret: str) -> None:
        self.secret = secret

    def resolve(self, secret: str) -> KeyAuth | None:
        return KeyAuth(key_id="K", name="strategy", status=KeyStatus.ACTIVE) if secret == self.secret else None


class _Capture:
    stored: StoredAlert | None = None

    def put(self, alert: StoredAlert, dedupe_hash: str, dedupe_window_seconds: int) -> tuple[str, bool]:
        self.stored = alert
        return alert.alert_id, False


def _escaped(secret: str, positions: list[int]) -> str:
    """The secret as a JSON string body, with the chosen characters written as \\uXXXX escapes."""
    return "".join(f"\\u{ord(char):04x}" if index in positions else char for index, char in enumerate(secret))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for name, item in value.items() for text in (*_strings(name), *_strings(item))]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in _strings(item)]
    return []


def assert_no_fragment(secret: str, texts: list[str]) -> None:
    fragments = {secret[start : start + MIN_FRAGMENT] for start in range(len(secret) - MIN_FRAGMENT + 1)}
    for text in texts:
        decoded = [text]
        for literal in re.findall(r'"(?:[^"\\\x00-\x1f]|\\.)*"', text):
            with contextlib.suppress(ValueError):
                decoded.append(json.loads(literal))
        for candidate in decoded:
            leaked = [fragment for fragment in fragments if fragment in candidate]
            assert not leaked, f"{leaked[0]!r} of the secret survives in {candidate[:120]!r}"


@settings(max_examples=300, deadline=None)
@given(
    secret=secrets_,
    escaped=st.lists(st.integers(0, 46), max_size=47),
    cut=st.integers(1, 46),
    placements=st.lists(
        st.sampled_from(["prefix", "suffix", "name", "list", "price", "comment", "whole", "agent", "type"]),
        max_size=6,
    ),
    broken=st.booleans(),
)
def test_no_fragment_of_the_secret_survives_in_anything_stored(
    secret: str, escaped: list[int], cut: int, placements: list[str], broken: bool
) -> None:
    fields = [f'"key": "{_escaped(secret, escaped)}"', '"ticker": "BTCUSDT"', '"action": "buy"']
    user_agent, content_type = "TradingView", "application/json"
    for placement in placements:
        if placement == "prefix":
            fields.append(f'"note": "{secret[:cut]}"')
        elif placement == "suffix":
            fields.append(f'"tail": "{secret[cut:]}"')
        elif placement == "name":
            fields.append(f'"{secret}": 1')
        elif placement == "list":
            fields.append(f'"items": ["{secret}", "x{secret[:cut]}"]')
        elif placement == "price":
            fields.append(f'"price": "{secret}"')  # a parse issue whose preview is truncated
        elif placement == "comment":
            fields.append(f'"comment": "seen {_escaped(secret, escaped)} twice"')
        elif placement == "whole":
            fields.append(f'"echo": "{secret}"')
        elif placement == "agent":
            user_agent = f"Go-http-client/1.1 {secret}"
        else:
            content_type = f"application/json; charset={secret}"
    body = "{" + ", ".join(fields) + ("," if broken else "}")
    store = _Capture()
    incoming = (
        IncomingAlert(
            body=body.encode(),
            received_at=datetime(2026, 11, 23, tzinfo=UTC),
            user_agent=user_agent,
            content_type=content_type,
        ),
    )[0]
    settings_ = WebhookSettings.model_validate({"KEYS_TABLE_NAME": "keys", "ALERTS_TABLE_NAME": "alerts"})
    try:
        ingest_alert(incoming, settings_, _Keys(secret), store)
    except UnauthorizedError:
        # Broken JSON is read as text, where an escaped key is not recognised: refused, nothing stored.
        assert broken and escaped and store.stored is None
        return
    assert store.stored is not None, "the alert was authenticated and stored"
    assert_no_fragment(secret, _strings(store.stored.model_dump(mode="json")))


def test_longest_candidate_first_and_fragments_too() -> None:
    secret = "ahk_" + "x7Kq2" * 9
    scrubber = Scrubber({secret, secret[:30]})
    assert scrubber.text(f"{secret} and {secret[:30]} and ...{secret[20:40]}...") == "*** and *** and ...***..."
    assert scrubber.text("short bits ahk_x7K stay") == "short bits ahk_x7K stay", "7 characters say nothing"


def test_a_json_escaped_secret_is_scrubbed_by_what_it_decodes_to() -> None:
    secret = "ahk_" + "Zz9" * 14
    escaped = "".join(f"\\u{ord(char):04x}" for char in secret)
    text = f'{{"key": "{escaped}", "ticker": "BTC"}}'
    assert Scrubber({secret}).text(text) == '{"key": "***", "ticker": "BTC"}'
