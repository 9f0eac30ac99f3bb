"""Tickets for the live WebSocket API (docs/live.md): a browser cannot send an `Authorization` header on
a WebSocket, and the console's cookie is not the API's, so a client first asks for a ticket (the admin
API with the admin token, the console with its session) and connects with `?ticket=...`.

A ticket is signed (HMAC-SHA256 under the stack's cursor key), names its holder and the strategies its
connection may receive (None: all), and is good for `TICKET_SECONDS` and once: `$connect` redeems its
nonce with a conditional write, so a replayed ticket is refused even inside its minute."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arrowhook.aws.secure_parameters import secure_value
from arrowhook.core.errors import ArrowhookError, KeyNotFoundError
from arrowhook.keys.service import StrategyReferences

#: How long a ticket may wait before its connection: enough for a client to open the socket at once.
TICKET_SECONDS = 30
#: A holder (the admin token, one console session) keeps at most this many connections open: a leaked
#: admin token cannot run up connection minutes (API Gateway bills each open minute).
MAX_CONNECTIONS_PER_HOLDER = 5


class TicketRefusedError(ArrowhookError):
    """No ticket, a forged or expired one, one used before, or one whose holder has its connections open."""


@dataclass(frozen=True)
class Ticket:
    #: Who asked: `admin` (the admin token) or `console:<session id>`; its connections are capped together.
    holder: str
    #: Key ids whose alerts the connection receives; None: every strategy.
    strategies: tuple[str, ...] | None
    nonce: str
    #: Epoch seconds after which `$connect` refuses it.
    expires_at: int

    def receives(self, key_id: str) -> bool:
        return self.strategies is None or key_id in self.strategies


class TicketSigner:
    def __init__(self, key: bytes, seconds: int = TICKET_SECONDS) -> None:
        if len(key) < 32:
            raise ValueError("ticket signing key too short")
        self._key = key
        self.seconds = seconds

    def issue(self, holder: str, strategies: tuple[str, ...] | None, now: datetime) -> tuple[str, Ticket]:
        ticket = Ticket(holder, strategies, secrets.token_urlsafe(16), int(now.timestamp()) + self.seconds)
        state = {"h": ticket.holder, "s": list(strategies) if strategies is not None else None}
        body = _encode({**state, "n": ticket.nonce, "e": ticket.expires_at})
        return f"{body}.{self._sign(body)}", ticket

    def check(self, token: str | None, now: datetime) -> Ticket:
        """The ticket a token carries, if it is ours and not expired (single use is the caller's: redeem)."""
        body, _, signature = (token or "").partition(".")
        if not body or not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise TicketRefusedError("no valid ticket")
        try:
            state: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            strategies = state["s"]
            ticket = Ticket(
                holder=str(state["h"]),
                strategies=None if strategies is None else tuple(str(key_id) for key_id in strategies),
                nonce=str(state["n"]),
                expires_at=int(state["e"]),
            )
        except (ValueError, KeyError, TypeError):
            raise TicketRefusedError("no valid ticket") from None
        if ticket.expires_at <= now.timestamp():
            raise TicketRefusedError("the ticket expired: ask for a new one")
        return ticket

    def _sign(self, body: str) -> str:
        digest = hmac.new(self._key, b"live-ticket\n" + body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def ticket_signer(key_parameter: str) -> TicketSigner:
    """The stack's ticket signer: the cursor key (a secure parameter Powertools caches for an hour in the
    warm function), signing under the tickets' own domain separator."""
    return TicketSigner(secure_value(key_parameter, max_age_seconds=3600).encode())


def _encode(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def ticket_for(
    signer: TicketSigner, holder: str, strategies: list[str] | None, keys: StrategyReferences, now: datetime
) -> tuple[str, Ticket]:
    """A ticket for `holder`, its strategies given by id or name (None or empty: every strategy); an
    unknown one is KeyNotFoundError, so a typo never opens a connection that silently receives nothing."""
    key_ids: list[str] = []
    for reference in strategies or []:
        key = keys.resolve(reference)
        if key is None:
            raise KeyNotFoundError(f"no strategy {reference}")
        if key.id not in key_ids:
            key_ids.append(key.id)
    return signer.issue(holder, tuple(key_ids) if key_ids else None, now)
