"""Reading alerts back: every filter combination is a Query on an index built for it, never a Scan.

Plans: a strategy -> AlertsByStrategy (key_id); else AlertsByDay, one day partition at a time (a ticker
across strategies too: a rare question, not worth a third index written with every alert). Both sort by
`sort_key` = received_at#alert_id, so a time range is a key condition and order is free. Their entries
carry the ticker and side, so those filters are filter expressions on the Query; the alerts found are
then read by key (alerts_table.full_items), and the filters on what only the alert holds (parse issues,
text in the body) apply to them. Pages end on an item boundary, and the cursor that continues them is
signed: a tampered cursor, or one issued for other filters, is rejected.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from arrowhook.alerts.store import BY_DAY_INDEX, BY_STRATEGY_INDEX, alert_from_item, full_items
from arrowhook.aws.dynamodb import dynamodb_client, query_page
from arrowhook.core.durations import is_duration, parse_duration
from arrowhook.core.errors import InvalidFilterError
from arrowhook.core.models import StoredAlert, iso, utc_now

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: Without a `since`, an all-strategies query looks this far back (the default archive retention).
DEFAULT_WINDOW_DAYS = 90
#: An all-strategies query reads one AlertsByDay partition per day: its range is bounded, and so is the
#: number of partitions one request reads (the cursor continues where it stopped).
MAX_DAY_SPAN = 366
MAX_QUERIES_PER_REQUEST = 31
#: Times outside these bounds are refused (400), so no date arithmetic can overflow.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_AFTER_ANY_ID = "~"  # sorts after "#<ULID>", so `until` includes alerts received in its very millisecond


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """ISO 8601 (naive means UTC) or a duration back from now (arrowhook.core.durations). Always UTC, and inside
    EARLIEST..LATEST (ValueError otherwise)."""
    now = now or utc_now()
    try:
        if is_duration(text):
            moment = now - parse_duration(text)
        else:
            try:
                moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"{text!r} is neither ISO 8601 nor a duration like 24h or 7d") from None
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text!r} is out of range") from None
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(f"{text!r} is outside {EARLIEST:%Y-%m-%d}..{LATEST:%Y-%m-%d}")
    return moment


@dataclass(frozen=True)
class AlertFilter:
    key_id: str | None = None
    ticker: str | None = None
    side: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    newest_first: bool = True
    #: When relative times were resolved (kept in the cursor, so every page sees the same range).
    now: datetime | None = None
    #: Only alerts with parse issues; only alerts whose body (secret removed) contains this text.
    has_issues: bool = False
    contains: str | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise InvalidFilterError("since is after until")

    def fingerprint(self) -> str:
        canonical = json.dumps(
            [
                self.key_id,
                self.ticker,
                self.side,
                self.since and iso(self.since),
                self.until and iso(self.until),
                self.newest_first,
                # Appended only when set, so cursors issued before these filters existed stay valid.
                *([True] if self.has_issues else []),
                *([["contains", self.contains]] if self.contains else []),
            ],
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class _Plan:
    index: str
    hash_name: str
    partitions: tuple[str, ...]


class AlertPages(Protocol):
    """A page of alerts and the state that continues after it: what the signal checks and a live resume
    read (AlertQuery below; an in-memory one in tests)."""

    def page(
        self, alert_filter: AlertFilter, limit: int, state: dict[str, Any] | None = None
    ) -> tuple[list[StoredAlert], dict[str, Any] | None]: ...


class AlertQuery:
    def __init__(
        self, table_name: str, client: DynamoDBClient | None = None, *, measure_capacity: bool = False
    ) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()
        self._measure_capacity = measure_capacity
        #: Read capacity units consumed by queries so far (only with measure_capacity, for benchmarks).
        self.consumed_read_units = 0.0

    def page(
        self, alert_filter: AlertFilter, limit: int, state: dict[str, Any] | None = None
    ) -> tuple[list[StoredAlert], dict[str, Any] | None]:
        """Up to `limit` alerts in order, and the state that continues after the last one (None: done)."""
        plan = self._plan(alert_filter)
        partition_index = int(state["p"]) if state else 0
        start: dict[str, Any] | None = state.get("k") if state else None
        alerts: list[StoredAlert] = []
        queries = 0
        while len(alerts) < limit and partition_index < len(plan.partitions) and queries < MAX_QUERIES_PER_REQUEST:
            queries += 1
            remaining = limit - len(alerts)
            page = self._query(plan, plan.partitions[partition_index], alert_filter, remaining, start)
            found = page.get("Items", [])
            taken, matched = self._read_matching(found, remaining, alert_filter)
            alerts.extend(matched)
            if len(taken) < len(found) or "LastEvaluatedKey" in page:
                start = _start_key(taken[-1], plan) if taken else page.get("LastEvaluatedKey")
                if len(alerts) == limit:
                    return alerts, {"p": partition_index, "k": start}
            else:
                partition_index, start = partition_index + 1, None
        done = partition_index >= len(plan.partitions)
        next_state = None if done else {"p": partition_index, "k": start}
        return alerts, next_state

    def _read_matching(
        self, entries: list[dict[str, Any]], wanted: int, alert_filter: AlertFilter
    ) -> tuple[list[dict[str, Any]], list[StoredAlert]]:
        """Read the listed alerts in order until `wanted` of them match: (the entries used, the matches).
        The page then ends on the last entry used, so its cursor continues right after it."""
        taken: list[dict[str, Any]] = []
        matched: list[StoredAlert] = []
        while entries and len(matched) < wanted:
            batch, entries = entries[: wanted - len(matched)], entries[wanted - len(matched) :]
            for entry, alert in self._alerts_of(batch):
                taken.append(entry)
                if alert is not None and _matches(alert, alert_filter):
                    matched.append(alert)
        return taken, matched

    def _alerts_of(self, entries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], StoredAlert | None]]:
        """Each index entry with its alert (None: gone since the index listed it, archived say)."""
        items = {item["pk"]["S"]: item for item in full_items(self._client, self.table_name, entries)}
        return [
            (entry, alert_from_item(items[entry["pk"]["S"]]) if entry["pk"]["S"] in items else None)
            for entry in entries
        ]

    def count(self, alert_filter: AlertFilter) -> int:
        """How many alerts match, with Select=COUNT: DynamoDB still reads them, but answers only numbers
        (no item crosses the wire or is decoded). For narrow filters: a strategy's day, say. Filters no
        index entry answers (parse issues, body text) read the alerts."""
        if _reads_to_filter(alert_filter):
            counted, state = 0, None
            while True:
                found, state = self.page(alert_filter, 1000, state)
                counted += len(found)
                if state is None:
                    return counted
        plan = self._plan(alert_filter)
        total = 0
        for partition in plan.partitions:
            start: dict[str, Any] | None = None
            while True:
                page = self._query(plan, partition, alert_filter, 1000, start, select_count=True)
                total += int(page.get("Count", 0))
                start = page.get("LastEvaluatedKey")
                if not start:
                    break
        return total

    def _plan(self, alert_filter: AlertFilter) -> _Plan:
        if alert_filter.key_id:
            return _Plan(BY_STRATEGY_INDEX, "key_id", (alert_filter.key_id,))
        until = alert_filter.until or alert_filter.now or utc_now()
        since = alert_filter.since or until - timedelta(days=DEFAULT_WINDOW_DAYS)
        if (until.date() - since.date()).days >= MAX_DAY_SPAN:
            raise InvalidFilterError(
                f"across all strategies a query spans at most {MAX_DAY_SPAN} days: narrow since/until, "
                "or filter by strategy"
            )
        days = []
        day = since.date()
        while day <= until.date():
            days.append(day.isoformat())
            day += timedelta(days=1)
        return _Plan(BY_DAY_INDEX, "day", tuple(reversed(days)) if alert_filter.newest_first else tuple(days))

    def _query(
        self,
        plan: _Plan,
        partition: str,
        alert_filter: AlertFilter,
        limit: int,
        start: dict[str, Any] | None,
        *,
        select_count: bool = False,
    ) -> dict[str, Any]:
        names = {"#h": plan.hash_name}
        values: dict[str, Any] = {":h": {"S": partition}}
        condition = "#h = :h"
        if alert_filter.since and alert_filter.until:
            condition += " AND sort_key BETWEEN :lo AND :hi"
            values[":lo"] = {"S": iso(alert_filter.since)}
            values[":hi"] = {"S": iso(alert_filter.until) + _AFTER_ANY_ID}
        elif alert_filter.since:
            condition += " AND sort_key >= :lo"
            values[":lo"] = {"S": iso(alert_filter.since)}
        elif alert_filter.until:
            condition += " AND sort_key <= :hi"
            values[":hi"] = {"S": iso(alert_filter.until) + _AFTER_ANY_ID}
        filters = []
        if alert_filter.ticker:
            filters.append("ticker = :ticker")
            values[":ticker"] = {"S": alert_filter.ticker}
        if alert_filter.side:
            filters.append("side = :side")
            values[":side"] = {"S": alert_filter.side}
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": plan.index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": not alert_filter.newest_first,
            # A filter discards items after they are read: read a bit more than needed, stop on an item.
            "Limit": limit if not (filters or _reads_to_filter(alert_filter)) else max(limit, 100),
        }
        if filters:
            arguments["FilterExpression"] = " AND ".join(filters)
        if select_count:
            arguments["Select"] = "COUNT"
        if start:
            arguments["ExclusiveStartKey"] = start
        if self._measure_capacity:
            arguments["ReturnConsumedCapacity"] = "TOTAL"
        response = query_page(self._client, arguments)
        self.consumed_read_units += float(response.get("ConsumedCapacity", {}).get("CapacityUnits", 0.0))
        return response


def _reads_to_filter(alert_filter: AlertFilter) -> bool:
    """Whether some alerts read will be left out: the filters no index entry can answer."""
    return alert_filter.has_issues or bool(alert_filter.contains)


def _matches(alert: StoredAlert, alert_filter: AlertFilter) -> bool:
    """The filters on what only the alert holds: its parse issues, and text in its body (also one kept
    compressed, which no DynamoDB filter could look into)."""
    if alert_filter.has_issues and not alert.parse_issues:
        return False
    return not alert_filter.contains or alert_filter.contains in alert.payload


def _start_key(item: dict[str, Any], plan: _Plan) -> dict[str, Any]:
    """An index's ExclusiveStartKey: the table key plus the index keys of the last item returned."""
    return {name: item[name] for name in ("pk", plan.hash_name, "sort_key")}
