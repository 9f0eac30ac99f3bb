"""The deliveries table: one item per (alert, destination), `alert_id` + `destination_id`, so an alert's
deliveries are one Query. Items expire (TTL `expires_at`) after DELIVERY_RECORD_DAYS. Failed and held
deliveries also carry `unsent_lane` (their destination's id): the sparse Unsent index lists a lane's
backlog in alert order, for a redrive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arrowhook.aws.dynamodb import dynamodb_client, from_item, plain, query_all, store_errors, to_item
from arrowhook.core.formats import ITEM_FORMAT, ITEM_FORMAT_ATTRIBUTE
from arrowhook.delivery.sending import DeliveryRecord, DeliveryStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: Records outlive the alert's stay in DynamoDB (ArchiveRetentionDays, 90 by default) a little.
DELIVERY_RECORD_DAYS = 400


class DeliveryStore:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    def get(self, alert_id: str, destination_id: str) -> DeliveryRecord | None:
        """Strongly consistent: the record written by the invocation before this one must be seen."""
        with store_errors():
            response = self._client.get_item(
                TableName=self.table_name,
                Key={"alert_id": {"S": alert_id}, "destination_id": {"S": destination_id}},
                ConsistentRead=True,
            )
        item = response.get("Item")
        return _record(item) if item else None

    def put(self, record: DeliveryRecord) -> None:
        values: dict[str, Any] = {name: plain(value) for name, value in record.model_dump().items()}
        values["expires_at"] = int(record.updated_at.timestamp()) + DELIVERY_RECORD_DAYS * 86_400
        values[ITEM_FORMAT_ATTRIBUTE] = ITEM_FORMAT
        if record.status in (DeliveryStatus.FAILED, DeliveryStatus.HELD):
            values["unsent_lane"] = record.lane
        with store_errors():
            self._client.put_item(TableName=self.table_name, Item=to_item(values))

    def unsent(self, lane: str, first_alert: str = "", last_alert: str = "~") -> list[DeliveryRecord]:
        """A destination's failed and held deliveries, oldest alert first, alert ids within the bounds."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "Unsent",
            "KeyConditionExpression": "unsent_lane = :lane AND alert_id BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":lane": {"S": lane},
                ":first": {"S": first_alert or "0"},
                ":last": {"S": last_alert},
            },
        }
        return [_record(item) for item in query_all(self._client, arguments)]

    def for_alert(self, alert_id: str) -> list[DeliveryRecord]:
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "alert_id = :alert",
            "ExpressionAttributeValues": {":alert": {"S": alert_id}},
        }
        return [_record(item) for item in query_all(self._client, arguments)]


def _record(item: dict[str, Any]) -> DeliveryRecord:
    values = from_item(item)
    values.pop("expires_at", None)
    values.pop("unsent_lane", None)
    values.pop(ITEM_FORMAT_ATTRIBUTE, None)
    return DeliveryRecord.model_validate(values)
