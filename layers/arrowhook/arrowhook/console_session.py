"""The console's sign-in: the admin token, once, for a signed session cookie that expires; and the CSRF
token every state-changing request must echo.

The cookie holds only `{"csrf": <random>}` signed (HMAC, itsdangerous) with a key the stack generates at
deploy into an SSM SecureString, and its signing time: nothing to steal but the session itself, which
is HttpOnly, SameSite=Strict, Secure when served over HTTPS, and dies after `max_age_seconds`.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

COOKIE_NAME = "ahk_console"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SALT = "arrowhook-console-session"


@dataclass(frozen=True)
class Session:
    csrf_token: str

    def allows(self, presented: str | None) -> bool:
        """A state-changing request must carry this session's CSRF token (form field or header)."""
        return bool(presented) and hmac.compare_digest(str(presented).encode(), self.csrf_token.encode())


class SessionSigner:
    def __init__(self, key: bytes, max_age_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self.max_age_seconds = max_age_seconds

        class ClockedSigner(TimestampSigner):
            """itsdangerous reads the time in its signer; the tests give it their own clock."""

            def get_timestamp(self) -> int:
                return int(clock())

        self._serializer = URLSafeTimedSerializer(key, salt=_SALT, signer=ClockedSigner)

    def issue(self) -> tuple[str, Session]:
        """A new session and the cookie value that carries it."""
        session = Session(csrf_token=secrets.token_urlsafe(24))
        return str(self._serializer.dumps({"csrf": session.csrf_token})), session

    def load(self, cookie: str | None) -> Session | None:
        """The session a cookie carries; None when it is missing, forged or expired."""
        if not cookie:
            return None
        try:
            payload = self._serializer.loads(cookie, max_age=self.max_age_seconds)
        except BadSignature:  # SignatureExpired is a BadSignature
            return None
        token = payload.get("csrf") if isinstance(payload, dict) else None
        return Session(csrf_token=token) if isinstance(token, str) and token else None
