"""The alerts table: every item format of it is written and read here.

  ALERT#<id>      one alert; GSIs ByStrategy (key_id), ByTicker (ticker), ByDay (day), all sorted by
                  `sort_key` = received_at#id, so every query pattern is a Query, newest first;
                  `duplicates` (a string set of "received_at|request id") lists repeated deliveries;
                  a large body is kept once, compressed (`payload_gz`, no `extra_json`: see alert_item)
  DEDUPE#<hash>   marks (key, body) as seen until `expires_at` (the table's TTL attribute)
(COUNTS#... items belong to arrowhook.daily_counts, ARCHIVE#... to arrowhook.archive.)
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.dynamodb import (
    MAX_ITEM_BYTES,
    REFUSED_BEFORE_APPLYING,
    dynamodb_client,
    error_code,
    from_item,
    item_size,
    json_default,
    plain,
    to_item,
    unavailable,
    worst_case_seconds,
)
from arrowhook.errors import BodyTooLargeError, StoreUnavailableError
from arrowhook.models import RepeatedDelivery, StoredAlert, iso
from arrowhook.signals import AlertHealth
from arrowhook.tradingview import AlertFields, ParseIssue, decode_body, parse_fields

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutTypeDef

_TRANSACTION_CONFLICT_RETRIES = 3
#: Repeated deliveries listed on one alert at most: a sender stuck in a loop inside a long dedupe
#: window must not grow the item towards DynamoDB's 400 KB (the AlertsDuplicate metric counts them all).
MAX_LISTED_DUPLICATES = 50


class AlertStore:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    @property
    def worst_call_seconds(self) -> float:
        """The longest one call of this store's client can take (its timeouts and retries)."""
        return worst_case_seconds(self._client.meta.config)

    def put(self, alert: StoredAlert, dedupe_hash: str, dedupe_window_seconds: int) -> tuple[str, bool]:
        """Store the alert unless (key, body) was seen inside the window: one write call either way.

        Returns the stored alert's id and whether this delivery was a duplicate (then the id is the
        first delivery's). The alert and its dedupe marker commit together, so a retry can never
        leave a marker without an alert or store the same delivery twice. A write that got no answer
        is checked before StoreUnavailableError says it was not stored.
        """
        item = alert_item(alert)
        if item_size(item) > MAX_ITEM_BYTES:  # what no retry can store is refused now, never a 503
            raise BodyTooLargeError(
                "alert too large to store", reason=f"item of {item_size(item)} bytes over DynamoDB's limit"
            )
        alert_put: PutTypeDef = {
            "TableName": self.table_name,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if dedupe_window_seconds <= 0:
            try:
                self._client.put_item(**alert_put)
            except (ClientError, BotoCoreError) as error:
                if self._applied(alert.alert_id, error):
                    return alert.alert_id, False
                raise unavailable(error) from None
            return alert.alert_id, False
        now = int(time.time())
        marker_put: PutTypeDef = {
            "TableName": self.table_name,
            "Item": to_item(
                # Rounded up, so the window is never shorter than configured (the check truncates `now`).
                {
                    "pk": f"DEDUPE#{dedupe_hash}",
                    "alert_id": alert.alert_id,
                    "expires_at": now + 1 + dedupe_window_seconds,
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
            "ExpressionAttributeValues": {":now": {"N": str(now)}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        for attempt in range(_TRANSACTION_CONFLICT_RETRIES + 1):
            try:
                self._client.transact_write_items(TransactItems=[{"Put": alert_put}, {"Put": marker_put}])
                return alert.alert_id, False
            except ClientError as error:
                if error.response["Error"].get("Code") != "TransactionCanceledException":
                    if self._applied(alert.alert_id, error):
                        return alert.alert_id, False
                    raise unavailable(error) from None
                cancellations: list[Any] = list(error.response.get("CancellationReasons", []))
                reasons = [reason.get("Code") for reason in cancellations]
                if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                    original = cancellations[1].get("Item", {}).get("alert_id", {}).get("S")
                    original = original or self._marked_alert_id(dedupe_hash) or alert.alert_id
                    # Our own earlier attempt (the SDK retried after a timeout) is not a duplicate delivery.
                    return original, original != alert.alert_id
                if "TransactionConflict" in reasons and attempt < _TRANSACTION_CONFLICT_RETRIES:
                    time.sleep(0.02 * (attempt + 1))
                    continue
                raise unavailable(error) from None
            except BotoCoreError as error:
                if self._applied(alert.alert_id, error):
                    return alert.alert_id, False
                raise unavailable(error) from None
        raise StoreUnavailableError("DynamoDB transaction kept conflicting")  # pragma: no cover - loop returns

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
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"ALERT#{alert_id}"}},
                UpdateExpression="SET health = :health",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":health": {"S": health.model_dump_json(exclude_none=True)}},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise unavailable(error) from None
        except BotoCoreError as error:
            raise unavailable(error) from None
        return True

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
            response = self._client.get_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"ALERT#{alert_id}"}},
                ConsistentRead=True,
                ProjectionExpression="pk",
            )
        except (ClientError, BotoCoreError):
            return False
        return "Item" in response

    def _marked_alert_id(self, dedupe_hash: str) -> str | None:
        """Fallback for endpoints that omit the old item from a cancelled transaction."""
        response = self._client.get_item(
            TableName=self.table_name, Key={"pk": {"S": f"DEDUPE#{dedupe_hash}"}}, ConsistentRead=True
        )
        value = response.get("Item", {}).get("alert_id", {}).get("S")
        return str(value) if value else None

    def get(self, alert_id: str) -> StoredAlert | None:
        try:
            response = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": f"ALERT#{alert_id}"}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None
        item = response.get("Item")
        return alert_from_item(item) if item else None


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
