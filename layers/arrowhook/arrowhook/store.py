"""DynamoDB data access: one small interface per table, botocore errors turned into domain errors here.

Keys table (hash key `pk`):
  KEY#<id>        the key as operators see it, plus the current secret's hash (never returned)
  NAME#<name>     uniqueness guard for names (lower-cased)
  SECRET#<hash>   what a webhook needs: `auth` (JSON of KeyAuth); read with one consistent GetItem
Alerts table (hash key `pk`):
  ALERT#<id>      one alert; GSIs ByStrategy (key_id), ByTicker (ticker), ByDay (day), all sorted by
                  `sort_key` = received_at#id, so every query pattern is a Query, newest first
  DEDUPE#<hash>   marks (key, body) as seen until `expires_at` (the table's TTL attribute)
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.errors import NameTakenError, StoreUnavailableError
from arrowhook.models import KeyAuth, KeyStatus, StoredAlert, StrategyKey, iso
from arrowhook.tradingview import AlertFields, ParseIssue

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient, DynamoDBServiceResource
    from mypy_boto3_dynamodb.type_defs import PutTypeDef

#: Bounded so a webhook answer still leaves inside TradingView's ~3 s even when DynamoDB stalls.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=1,
    read_timeout=2,
)
_TRANSACTION_CONFLICT_RETRIES = 3

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@cache
def dynamodb_client() -> DynamoDBClient:
    """One low-level client per process; the endpoint comes from AWS_ENDPOINT_URL(_DYNAMODB), never code."""
    return boto3.client("dynamodb", config=CLIENT_CONFIG)


@cache
def dynamodb_resource() -> DynamoDBServiceResource:
    """For Powertools' DynamoDBProvider only: a resource's client re-serializes items, so stores never use it."""
    return boto3.resource("dynamodb", config=CLIENT_CONFIG)


def _to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _plain(value: Any) -> Any:
    """Python values DynamoDB accepts: Decimals stay exact, datetimes become sortable ISO strings."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _unavailable(error: ClientError | BotoCoreError) -> StoreUnavailableError:
    code = error.response["Error"].get("Code", "?") if isinstance(error, ClientError) else type(error).__name__
    return StoreUnavailableError(f"DynamoDB request failed: {code}")


class KeyStore:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    def create(self, key: StrategyKey, secret_hash: str) -> None:
        """Key, name guard and secret record in one transaction: a name clash leaves nothing behind."""
        auth = KeyAuth(key_id=key.id, name=key.name, status=key.status)
        key_item = {
            "pk": f"KEY#{key.id}",
            "entity": "key",
            "name_lower": key.name.lower(),
            "secret_hash": secret_hash,
            **{name: _plain(value) for name, value in key.model_dump().items()},
        }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": _to_item(key_item),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": _to_item({"pk": f"NAME#{key.name.lower()}", "key_id": key.id}),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": _to_item(
                                {"pk": f"SECRET#{secret_hash}", "key_id": key.id, "auth": auth.model_dump_json()}
                            ),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response["Error"].get("Code") == "TransactionCanceledException":
                reasons = error.response.get("CancellationReasons", [])
                if len(reasons) > 1 and reasons[1].get("Code") == "ConditionalCheckFailed":
                    raise NameTakenError(f"a key named {key.name!r} already exists") from None
            raise _unavailable(error) from None
        except BotoCoreError as error:
            raise _unavailable(error) from None

    def get(self, key_id: str) -> StrategyKey | None:
        try:
            response = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": f"KEY#{key_id}"}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise _unavailable(error) from None
        item = response.get("Item")
        return StrategyKey.model_validate(_from_item(item)) if item else None


class AlertStore:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    def put(self, alert: StoredAlert, dedupe_hash: str, dedupe_window_seconds: int) -> tuple[str, bool]:
        """Store the alert unless (key, body) was seen inside the window: one write call either way.

        Returns the stored alert's id and whether this delivery was a duplicate (then the id is the
        first delivery's). The alert and its dedupe marker commit together, so a retry can never
        leave a marker without an alert or store the same delivery twice.
        """
        alert_put: PutTypeDef = {
            "TableName": self.table_name,
            "Item": alert_item(alert),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        if dedupe_window_seconds <= 0:
            try:
                self._client.put_item(**alert_put)
            except (ClientError, BotoCoreError) as error:
                raise _unavailable(error) from None
            return alert.alert_id, False
        now = int(time.time())
        marker_put: PutTypeDef = {
            "TableName": self.table_name,
            "Item": _to_item(
                {"pk": f"DEDUPE#{dedupe_hash}", "alert_id": alert.alert_id, "expires_at": now + dedupe_window_seconds}
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
                    raise _unavailable(error) from None
                cancellations: list[Any] = list(error.response.get("CancellationReasons", []))
                reasons = [reason.get("Code") for reason in cancellations]
                if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                    original = cancellations[1].get("Item", {}).get("alert_id", {}).get("S")
                    return original or self._marked_alert_id(dedupe_hash) or alert.alert_id, True
                if "TransactionConflict" in reasons and attempt < _TRANSACTION_CONFLICT_RETRIES:
                    time.sleep(0.02 * (attempt + 1))
                    continue
                raise _unavailable(error) from None
            except BotoCoreError as error:
                raise _unavailable(error) from None
        raise StoreUnavailableError("DynamoDB transaction kept conflicting")  # pragma: no cover - loop returns

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
            raise _unavailable(error) from None
        item = response.get("Item")
        return alert_from_item(item) if item else None


_FIELD_NAMES = tuple(AlertFields.model_fields)


def alert_item(alert: StoredAlert) -> dict[str, Any]:
    received = iso(alert.received_at)
    values: dict[str, Any] = {
        "pk": f"ALERT#{alert.alert_id}",
        "entity": "alert",
        "alert_id": alert.alert_id,
        "key_id": alert.key_id,
        "strategy": alert.strategy,
        "received_at": received,
        "sort_key": f"{received}#{alert.alert_id}",
        "day": received[:10],
        "body_format": alert.body_format,
        "payload": alert.payload,
        "extra_json": json.dumps(alert.extra, default=_json_default, ensure_ascii=False) if alert.extra else None,
        "parse_issues": [issue.model_dump(exclude_none=True) for issue in alert.parse_issues] or None,
        "source_ip": alert.source_ip,
        "request_id": alert.request_id,
        "user_agent": alert.user_agent,
        "content_type": alert.content_type,
    }
    for name in _FIELD_NAMES:
        values[name] = _plain(getattr(alert.fields, name))
    return _to_item(values)


def alert_from_item(item: dict[str, Any]) -> StoredAlert:
    values = _from_item(item)
    fields = AlertFields.model_validate({name: values[name] for name in _FIELD_NAMES if name in values})
    return StoredAlert(
        alert_id=values["alert_id"],
        key_id=values["key_id"],
        strategy=values["strategy"],
        received_at=values["received_at"],
        body_format=values["body_format"],
        fields=fields,
        extra=json.loads(values["extra_json"]) if values.get("extra_json") else {},
        payload=values["payload"],
        parse_issues=[ParseIssue.model_validate(issue) for issue in values.get("parse_issues", [])],
        source_ip=values.get("source_ip"),
        request_id=values.get("request_id"),
        user_agent=values.get("user_agent"),
        content_type=values.get("content_type"),
    )


__all__ = ["AlertStore", "KeyStatus", "KeyStore", "alert_from_item", "alert_item", "dynamodb_client"]
