"""The archive's DynamoDB side: which alerts to archive next, and deleting them once they are in S3."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from arrowhook.alerts.store import BY_DAY_INDEX, alert_from_item, full_items
from arrowhook.aws.dynamodb import (
    MAX_BATCH_ATTEMPTS,
    batch_get,
    dynamodb_client,
    retry_pause,
    store_errors,
)
from arrowhook.core.errors import StoreUnavailableError
from arrowhook.core.models import StoredAlert

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: An alert put back into the table after it was first stored (from the archive, or a point-in-time copy)
#: carries this: the stream's consumers skip it (it was forwarded when it first arrived).
RESTORED_MARK = "restored_at"
#: ... and one that came from the archive carries this too: it is in an object already.
FROM_ARCHIVE = {"restored_from": {"S": "archive"}}
#: DynamoDB's BatchWriteItem limit: 1,000 alerts cost 40 delete calls.
DELETE_BATCH_SIZE = 25


def archivable(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every alert but those restored from the archive: never written into a second object (they expire
    from the table on their own, `expires_at`)."""
    return [item for item in items if item.get("restored_from") != FROM_ARCHIVE["restored_from"]]


class DynamoDBAlertSource:
    def __init__(
        self,
        table_name: str,
        *,
        alerts_per_object: int,
        dynamodb: DynamoDBClient | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.table_name = table_name
        self.alerts_per_object = alerts_per_object
        self._dynamodb = dynamodb or dynamodb_client()
        self._sleep = sleep

    def days_with_alerts(self, last_day: str) -> list[str]:
        """Only before the first run ever: one pass over the day index for the days holding alerts."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": BY_DAY_INDEX,
            "ProjectionExpression": "#day",
            "FilterExpression": "#day <= :last",
            "ExpressionAttributeNames": {"#day": "day"},
            "ExpressionAttributeValues": {":last": {"S": last_day}},
        }
        with store_errors():
            pages = self._dynamodb.get_paginator("scan").paginate(**arguments)
            return sorted({item["day"]["S"] for page in pages for item in page.get("Items", [])})

    def next_batch(self, watermark: str, cutoff_key: str, day: str) -> list[StoredAlert]:
        """The oldest alerts of `day` after the watermark and up to the cutoff: at most one object's worth."""
        listed = self._query(self._day_query(watermark, cutoff_key, day))
        return [alert_from_item(item) for item in archivable(full_items(self._dynamodb, self.table_name, listed))]

    def listed_behind(self, day: str, watermark: str) -> list[str]:
        """Ids the day index lists on `day` at or before the watermark (possibly just deleted: confirm)."""
        listed = self._query(
            {
                "TableName": self.table_name,
                "IndexName": BY_DAY_INDEX,
                "KeyConditionExpression": "#day = :day AND sort_key <= :watermark",
                "ExpressionAttributeNames": {"#day": "day"},
                "ExpressionAttributeValues": {":day": {"S": day}, ":watermark": {"S": watermark}},
                "ScanIndexForward": True,
            }
        )
        return [item["pk"]["S"].removeprefix("ALERT#") for item in listed]

    def count(self, watermark: str, cutoff_key: str, day: str) -> int:
        pages = self._dynamodb.get_paginator("query").paginate(
            **self._day_query(watermark, cutoff_key, day), Select="COUNT"
        )
        with store_errors():
            return sum(page.get("Count", 0) for page in pages)

    def consistent(self, alert_ids: list[str]) -> list[StoredAlert]:
        """The alerts the table holds now (strongly consistent), oldest first."""
        keys = [{"pk": {"S": f"ALERT#{alert_id}"}} for alert_id in alert_ids]
        found = archivable(batch_get(self._dynamodb, self.table_name, keys, sleep=self._sleep))
        return [alert_from_item(item) for item in sorted(found, key=lambda item: str(item["sort_key"]["S"]))]

    def delete(self, alert_ids: list[str], before_each_call: Callable[[], None]) -> int:
        """Delete in batches of 25, retrying unprocessed items with jittered backoff; returns the retries.

        Not fenced (BatchWriteItem takes no condition), and it need not be: these alerts are in a
        verified object, and any run that rewrites that key writes the same bytes."""
        retries = 0
        for start in range(0, len(alert_ids), DELETE_BATCH_SIZE):
            before_each_call()
            requests: list[Any] = [
                {"DeleteRequest": {"Key": {"pk": {"S": f"ALERT#{alert_id}"}}}}
                for alert_id in alert_ids[start : start + DELETE_BATCH_SIZE]
            ]
            attempt = 0
            while requests:
                with store_errors():
                    response = self._dynamodb.batch_write_item(RequestItems={self.table_name: requests})
                requests = list(response.get("UnprocessedItems", {}).get(self.table_name, []))
                if requests:
                    attempt += 1
                    retries += 1
                    if attempt >= MAX_BATCH_ATTEMPTS:
                        raise StoreUnavailableError("DynamoDB kept leaving archived alerts unprocessed")
                    self._sleep(retry_pause(attempt))
        return retries

    def _day_query(self, watermark: str, cutoff_key: str, day: str) -> dict[str, Any]:
        # " " sorts below every character of a sort key, so `watermark + " "` excludes the watermark
        # alert itself (an index can still list a just-deleted item) and nothing after it.
        low = watermark + " " if watermark[:10] == day else day
        return {
            "TableName": self.table_name,
            "IndexName": BY_DAY_INDEX,
            "KeyConditionExpression": "#day = :day AND sort_key BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#day": "day"},
            "ExpressionAttributeValues": {":day": {"S": day}, ":low": {"S": low}, ":high": {"S": cutoff_key}},
            "ScanIndexForward": True,
        }

    def _query(self, arguments: dict[str, Any]) -> list[dict[str, Any]]:
        """The oldest matching items, at most one object's worth."""
        items: list[dict[str, Any]] = []
        with store_errors():
            while len(items) < self.alerts_per_object:
                page = self._dynamodb.query(**arguments, Limit=self.alerts_per_object - len(items))
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                arguments = {**arguments, "ExclusiveStartKey": page["LastEvaluatedKey"]}
        return items
