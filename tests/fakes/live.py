"""Live connections in memory, behind arrowhook.live.connections' protocols: the connection records, the
tickets' redemptions, and a poster that records what it sent and answers 410 for connections it was told
are gone."""

from __future__ import annotations

from dataclasses import dataclass, field

from arrowhook.live.connections import Connection


@dataclass
class InMemoryConnections:
    open: dict[str, Connection] = field(default_factory=dict)

    def put(self, connection: Connection) -> None:
        self.open[connection.connection_id] = connection

    def delete(self, connection_id: str) -> None:
        self.open.pop(connection_id, None)

    def get(self, connection_id: str) -> Connection | None:
        return self.open.get(connection_id)

    def held_by(self, holder: str, now_epoch: float) -> int:
        return sum(1 for one in self.open.values() if one.holder == holder and one.expires_at > now_epoch)

    def all(self, now_epoch: float) -> list[Connection]:
        return [one for one in self.open.values() if one.expires_at > now_epoch]


@dataclass
class InMemoryRedemptions:
    redeemed: set[str] = field(default_factory=set)

    def redeem(self, nonce: str, expires_at: int) -> bool:
        if nonce in self.redeemed:
            return False
        self.redeemed.add(nonce)
        return True


@dataclass
class RecordingPoster:
    gone: set[str] = field(default_factory=set)
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def post(self, connection_id: str, data: bytes) -> bool:
        if connection_id in self.gone:
            return False
        self.sent.append((connection_id, data))
        return True
