"""Per-day alert counts, so `alerts stats` over months reads one small item per day, not every alert.

A closed day (before today, UTC) never changes: the daily housekeeping run (the archive function, on
its schedule) reads each closed day's alerts once, before the archive could move them, and writes one
`COUNTS#<day>` item with a row per (strategy, ticker, side): its count and its first and last
receive times. Rows are absolute values computed from a full read, so a repeated or interrupted run
can only write the same item again (never count twice), and nothing runs on the webhook's path.
`COUNTS#through` remembers the last day counted, so each run only reads the days since.

Items (alerts table): COUNTS#<yyyy-mm-dd> `rows` (JSON), `counted_at`; COUNTS#through `through_day`.
None carries `day` or `sort_key`, so none appears in an alerts index.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from arrowhook.alerts.store import BY_DAY_INDEX
from arrowhook.aws.dynamodb import batch_get, dynamodb_client, query_page, store_errors
from arrowhook.core.models import iso, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PREFIX = "COUNTS#"
_THROUGH = f"{PREFIX}through"
#: Days one run counts at most (a day is one paginated query): a longer backlog continues next run,
#: well ahead of the cutoff, which moves a day per run.
MAX_DAYS_PER_RUN = 120


@dataclass(frozen=True)
class CountRow:
    key_id: str
    strategy: str
    ticker: str | None
    side: str | None
    count: int
    first_at: datetime
    last_at: datetime

    def matches(self, key_id: str | None, ticker: str | None, side: str | None) -> bool:
        return (
            (key_id is None or self.key_id == key_id)
            and (ticker is None or self.ticker == ticker)
            and (side is None or self.side == side)
        )

    def to_json(self) -> list[Any]:
        return [self.key_id, self.strategy, self.ticker, self.side, self.count, iso(self.first_at), iso(self.last_at)]

    @classmethod
    def from_json(cls, row: list[Any]) -> CountRow:
        key_id, strategy, ticker, side, count, first_at, last_at = row
        return cls(key_id, strategy, ticker, side, int(count), _moment(first_at), _moment(last_at))


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class DailyCounts:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    # -- writing (the daily housekeeping run) -----------------------------------------------------------
    def count_day(self, day: date) -> list[CountRow]:
        """Read every alert of a closed day (its day index partition, whose entries hold the fields counted)
        and store the rows."""
        groups: dict[tuple[str, str, str | None, str | None], list[str]] = defaultdict(list)
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": BY_DAY_INDEX,
            "KeyConditionExpression": "#day = :day",
            "ProjectionExpression": "key_id, strategy, ticker, side, sort_key",  # all in the index entry
            "ExpressionAttributeNames": {"#day": "day"},
            "ExpressionAttributeValues": {":day": {"S": day.isoformat()}},
        }
        while True:
            page = query_page(self._client, arguments)
            for item in page.get("Items", []):
                group = (
                    item["key_id"]["S"],
                    item.get("strategy", {}).get("S", ""),
                    item.get("ticker", {}).get("S"),
                    item.get("side", {}).get("S"),
                )
                groups[group].append(item["sort_key"]["S"].partition("#")[0])  # received_at#id
            if "LastEvaluatedKey" not in page:
                break
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        rows = [
            CountRow(key_id, strategy, ticker, side, len(times), _moment(min(times)), _moment(max(times)))
            for (key_id, strategy, ticker, side), times in sorted(groups.items(), key=lambda entry: str(entry[0]))
        ]
        self._put(
            {
                "pk": {"S": f"{PREFIX}{day.isoformat()}"},
                "rows": {"S": json.dumps([row.to_json() for row in rows], separators=(",", ":"))},
                "counted_at": {"S": iso(utc_now())},
            }
        )
        return rows

    def count_closed_days(self, today: date, not_before: date, max_days: int = MAX_DAYS_PER_RUN) -> list[date]:
        """Count the closed days not counted yet, oldest first, at most `max_days`; returns them.

        `not_before` is the archive's cutoff day: older alerts leave DynamoDB in this very run, so the
        first run starts there, and a backlog (at most the retention) is counted before it is archived."""
        through = self._through()
        day = max(through + timedelta(days=1), not_before) if through else not_before
        counted: list[date] = []
        while day < today and len(counted) < max_days:
            self.count_day(day)
            counted.append(day)
            self._put({"pk": {"S": _THROUGH}, "through_day": {"S": day.isoformat()}})
            day += timedelta(days=1)
        return counted

    # -- reading (stats) ---------------------------------------------------------------------------------
    def read(self, days: Iterable[date]) -> dict[date, list[CountRow]]:
        """The counted days among `days` (a day without its item is absent: count it from its alerts)."""
        keys = [{"pk": {"S": f"{PREFIX}{day.isoformat()}"}} for day in sorted(set(days))]
        return {
            date.fromisoformat(item["pk"]["S"].removeprefix(PREFIX)): [
                CountRow.from_json(row) for row in json.loads(item["rows"]["S"])
            ]
            for item in batch_get(self._client, self.table_name, keys)
        }

    # -- helpers -----------------------------------------------------------------------------------------
    def _through(self) -> date | None:
        with store_errors():
            response = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": _THROUGH}}, ConsistentRead=True
            )
        value = response.get("Item", {}).get("through_day", {}).get("S")
        return date.fromisoformat(value) if value else None

    def _put(self, item: dict[str, Any]) -> None:
        with store_errors():
            self._client.put_item(TableName=self.table_name, Item=item)
