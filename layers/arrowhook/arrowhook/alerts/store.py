"""The alerts table: every item format of it is written and read here.

  ALERT#<id>      one alert; GSIs AlertsByStrategy (key_id) and AlertsByDay (day), both sorted by
                  `sort_key` = received_at#id, so every query pattern is a Query, newest first; their
                  entries carry the keys, ticker, side and strategy, and a query reads the alerts it
                  found by key (full_items);
                  `duplicates` (a string set of "received_at|request id") lists repeated deliveries;
                  a large body is kept once, compressed (`payload_gz`, no `extra_json`: see alert_item)
                  `attempt_id`: set only on an alert stored under an earlier delivery's marker (see put)
  DEDUPE#<hash>   marks (key, body) as seen until `expires_at` (the table's TTL attribute)
(COUNTS#... items belong to arrowhook.alerts.daily_counts, ARCHIVE#... to arrowhook.archive.protocol.)
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.alerts.archived import STATE_KEY, covers
from arrowhook.aws.dynamodb import (
    MAX_ITEM_BYTES,
    REFUSED_BEFORE_APPLYING,
    batch_get,
    dynamodb_client,
    error_code,
    from_item,
    item_size,
    json_default,
    plain,
    store_errors,
    succeeded,
    to_item,
    unavailable,
)
from arrowhook.core.alert_body import decode_body, parse_fields
from arrowhook.core.errors import BodyTooLargeError
from arrowhook.core.models import RepeatedDelivery, StoredAlert, iso
from arrowhook.core.signals import AlertHealth
from arrowhook.core.tradingview import AlertFields, ParseIssue

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: Repeated deliveries listed on one alert at most: a sender stuck in a loop inside a long dedupe
#: window must not grow the item towards DynamoDB's 400 KB (the AlertsDuplicate metric counts them all).
MAX_LISTED_DUPLICATES = 50


class AlertStore:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    def put(self, alert: StoredAlert, dedupe_hash: str, dedupe_window_seconds: int) -> tuple[str, bool]:
        """Store the alert unless (key, body) was seen inside the window. Returns the stored alert's id
        and whether this delivery was a duplicate (then the id is the first delivery's, and this delivery
        is listed on it: `duplicates`).

        Two plain conditional writes, not a transaction (which bills each item twice): the dedupe marker
        first, naming the alert's id, then the alert under that id. The marker alone decides which id a
        body gets; the alert's own condition decides who stores it. So a marker whose alert never landed
        (the function died between the writes, or the second one failed) is completed by the next
        delivery of the same body, under the marker's id: never stored twice, never blocked for good.
        It is completed only when that alert is neither stored nor taken by the archive (the marker
        names its sort key), so an archived alert is never stored a second time.
        A write that got no answer is checked before StoreUnavailableError says it was not stored.
        """
        item = alert_item(alert)
        if item_size(item) > MAX_ITEM_BYTES:  # what no retry can store is refused now, never a 503
            raise BodyTooLargeError(
                "alert too large to store", reason=f"item of {item_size(item)} bytes over DynamoDB's limit"
            )
        if dedupe_window_seconds <= 0:
            return alert.alert_id, self._store(item)
        marker = self._mark(alert, dedupe_hash, dedupe_window_seconds)
        marked = str(marker["alert_id"])
        if marked != alert.alert_id:  # an earlier delivery's id: its alert, or ours in its place
            # Listing this delivery on that alert is also the check that it is stored: one call.
            if self._listed_on(marked, alert) or self._kept(marked, marker.get("alert_sort_key")):
                return marked, True
            item = {**alert_item(alert.model_copy(update={"alert_id": marked})), "attempt_id": {"S": alert.alert_id}}
        duplicate = self._store(item)
        if duplicate:  # another delivery of the body stored it a moment before this one
            self._listed_on(marked, alert)
        return marked, duplicate

    def _listed_on(self, alert_id: str, repeat: StoredAlert) -> bool:
        return self.record_duplicate(alert_id, iso(repeat.received_at), repeat.request_id or repeat.alert_id)

    def _mark(self, alert: StoredAlert, dedupe_hash: str, window_seconds: int) -> dict[str, Any]:
        """Claim (key, body) for this alert unless a live marker names another: the marker that holds
        (its `alert_id` is the id the body is stored under). Our own earlier attempt (the SDK retried
        after a timeout) matches the condition again."""
        now = int(time.time())
        mine = {"alert_id": alert.alert_id, "alert_sort_key": alert_sort_key(alert)}
        try:
            self._client.put_item(
                TableName=self.table_name,
                # Rounded up, so the window is never shorter than configured (the check truncates `now`).
                Item=to_item({"pk": f"DEDUPE#{dedupe_hash}", **mine, "expires_at": now + 1 + window_seconds}),
                ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now OR alert_id = :mine",
                ExpressionAttributeValues={":now": {"N": str(now)}, ":mine": {"S": alert.alert_id}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                held = from_item(error.response.get("Item") or {})  # type: ignore[arg-type]
                return held if held.get("alert_id") else self._marker(dedupe_hash, error)
            return self._marker(dedupe_hash, error, mine=alert.alert_id)
        except BotoCoreError as error:
            return self._marker(dedupe_hash, error, mine=alert.alert_id)
        return mine

    def _kept(self, alert_id: str, sort_key: str | None) -> bool:
        """Whether an earlier delivery's alert is stored, or was taken by the archive. A marker without
        the sort key was written by a release that stored marker and alert together: kept."""
        with store_errors():
            if self._read(alert_id, projection="pk") is not None or sort_key is None:
                return True
            state = self._client.get_item(TableName=self.table_name, Key=STATE_KEY, ConsistentRead=True)
        return covers(state.get("Item", {}), alert_id, sort_key)

    def _store(self, item: dict[str, Any]) -> bool:
        """Put the alert unless its id is stored already: False when this delivery stored it (or its own
        earlier attempt did), True when another delivery of the same body had (a duplicate). A delivery
        storing under an earlier one's marker says so (`attempt_id`, its own id), so the two are told
        apart even when their bodies, times and request ids are alike."""
        alert_id = str(item["alert_id"]["S"])
        try:
            self._client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                held: dict[str, Any] = error.response.get("Item") or self._read(alert_id) or {}  # type: ignore[assignment]
                return held.get("attempt_id") != item.get("attempt_id")
            if self._applied(alert_id, error):
                return False
            raise unavailable(error) from None
        except BotoCoreError as error:
            if self._applied(alert_id, error):
                return False
            raise unavailable(error) from None
        return False

    def record_duplicate(self, alert_id: str, received_at: str, request_id: str) -> bool:
        """List a repeated delivery on the first one's alert. A set member, so the SDK's retry of a write
        that was applied cannot list it twice; never creates an alert that was archived meanwhile.
        False when it was not recorded (the caller answers anyway: this is bookkeeping)."""
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"ALERT#{alert_id}"}},
                UpdateExpression="ADD duplicates :delivery",
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(duplicates) OR size(duplicates) < :cap)"
                ),
                ExpressionAttributeValues={
                    ":delivery": {"SS": [f"{received_at}|{request_id}"]},
                    ":cap": {"N": str(MAX_LISTED_DUPLICATES)},
                },
            )
        except (ClientError, BotoCoreError):
            return False
        return True

    def record_health(self, alert_id: str, health: AlertHealth) -> bool:
        """Write what the signal checks found on the alert (replacing an earlier check's: a retried batch
        computes the same). False when the alert is gone (archived meanwhile): never recreated."""
        return succeeded(
            lambda: self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"ALERT#{alert_id}"}},
                UpdateExpression="SET health = :health",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":health": {"S": health.model_dump_json(exclude_none=True)}},
            )
        )

    def _applied(self, alert_id: str, error: ClientError | BotoCoreError) -> bool:
        """Before answering "not stored" after a write that got no answer (a timeout, a 5xx), look: the
        write may have been applied (on a busy stack, every such write was). One consistent read, only
        on this path; False when no attempt can have written anything, or when the read fails too.

        The SDK retries inside the call and raises only the last attempt's error: a throttle on the retry
        says nothing of the first attempt, which may have timed out after it was applied. So only an
        error that refused the first and only attempt skips the read."""
        if isinstance(error, ClientError) and error_code(error) in REFUSED_BEFORE_APPLYING:
            earlier_attempts = int(error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0))
            if earlier_attempts == 0:
                return False
        try:
            return self._read(alert_id, projection="pk") is not None
        except (ClientError, BotoCoreError):
            return False

    def _marker(
        self, dedupe_hash: str, error: ClientError | BotoCoreError, *, mine: str | None = None
    ) -> dict[str, Any]:
        """After a marker write that was refused without the old item, or got no answer: read the marker.
        It names `mine` when our write was applied; unavailable when there is no marker to go by."""
        try:
            response = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": f"DEDUPE#{dedupe_hash}"}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError):
            raise unavailable(error) from None
        marker = from_item(response.get("Item") or {})
        if marker.get("alert_id") and (marker["alert_id"] == mine or int(marker.get("expires_at", 0)) > time.time()):
            return marker
        raise unavailable(error) from None  # no marker, or only an expired one: nothing stored, the sender may retry

    def _read(self, alert_id: str, projection: str | None = None) -> dict[str, Any] | None:
        arguments: dict[str, Any] = {"ProjectionExpression": projection} if projection else {}
        response = self._client.get_item(
            TableName=self.table_name, Key={"pk": {"S": f"ALERT#{alert_id}"}}, ConsistentRead=True, **arguments
        )
        return response.get("Item")

    def get(self, alert_id: str) -> StoredAlert | None:
        with store_errors():
            item = self._read(alert_id)
        return alert_from_item(item) if item else None


#: The alert indexes the functions read, by role. The template sets ALERT_INDEXES: the old, ALL-projected
#: ones only while an older stack's indexes are upgraded (docs/deploy.md, "Upgrading").
BY_STRATEGY_INDEX, BY_DAY_INDEX = (os.environ.get("ALERT_INDEXES") or "AlertsByStrategy,AlertsByDay").split(",")


def full_items(
    client: DynamoDBClient, table_name: str, entries: list[dict[str, Any]], *, consistent: bool = False
) -> list[dict[str, Any]]:
    """The alerts an index query listed, read by key in the listed order (one gone meanwhile, archived
    say, is left out). Eventually consistent unless asked: an index is, so a listing is anyway."""
    found = batch_get(client, table_name, [{"pk": entry["pk"]} for entry in entries], consistent=consistent)
    by_key = {item["pk"]["S"]: item for item in found}
    return [by_key[entry["pk"]["S"]] for entry in entries if entry["pk"]["S"] in by_key]


_FIELD_NAMES = tuple(AlertFields.model_fields)
#: Above this (the payload and the extra fields, JSON-escaped as the bus event carries them: control
#: characters take 6 bytes each there), the item keeps the body once, gzip-compressed, as `payload_gz`,
#: and no `extra_json` (the extra fields are read back from the payload). The item then stays far inside
#: DynamoDB's 400 KB and its stream image inside PutEvents' 256 KB, up to the largest MaxBodyBytes.
INLINE_PAYLOAD_BYTES = 32 * 1024


def _escaped_size(text: str) -> int:
    return len(json.dumps(text))


def alert_sort_key(alert: StoredAlert) -> str:
    """What every alerts index sorts by: time first, the id breaking ties."""
    return f"{iso(alert.received_at)}#{alert.alert_id}"


def alert_item(alert: StoredAlert) -> dict[str, Any]:
    received = iso(alert.received_at)
    extra_json = json.dumps(alert.extra, default=json_default, ensure_ascii=False) if alert.extra else None
    compact = _escaped_size(alert.payload) + _escaped_size(extra_json or "") > INLINE_PAYLOAD_BYTES
    values: dict[str, Any] = {
        "pk": f"ALERT#{alert.alert_id}",
        "entity": "alert",
        # No `item_format` while alerts are format 1 (arrowhook.core.formats): 13 bytes would take an alert of
        # 1,011-1,023 bytes past 1 KB, doubling its write units. A format 2 writes the attribute.
        "alert_id": alert.alert_id,
        "key_id": alert.key_id,
        "strategy": alert.strategy,
        "received_at": received,
        "sort_key": alert_sort_key(alert),
        "day": received[:10],
        "body_format": alert.body_format,
        "payload": None if compact else alert.payload,
        "payload_gz": gzip.compress(alert.payload.encode("utf-8", "surrogatepass"), mtime=0) if compact else None,
        "extra_json": None if compact else extra_json,
        "parse_issues": [issue.model_dump(exclude_none=True) for issue in alert.parse_issues] or None,
        "source_ip": alert.source_ip,
        "request_id": alert.request_id,
        "user_agent": alert.user_agent,
        "content_type": alert.content_type,
        # Lifted out of `extra_json` so the bus event (the stored image) says it at `alert.test`.
        "test": True if alert.is_test else None,
    }
    for name in _FIELD_NAMES:
        values[name] = plain(getattr(alert.fields, name))
    return to_item(values)


def alert_from_item(item: dict[str, Any]) -> StoredAlert:
    compressed = item.get("payload_gz", {}).get("B")  # bytes from the table, base64 text in a stream event
    values = from_item({name: value for name, value in item.items() if name != "payload_gz"})
    fields = AlertFields.model_validate({name: values[name] for name in _FIELD_NAMES if name in values})
    payload = _decompressed(compressed) if compressed is not None else values["payload"]
    if values.get("extra_json"):
        extra = json.loads(values["extra_json"])
    elif compressed is not None and values["body_format"] == "json":  # kept once: in the payload
        extra = parse_fields(decode_body(payload.encode("utf-8", "surrogatepass"))).extra
    else:
        extra = {}
    return StoredAlert(
        alert_id=values["alert_id"],
        key_id=values["key_id"],
        strategy=values["strategy"],
        received_at=values["received_at"],
        body_format=values["body_format"],
        fields=fields,
        extra=extra,
        payload=payload,
        parse_issues=[ParseIssue.model_validate(issue) for issue in values.get("parse_issues", [])],
        source_ip=values.get("source_ip"),
        request_id=values.get("request_id"),
        user_agent=values.get("user_agent"),
        content_type=values.get("content_type"),
        duplicates=sorted(
            (_repeated_delivery(entry) for entry in values.get("duplicates", ())), key=lambda d: d.received_at
        ),
        health=AlertHealth.model_validate_json(values["health"]) if values.get("health") else None,
    )


def _decompressed(raw: bytes | str) -> str:
    """`payload_gz` as read from the table (bytes) or from a stream event's JSON (base64 text)."""
    data = base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
    return gzip.decompress(data).decode("utf-8", "surrogatepass")


def _repeated_delivery(entry: str) -> RepeatedDelivery:
    received_at, _, request_id = entry.partition("|")
    return RepeatedDelivery(received_at=received_at, request_id=request_id)
