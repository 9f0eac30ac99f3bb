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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.errors import (
    InvalidCursorError,
    KeyConflictError,
    KeyNotFoundError,
    NameTakenError,
    StoreUnavailableError,
)
from arrowhook.models import KeyAuth, KeyStatus, StoredAlert, StrategyKey, iso, utc_now
from arrowhook.tradingview import AlertFields, ParseIssue

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutTypeDef


#: The webhook's: bounded so its answer still leaves well inside TradingView's ~3 s when DynamoDB
#: stalls or throttles: boto3's standard mode with one retry, and a short read timeout (a DynamoDB
#: write takes milliseconds; the `WebhookStoreTimeoutSeconds` parameter, 0.8 s by default).
#: `worst_case_seconds` gives the bound (1.8 s by default); tests/integration/test_faults.py shows the
#: retry, the 503 when it is exhausted, and a late answer to an applied write.
def webhook_client_config(read_timeout: float = 0.8) -> Config:
    return Config(
        retries={"mode": "standard", "total_max_attempts": 2},
        connect_timeout=0.5,
        read_timeout=read_timeout,
        # botocore's client-side check of a 30-attribute item was 40 % of the warm webhook's CPU
        # (tests/bench/bench_webhook.py); DynamoDB validates the request anyway, and our code builds it.
        parameter_validation=False,
    )


#: Everyone else's (admin API, archive): a person or a batch job rather waits than sees a spurious 503.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=1,
    read_timeout=5,
)
#: boto3 standard mode's backoff base for DynamoDB: 1 s after throttling, 25 ms after anything else.
_THROTTLING_BACKOFF, _OTHER_BACKOFF = 1.0, 0.025


def worst_case_seconds(config: Config | None = None) -> float:
    """The longest one DynamoDB call can take: every attempt either times out or is throttled at once,
    and every backoff draws its full jitter. Each retry costs the worse of the two."""
    settings: Any = config or webhook_client_config()  # botocore's Config sets its attributes dynamically
    attempts = int(settings.retries["total_max_attempts"])
    per_attempt = max(float(settings.connect_timeout), float(settings.read_timeout))
    retries: float = sum(
        max(min(_THROTTLING_BACKOFF * 2**retry, 20.0), per_attempt + _OTHER_BACKOFF * 2**retry)
        for retry in range(attempts - 1)
    )
    return retries + per_attempt


_TRANSACTION_CONFLICT_RETRIES = 3
_T = TypeVar("_T")
#: DynamoDB errors that mean the request was refused before anything was written (no need to look).
_REFUSED_BEFORE_APPLYING = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ValidationException",
        "AccessDeniedException",
        "ResourceNotFoundException",
        "TransactionCanceledException",
    }
)


#: A key update or delete that lost a race to another change is applied again on top of it.
_KEY_CONFLICT_RETRIES = 5

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@cache
def dynamodb_client(*, bounded_read_timeout: float | None = None) -> DynamoDBClient:
    """One low-level client per process and config (bounded: the webhook's); the endpoint comes from
    AWS_ENDPOINT_URL(_DYNAMODB), never code."""
    if bounded_read_timeout is None:
        return boto3.client("dynamodb", config=CLIENT_CONFIG)
    return boto3.client("dynamodb", config=webhook_client_config(bounded_read_timeout))


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


def error_code(error: ClientError | BotoCoreError) -> str:
    """AWS's error code, or the botocore exception's name when the call never got an answer."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "?"))
    return type(error).__name__


def unavailable(error: ClientError | BotoCoreError) -> StoreUnavailableError:
    """The one translation of a botocore failure into the domain's 'retry later' error."""
    return StoreUnavailableError(f"DynamoDB request failed: {error_code(error)}")


def query_page(client: DynamoDBClient, arguments: dict[str, Any]) -> dict[str, Any]:
    """One Query page. DynamoDB refuses an ExclusiveStartKey that does not fit the query as a
    ValidationException: with a cursor in play that is the caller's bad cursor, not an outage."""
    try:
        return dict(client.query(**arguments))
    except ClientError as error:
        if error_code(error) == "ValidationException" and "ExclusiveStartKey" in arguments:
            raise InvalidCursorError("invalid cursor") from None
        raise unavailable(error) from None
    except BotoCoreError as error:
        raise unavailable(error) from None


class KeyStore:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    # -- writes --------------------------------------------------------------------------------------
    def create(self, key: StrategyKey, secret_hash: str) -> None:
        """Key, name guard and secret record in one transaction: a name clash leaves nothing behind."""
        record = _KeyRecord(key=key, secret_hash=secret_hash, version=1)
        self._transact(
            [
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": record.item(),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                self._name_guard_put(key),
                self._secret_put(secret_hash, key, expires_at=None),
            ],
            name_guard_index=1,
            name=key.name,
        )

    def update(
        self, key_id: str, *, name: str | None, description: str | None, status: KeyStatus | None
    ) -> StrategyKey:
        """Rename, describe, enable or disable; the secret records follow in the same transaction.

        Applied to the key as it is when the write lands: a concurrent change makes the write fail on
        the version, and the change is applied again on top of the winner's."""
        return self._on_the_latest(
            key_id, lambda record: self._update_once(record, name=name, description=description, status=status)
        )

    def _on_the_latest(self, key_id: str, change: Callable[[_KeyRecord], _T]) -> _T:
        """Apply `change` to the key as read now; when another change lands first, read it again and retry."""
        for attempt in range(_KEY_CONFLICT_RETRIES):
            try:
                return change(self._record(key_id))
            except KeyConflictError:
                if attempt == _KEY_CONFLICT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _update_once(
        self, record: _KeyRecord, *, name: str | None, description: str | None, status: KeyStatus | None
    ) -> StrategyKey:
        changes: dict[str, Any] = {"updated_at": utc_now()}
        if name is not None:
            changes["name"] = name
        if description is not None:
            changes["description"] = description
        if status is not None:
            changes["status"] = status
        updated = _KeyRecord(
            key=record.key.model_copy(update=changes),
            secret_hash=record.secret_hash,
            previous_secret_hash=record.previous_secret_hash,
            previous_expires_at=record.previous_expires_at,
            version=record.version + 1,
        )
        StrategyKey.model_validate(updated.key.model_dump())  # re-validate the merged key
        items: list[Any] = [self._replace_key(updated, record.version)]
        renamed = updated.key.name.lower() != record.key.name.lower()
        if renamed:
            items.append(self._name_guard_put(updated.key))
            items.append(
                {"Delete": {"TableName": self.table_name, "Key": {"pk": {"S": f"NAME#{record.key.name.lower()}"}}}}
            )
        items.extend(self._secret_puts(updated))
        self._transact(items, name_guard_index=1 if renamed else None, name=updated.key.name)
        return updated.key

    def rotate(self, key_id: str, new_secret_hash: str, new_prefix: str, grace_seconds: int) -> StrategyKey:
        """The new secret works at once; the old one until now + grace (0: rejected at once).

        Never retried on a conflict (KeyConflictError, 409): of two rotations at once (a double click),
        one wins and the other's secret is never stored, rather than the first secret, already shown
        to its caller, being replaced behind its back."""
        record = self._record(key_id)
        now = utc_now()
        previous_expires_at = int(now.timestamp()) + grace_seconds if grace_seconds > 0 else None
        updated = _KeyRecord(
            key=record.key.model_copy(update={"secret_prefix": new_prefix, "updated_at": now}),
            secret_hash=new_secret_hash,
            previous_secret_hash=record.secret_hash if previous_expires_at else None,
            previous_expires_at=previous_expires_at,
            version=record.version + 1,
        )
        items: list[Any] = [self._replace_key(updated, record.version), *self._secret_puts(updated)]
        if record.previous_secret_hash and record.previous_secret_hash != updated.previous_secret_hash:
            items.append(self._secret_delete(record.previous_secret_hash))
        if previous_expires_at is None:
            items.append(self._secret_delete(record.secret_hash))
        self._transact(items)
        return updated.key

    def delete(self, key_id: str) -> None:
        """The key stops authenticating at once (within the webhook's cache TTL); its alerts are kept.
        Every secret the key holds when the delete lands goes with it (a concurrent rotation included)."""
        self._on_the_latest(key_id, self._delete_once)

    def _delete_once(self, record: _KeyRecord) -> None:
        items: list[Any] = [
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": {"pk": {"S": f"KEY#{record.key.id}"}},
                    **self._unchanged_since(record.version),
                }
            },
            {"Delete": {"TableName": self.table_name, "Key": {"pk": {"S": f"NAME#{record.key.name.lower()}"}}}},
            self._secret_delete(record.secret_hash),
        ]
        if record.previous_secret_hash:
            items.append(self._secret_delete(record.previous_secret_hash))
        self._transact(items)

    # -- reads ---------------------------------------------------------------------------------------
    def get(self, key_id: str) -> StrategyKey | None:
        found = self._find(key_id)
        return found.key if found else None

    def id_for_name(self, name: str) -> str | None:
        """Names are unique: the NAME# guard item maps one (case-insensitively) to its key id."""
        try:
            response = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": f"NAME#{name.lower()}"}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None
        value = response.get("Item", {}).get("key_id", {}).get("S")
        return str(value) if value else None

    def list_page(
        self, *, name_prefix: str = "", limit: int = 50, start_key: dict[str, Any] | None = None
    ) -> tuple[list[StrategyKey], dict[str, Any] | None]:
        """Keys by name (case-insensitive prefix), one Query on the KeysByName index per page; returns the
        key to continue from (the caller signs it into a cursor: see arrowhook.pagination)."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "KeysByName",
            "Limit": limit,
            "KeyConditionExpression": "entity = :entity",
            "ExpressionAttributeValues": {":entity": {"S": "key"}},
        }
        if name_prefix:
            arguments["KeyConditionExpression"] += " AND begins_with(name_lower, :prefix)"
            arguments["ExpressionAttributeValues"][":prefix"] = {"S": name_prefix.lower()}
        if start_key:
            if set(start_key) != {"pk", "entity", "name_lower"} or not all(
                isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str)
                for value in start_key.values()
            ):
                raise InvalidCursorError("invalid cursor")
            arguments["ExclusiveStartKey"] = start_key
        page = query_page(self._client, arguments)
        keys = [_KeyRecord.from_item(item).key for item in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return keys, dict(last) if last else None

    # -- helpers -------------------------------------------------------------------------------------
    def _find(self, key_id: str) -> _KeyRecord | None:
        try:
            response = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": f"KEY#{key_id}"}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from None
        item = response.get("Item")
        return _KeyRecord.from_item(item) if item else None

    def _record(self, key_id: str) -> _KeyRecord:
        found = self._find(key_id)
        if found is None:
            raise KeyNotFoundError(f"no key {key_id}")
        return found

    @staticmethod
    def _unchanged_since(version: int) -> dict[str, Any]:
        """Optimistic concurrency: the write applies only to the key as it was read (items written
        before versions existed have none). On a conflict DynamoDB returns the item, telling a changed
        key (409, or retried) from a deleted one (404)."""
        if version == 0:
            condition: dict[str, Any] = {
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(version)"
            }
        else:
            condition = {
                "ConditionExpression": "attribute_exists(pk) AND version = :version",
                "ExpressionAttributeValues": {":version": {"N": str(version)}},
            }
        return {**condition, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}

    def _replace_key(self, record: _KeyRecord, read_version: int) -> dict[str, Any]:
        return {"Put": {"TableName": self.table_name, "Item": record.item(), **self._unchanged_since(read_version)}}

    def _name_guard_put(self, key: StrategyKey) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": _to_item({"pk": f"NAME#{key.name.lower()}", "key_id": key.id}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _secret_put(self, secret_hash: str, key: StrategyKey, expires_at: int | None) -> dict[str, Any]:
        auth = KeyAuth(key_id=key.id, name=key.name, status=key.status, expires_at=expires_at)
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": _to_item({"pk": f"SECRET#{secret_hash}", "key_id": key.id, "auth": auth.model_dump_json()}),
            }
        }

    def _secret_puts(self, record: _KeyRecord) -> list[dict[str, Any]]:
        puts = [self._secret_put(record.secret_hash, record.key, expires_at=None)]
        if record.previous_secret_hash:
            puts.append(self._secret_put(record.previous_secret_hash, record.key, record.previous_expires_at))
        return puts

    def _secret_delete(self, secret_hash: str) -> dict[str, Any]:
        return {"Delete": {"TableName": self.table_name, "Key": {"pk": {"S": f"SECRET#{secret_hash}"}}}}

    def _transact(self, items: list[Any], *, name_guard_index: int | None = None, name: str = "") -> None:
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response["Error"].get("Code") == "TransactionCanceledException":
                reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
                if (
                    name_guard_index is not None
                    and len(reasons) > name_guard_index
                    and (reasons[name_guard_index] == "ConditionalCheckFailed")
                ):
                    raise NameTakenError(f"a key named {name!r} already exists") from None
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    cancelled: list[Any] = list(error.response.get("CancellationReasons", []))
                    if cancelled[0].get("Item"):
                        raise KeyConflictError("the key changed meanwhile; read it again and retry") from None
                    raise KeyNotFoundError("the key was deleted meanwhile") from None
            raise unavailable(error) from None
        except BotoCoreError as error:
            raise unavailable(error) from None


@dataclass(frozen=True)
class _KeyRecord:
    """A key item: what operators see plus the hashes the store needs (never leaves this module)."""

    key: StrategyKey
    secret_hash: str
    previous_secret_hash: str | None = None
    previous_expires_at: int | None = None
    #: Incremented by every change: the condition that makes concurrent changes safe.
    version: int = 0

    def item(self) -> dict[str, Any]:
        return _to_item(
            {
                "pk": f"KEY#{self.key.id}",
                "entity": "key",
                "name_lower": self.key.name.lower(),
                "secret_hash": self.secret_hash,
                "previous_secret_hash": self.previous_secret_hash,
                "previous_expires_at": self.previous_expires_at,
                "version": self.version,
                **{name: _plain(value) for name, value in self.key.model_dump().items()},
            }
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> _KeyRecord:
        values = _from_item(item)
        expires = values.get("previous_expires_at")
        return cls(
            key=StrategyKey.model_validate(values),
            secret_hash=values["secret_hash"],
            previous_secret_hash=values.get("previous_secret_hash"),
            previous_expires_at=int(expires) if expires is not None else None,
            version=int(values.get("version", 0)),
        )


class AlertStore:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    def put(self, alert: StoredAlert, dedupe_hash: str, dedupe_window_seconds: int) -> tuple[str, bool]:
        """Store the alert unless (key, body) was seen inside the window: one write call either way.

        Returns the stored alert's id and whether this delivery was a duplicate (then the id is the
        first delivery's). The alert and its dedupe marker commit together, so a retry can never
        leave a marker without an alert or store the same delivery twice. A write that got no answer
        is checked before StoreUnavailableError says it was not stored.
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
                if self._applied(alert.alert_id, error):
                    return alert.alert_id, False
                raise unavailable(error) from None
            return alert.alert_id, False
        now = int(time.time())
        marker_put: PutTypeDef = {
            "TableName": self.table_name,
            "Item": _to_item(
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

    def _applied(self, alert_id: str, error: ClientError | BotoCoreError) -> bool:
        """Before answering "not stored" after a write that got no answer (a timeout, a 5xx), look: the
        write may have been applied (on a busy stack, every such write was). One consistent read, only
        on this path; False when the error says nothing was written, or when the read fails too."""
        if isinstance(error, ClientError) and error_code(error) in _REFUSED_BEFORE_APPLYING:
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
