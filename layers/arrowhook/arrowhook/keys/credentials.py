"""Strategy secrets: 256-bit random tokens with a recognizable prefix, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

SECRET_PREFIX = "ahk_"  # noqa: S105 - a public marker, not a secret  # nosec B105
#: Characters of the secret shown to operators so they can tell keys apart without the secret itself.
DISPLAY_PREFIX_LENGTH = len(SECRET_PREFIX) + 6


def generate_secret() -> str:
    """A URL-safe token: it travels in JSON bodies and in the `/webhook/{token}` path unescaped."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 is enough here: the input is 256 bits of randomness, not a guessable password."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[:DISPLAY_PREFIX_LENGTH]
