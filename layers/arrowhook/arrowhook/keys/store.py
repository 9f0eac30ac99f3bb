"""The keys table: strategy keys as operators see them, their unique names, and the secret records the
webhook authenticates with. Every item format of the table is written and read here.

  KEY#<id>        the key as operators see it, plus the current secret's hash (never returned)
  NAME#<name>     uniqueness guard for names (lower-cased)
  SECRET#<hash>   what a webhook needs: `auth` (JSON of KeyAuth); read with one consistent GetItem
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.aws.dynamodb import (
    dynamodb_client,
    from_item,
    plain,
    query_all,
    query_page,
    store_errors,
    to_item,
    unavailable,
)
from arrowhook.core.errors import (
    InvalidCursorError,
    KeyConflictError,
    KeyNotFoundError,
    NameTakenError,
    StoreUnavailableError,
)
from arrowhook.core.formats import ITEM_FORMAT, ITEM_FORMAT_ATTRIBUTE
from arrowhook.core.models import KeyAuth, KeyStatus, StrategyKey, utc_now
from arrowhook.core.signals import SignalExpectations

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_T = TypeVar("_T")
#: A key update or delete that lost a race to another change is applied again on top of it.
_KEY_CONFLICT_RETRIES = 5


class KeyStore:
    def __init__(self, table_name: str, client: DynamoDBClient | None = None) -> None:
        self.table_name = table_name
        self._client = client or dynamodb_client()

    # -- writes --------------------------------------------------------------------------------------
    def create(self, key: StrategyKey, secret_hash: str) -> None:
        """Key, name guard and secret record in one transaction: a name clash leaves nothing behind."""
        record = _KeyRecord(key=key, secret_hash=secret_hash, version=1)
        self._transact_once(
            record,
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
        self,
        key_id: str,
        *,
        name: str | None,
        description: str | None,
        status: KeyStatus | None,
        signals: SignalExpectations | None = None,
    ) -> StrategyKey:
        """Rename, describe, enable or disable; the secret records follow in the same transaction.

        Applied to the key as it is when the write lands: a concurrent change makes the write fail on
        the version, and the change is applied again on top of the winner's."""
        return self._on_the_latest(
            key_id,
            lambda record: self._update_once(
                record, name=name, description=description, status=status, signals=signals
            ),
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
        self,
        record: _KeyRecord,
        *,
        name: str | None,
        description: str | None,
        status: KeyStatus | None,
        signals: SignalExpectations | None = None,
    ) -> StrategyKey:
        changes: dict[str, Any] = {"updated_at": utc_now()}
        if signals is not None:
            changes["signals"] = signals
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
        self._transact_once(updated, items, name_guard_index=1 if renamed else None, name=updated.key.name)
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
        self._transact_once(updated, items)
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

    def resolve(self, reference: str) -> StrategyKey | None:
        """The key a reference names: a key id, or (case-insensitively) a strategy name."""
        found = self.get(reference)
        if found is not None:
            return found
        key_id = self.id_for_name(reference)
        return self.get(key_id) if key_id else None

    def id_for_name(self, name: str) -> str | None:
        """Names are unique: the NAME# guard item maps one (case-insensitively) to its key id."""
        with store_errors():
            response = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": f"NAME#{name.lower()}"}}, ConsistentRead=True
            )
        value = response.get("Item", {}).get("key_id", {}).get("S")
        return str(value) if value else None

    def list_page(
        self, *, name_prefix: str = "", limit: int = 50, start_key: dict[str, Any] | None = None
    ) -> tuple[list[StrategyKey], dict[str, Any] | None]:
        """Keys by name (case-insensitive prefix), one Query on the KeysByName index per page; returns the
        key to continue from (the caller signs it into a cursor: see arrowhook.aws.pagination)."""
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

    def all(self) -> list[StrategyKey]:
        """Every key, by name: for the functions that check each strategy (a deployment has dozens, not
        thousands); an API lists them a page at a time (list_page)."""
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": "KeysByName",
            "KeyConditionExpression": "entity = :entity",
            "ExpressionAttributeValues": {":entity": {"S": "key"}},
        }
        return [_KeyRecord.from_item(item).key for item in query_all(self._client, arguments)]

    def holds_secret(self, key_id: str, secret_hash: str, now_epoch: float) -> bool:
        """Whether the secret is this key's: its current one, or the previous one inside its grace."""
        record = self._record(key_id)
        if hmac.compare_digest(record.secret_hash, secret_hash):
            return True
        previous, expires = record.previous_secret_hash, record.previous_expires_at
        return bool(previous) and hmac.compare_digest(str(previous), secret_hash) and (expires or 0) > now_epoch

    # -- helpers -------------------------------------------------------------------------------------
    def _find(self, key_id: str) -> _KeyRecord | None:
        with store_errors():
            response = self._client.get_item(
                TableName=self.table_name, Key={"pk": {"S": f"KEY#{key_id}"}}, ConsistentRead=True
            )
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
                "Item": to_item({"pk": f"NAME#{key.name.lower()}", "key_id": key.id}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _secret_put(self, secret_hash: str, key: StrategyKey, expires_at: int | None) -> dict[str, Any]:
        auth = KeyAuth(key_id=key.id, name=key.name, status=key.status, expires_at=expires_at)
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": to_item({"pk": f"SECRET#{secret_hash}", "key_id": key.id, "auth": auth.model_dump_json()}),
            }
        }

    def _secret_puts(self, record: _KeyRecord) -> list[dict[str, Any]]:
        puts = [self._secret_put(record.secret_hash, record.key, expires_at=None)]
        if record.previous_secret_hash:
            puts.append(self._secret_put(record.previous_secret_hash, record.key, record.previous_expires_at))
        return puts

    def _secret_delete(self, secret_hash: str) -> dict[str, Any]:
        return {"Delete": {"TableName": self.table_name, "Key": {"pk": {"S": f"SECRET#{secret_hash}"}}}}

    def _transact_once(self, written: _KeyRecord, items: list[Any], **options: Any) -> None:
        """_transact, where the SDK's retry of a write that was applied (its answer lost to a timeout) is
        not taken for a clash with someone else: the first attempt's own key, name or version would
        refuse the retry (409, or 503), though the change is there. So on a refusal, look: the key as this
        change wrote it means it landed."""
        try:
            self._transact(items, **options)
        except (NameTakenError, KeyConflictError, StoreUnavailableError):
            if not self._landed(written):
                raise

    def _landed(self, written: _KeyRecord) -> bool:
        try:
            found = self._find(written.key.id)
        except StoreUnavailableError:
            return False
        moment = {"created_at", "updated_at"}  # stored to the millisecond
        return (
            found is not None
            and found.version == written.version
            and found.secret_hash == written.secret_hash
            and found.key.model_dump(exclude=moment) == written.key.model_dump(exclude=moment)
        )

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
        return to_item(
            {
                "pk": f"KEY#{self.key.id}",
                "entity": "key",
                ITEM_FORMAT_ATTRIBUTE: ITEM_FORMAT,
                "name_lower": self.key.name.lower(),
                "secret_hash": self.secret_hash,
                "previous_secret_hash": self.previous_secret_hash,
                "previous_expires_at": self.previous_expires_at,
                "version": self.version,
                **{name: plain(value) for name, value in self.key.model_dump(exclude={"signals"}).items()},
                # Only what was declared (a key without expectations carries none).
                "signals": self.key.signals.model_dump(mode="json", exclude_defaults=True) or None,
            }
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> _KeyRecord:
        values = from_item(item)
        expires = values.get("previous_expires_at")
        return cls(
            key=StrategyKey.model_validate(values),
            secret_hash=values["secret_hash"],
            previous_secret_hash=values.get("previous_secret_hash"),
            previous_expires_at=int(expires) if expires is not None else None,
            version=int(values.get("version", 0)),
        )
