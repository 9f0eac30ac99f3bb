"""Open live connections and what each receives: the `$connect` use case (a ticket checked, redeemed once,
its holder's connections capped) and the fan-out of a new alert to every connection subscribed to its
strategy, a gone one (API Gateway's 410) forgotten. The stores are protocols: DynamoDB in
arrowhook.live.store, in memory in tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from arrowhook.live.tickets import MAX_CONNECTIONS_PER_HOLDER, Ticket, TicketRefusedError, TicketSigner

#: API Gateway closes a WebSocket after two hours; a record lives a little longer, then TTL removes it
#: (a connection that ended without `$disconnect` reaching us is forgotten at the latest then).
CONNECTION_SECONDS = 2 * 3600 + 600


@dataclass(frozen=True)
class Connection:
    connection_id: str
    holder: str
    #: Key ids it receives; None: every strategy.
    strategies: tuple[str, ...] | None
    connected_at: datetime
    #: Epoch seconds: the record's TTL.
    expires_at: int

    def receives(self, key_id: str) -> bool:
        return self.strategies is None or key_id in self.strategies


class Connections(Protocol):
    def put(self, connection: Connection) -> None: ...

    def delete(self, connection_id: str) -> None: ...

    def get(self, connection_id: str) -> Connection | None: ...

    def held_by(self, holder: str, now_epoch: float) -> int:
        """Open connections of one holder (records past their TTL not counted)."""
        ...

    def all(self, now_epoch: float) -> list[Connection]: ...


class Redemptions(Protocol):
    def redeem(self, nonce: str, expires_at: int) -> bool:
        """True the first time a ticket's nonce is redeemed; False ever after (until its record expires,
        which is after the ticket itself)."""
        ...


class Poster(Protocol):
    def post(self, connection_id: str, data: bytes) -> bool:
        """Sent; False when the connection is gone (410), which nothing can send to again."""
        ...


@dataclass
class LiveConnections:
    signer: TicketSigner
    connections: Connections
    redemptions: Redemptions
    max_per_holder: int = MAX_CONNECTIONS_PER_HOLDER
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def connect(self, connection_id: str, token: str | None) -> Connection:
        """`$connect`: the connection is recorded, or TicketRefusedError (API Gateway then refuses the
        upgrade: the client sees the socket fail, and asks for a new ticket)."""
        now = self.now()
        ticket: Ticket = self.signer.check(token, now)
        if self.connections.held_by(ticket.holder, now.timestamp()) >= self.max_per_holder:
            raise TicketRefusedError(f"{self.max_per_holder} connections are open for this holder already")
        if not self.redemptions.redeem(ticket.nonce, ticket.expires_at):
            raise TicketRefusedError("the ticket was used before: ask for a new one")
        connection = Connection(
            connection_id=connection_id,
            holder=ticket.holder,
            strategies=ticket.strategies,
            connected_at=now,
            expires_at=int(now.timestamp()) + CONNECTION_SECONDS,
        )
        self.connections.put(connection)
        return connection


def fan_out(
    connections: Connections, open_connections: list[Connection], key_id: str, data: bytes, poster: Poster
) -> tuple[int, int]:
    """One frame to every open connection subscribed to `key_id`'s alerts (the caller reads the open
    connections once per batch): (sent, forgotten as gone)."""
    sent = gone = 0
    for connection in open_connections:
        if not connection.receives(key_id):
            continue
        if poster.post(connection.connection_id, data):
            sent += 1
        else:
            connections.delete(connection.connection_id)
            gone += 1
    return sent, gone
