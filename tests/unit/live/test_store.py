"""The live records in the keys table (moto, the template's table): a connection read back as written,
counted per holder, skipped past its TTL and gone once deleted; a ticket redeemed once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from arrowhook.live.connections import Connection
from arrowhook.live.store import ConnectionStore, TicketRedemptions
from arrowhook_tools.local.template import LocalTemplate

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def connection(connection_id: str, holder: str = "admin", expires: int = 7200) -> Connection:
    return Connection(connection_id, holder, ("K1", "K2"), NOW, int(NOW.timestamp()) + expires)


def test_connections_are_read_back_counted_per_holder_and_expire(aws: DynamoDBClient, template: LocalTemplate) -> None:
    store = ConnectionStore(template.physical_name("KeysTable"))
    store.put(connection("c1"))
    store.put(connection("c2", holder="console:Ab"))
    store.put(connection("old", expires=-1))
    store.put(Connection("all", "admin", None, NOW, int(NOW.timestamp()) + 60))
    now = NOW.timestamp()
    assert sorted(store.all(now), key=lambda one: one.connection_id) == [
        Connection("all", "admin", None, NOW, int(now) + 60),
        connection("c1"),
        connection("c2", holder="console:Ab"),
    ]
    assert (store.held_by("admin", now), store.held_by("console:ab", now), store.held_by("console", now)) == (2, 1, 0)
    assert store.get("c1") == connection("c1") and store.get("nope") is None
    store.delete("c1")
    assert sorted(one.connection_id for one in store.all(now)) == ["all", "c2"]


def test_a_ticket_is_redeemed_once(aws: DynamoDBClient, template: LocalTemplate) -> None:
    redemptions = TicketRedemptions(template.physical_name("KeysTable"))
    assert redemptions.redeem("n1", int(NOW.timestamp()) + 30) is True
    assert redemptions.redeem("n1", int(NOW.timestamp()) + 30) is False
    assert redemptions.redeem("n2", int(NOW.timestamp()) + 30) is True
