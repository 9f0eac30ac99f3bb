"""Admin API authorization: one bearer token, kept as an SSM SecureString, compared in constant time."""

from __future__ import annotations

import hmac

_SCHEME = "bearer"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for any other shape."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != _SCHEME or not token or " " in token:
        return None
    return token


def token_matches(presented: str | None, expected: str) -> bool:
    if presented is None or not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())
