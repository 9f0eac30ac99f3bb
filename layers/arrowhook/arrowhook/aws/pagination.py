"""Pagination cursors for every admin listing: opaque to clients, signed, bound to the query they continue.

A cursor carries DynamoDB's LastEvaluatedKey (and, for alerts, the query's resolved range). Signed with
HMAC-SHA256 under a key kept as an SSM SecureString, so a client can neither read it meaningfully nor forge
one: a tampered cursor, or one issued for other filters, is a 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from functools import cache
from typing import Any

from arrowhook.aws.secure_parameters import secure_value
from arrowhook.core.errors import InvalidCursorError


class CursorSigner:
    """HMAC-SHA256 over the cursor's JSON: opaque to clients, unforgeable without the key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("cursor signing key too short")
        self._key = key

    def dump(self, state: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def load(self, cursor: str) -> dict[str, Any]:
        body, _, signature = cursor.partition(".")
        if not body or not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise InvalidCursorError("invalid cursor")
        try:
            state: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            raise InvalidCursorError("invalid cursor") from None
        return state

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@cache
def cursor_signer(parameter_name: str) -> CursorSigner:
    """The signing key, read once per warm function through Powertools Parameters (cached an hour)."""
    return CursorSigner(secure_value(parameter_name, max_age_seconds=3600).encode())
