"""Live connections and redeemed tickets in the keys table (it has a TTL attribute, `ttl`, and the
KeysByName index over `entity`): a deployment has a handful of open connections, so listing them is one
Query of that index, and no table of its own adds a fixed cost.

  CONNECTION#<id>   an open connection: its holder, the strategies it receives; `ttl` after API
                    Gateway's two-hour limit (name_lower `<holder>#<id>`: a holder's count is one Query)
  TICKET#<nonce>    a redeemed ticket (the conditional write is what makes a ticket single-use)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from arrowhook.aws.dynamodb import dynamodb_client, from_item, query_all, store_errors, succeeded, to_item
from arrowhook.live.connections import Connection

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_ENTITY = "connection"


class ConnectionStore:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    def put(self, connection: Connection) -> None:
        item = {
            "pk": f"CONNECTION#{connection.connection_id}",
            "entity": _ENTITY,
            "name_lower": f"{connection.holder.lower()}#{connection.connection_id}",
            "connection_id": connection.connection_id,
            "holder": connection.holder,
            "strategies": list(connection.strategies) if connection.strategies is not None else None,
            "connected_at": connection.connected_at.isoformat(),
            "ttl": connection.expires_at,
        }
        with store_errors():
            self._client.put_item(TableName=self.table_name, Item=to_item(item))

    def delete(self, connection_id: str) -> None:
        with store_errors():
            self._client.delete_item(TableName=self.table_name, Key={"pk": {"S": f"CONNECTION#{connection_id}"}})

    def get(self, connection_id: str) -> Connection | None:
        with store_errors():
            item = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": f"CONNECTION#{connection_id}"}}, ConsistentRead=True
            ).get("Item")
        return _connection(item) if item else None

    def held_by(self, holder: str, now_epoch: float) -> int:
        return len(self._query(now_epoch, prefix=f"{holder.lower()}#"))

    def all(self, now_epoch: float) -> list[Connection]:
        return self._query(now_epoch)

    def _query(self, now_epoch: float, prefix: str = "") -> list[Connection]:
        """Records past their TTL are skipped: DynamoDB deletes them within days, not at once."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "KeysByName",
            "KeyConditionExpression": "entity = :entity",
            "ExpressionAttributeValues": {":entity": {"S": _ENTITY}},
        }
        if prefix:
            arguments["KeyConditionExpression"] += " AND begins_with(name_lower, :prefix)"
            arguments["ExpressionAttributeValues"][":prefix"] = {"S": prefix}
        found = [_connection(item) for item in query_all(self._client, arguments)]
        return [connection for connection in found if connection.expires_at > now_epoch]


def _connection(item: dict[str, Any]) -> Connection:
    values = from_item(item)
    strategies = values.get("strategies")
    return Connection(
        connection_id=str(values["connection_id"]),
        holder=str(values["holder"]),
        strategies=None if strategies is None else tuple(str(key_id) for key_id in strategies),
        connected_at=datetime.fromisoformat(str(values["connected_at"])).astimezone(UTC),
        expires_at=int(values["ttl"]),
    )


class TicketRedemptions:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    def redeem(self, nonce: str, expires_at: int) -> bool:
        return succeeded(
            lambda: self._client.put_item(
                TableName=self.table_name,
                Item={"pk": {"S": f"TICKET#{nonce}"}, "ttl": {"N": str(expires_at + 3600)}},
                ConditionExpression="attribute_not_exists(pk)",
            )
        )
