"""The console's sign-in: the admin token, once, for a signed session cookie that expires; and the CSRF
token every state-changing request must echo.

The cookie holds `{"csrf", "sid", "mark"}` signed (HMAC, itsdangerous) with a key the stack generates at
deploy into an SSM SecureString, and its signing time: nothing to steal but the session itself, which
is HttpOnly, SameSite=Strict, Secure when served over HTTPS, and dies after `max_age_seconds`.

A signed cookie alone outlives what should end it, so two checks are server-side: the session must
still be open (a `SESSION#<sid>` item, removed by sign-out, expired by the table's TTL), and `mark`
must be the current admin token's mark (an HMAC of the token under the session key): replacing the
admin token ends every session at once, with no list of sessions to walk.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from arrowhook.aws.dynamodb import dynamodb_client, store_errors

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

COOKIE_NAME = "ahk_console"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SALT = "arrowhook-console-session"


@dataclass(frozen=True)
class Session:
    csrf_token: str
    #: The server-side record's id (SESSION#<sid>): sign-out deletes it.
    session_id: str = ""
    #: The admin token's mark when the session was opened (token_mark): a replaced token ends it.
    token_mark: str = ""

    def allows(self, presented: str | None) -> bool:
        """A state-changing request must carry this session's CSRF token (form field or header)."""
        return bool(presented) and hmac.compare_digest(str(presented).encode(), self.csrf_token.encode())


def token_mark(session_key: bytes, admin_token: str) -> str:
    """Which admin token a session was opened with, without the token: HMAC-SHA256 under the session key."""
    return hmac.new(session_key, admin_token.encode(), hashlib.sha256).hexdigest()[:32]


class SessionSigner:
    def __init__(self, key: bytes, max_age_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self.key = key
        self.max_age_seconds = max_age_seconds

        class ClockedSigner(TimestampSigner):
            """itsdangerous reads the time in its signer; the tests give it their own clock."""

            def get_timestamp(self) -> int:
                return int(clock())

        self._serializer = URLSafeTimedSerializer(key, salt=_SALT, signer=ClockedSigner)

    def issue(self, admin_token: str) -> tuple[str, Session]:
        """A new session (opened with this admin token) and the cookie value that carries it."""
        session = Session(
            csrf_token=secrets.token_urlsafe(24),
            session_id=secrets.token_urlsafe(18),
            token_mark=token_mark(self.key, admin_token),
        )
        payload = {"csrf": session.csrf_token, "sid": session.session_id, "mark": session.token_mark}
        return str(self._serializer.dumps(payload)), session

    def load(self, cookie: str | None) -> Session | None:
        """The session a cookie carries; None when it is missing, forged or expired."""
        if not cookie:
            return None
        try:
            payload = self._serializer.loads(cookie, max_age=self.max_age_seconds)
        except BadSignature:  # SignatureExpired is a BadSignature
            return None
        if not isinstance(payload, dict):
            return None
        values = [payload.get(name) for name in ("csrf", "sid", "mark")]
        if not all(isinstance(value, str) and value for value in values):
            return None  # a cookie from before sessions were kept server-side: sign in again
        csrf, sid, mark = (str(value) for value in values)
        return Session(csrf_token=csrf, session_id=sid, token_mark=mark)

    def current(self, session: Session | None, admin_token: str) -> bool:
        """Whether the session was opened with this admin token (a rotation ends every older session)."""
        return session is not None and hmac.compare_digest(session.token_mark, token_mark(self.key, admin_token))


class OpenSessions:
    """`SESSION#<sid>` items in the keys table: a session is usable only while its item exists. The
    table's TTL (`ttl`) removes it once the cookie would have expired anyway."""

    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    def open(self, session: Session, lifetime_seconds: int, now: float | None = None) -> None:
        expires = int((time.time() if now is None else now) + lifetime_seconds)
        with store_errors():
            self._client.put_item(
                TableName=self.table_name,
                Item={"pk": {"S": f"SESSION#{session.session_id}"}, "ttl": {"N": str(expires)}},
            )

    def is_open(self, session: Session, now: float | None = None) -> bool:
        with store_errors():
            item = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": f"SESSION#{session.session_id}"}}, ConsistentRead=True
            ).get("Item")
        # TTL deletes within days, not at once: an item past its time is closed already.
        return item is not None and int(item["ttl"]["N"]) > (time.time() if now is None else now)

    def close(self, session: Session) -> None:
        with store_errors():
            self._client.delete_item(TableName=self.table_name, Key={"pk": {"S": f"SESSION#{session.session_id}"}})
