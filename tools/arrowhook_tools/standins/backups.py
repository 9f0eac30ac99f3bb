"""Point-in-time recovery for the embedded DynamoDB, as DynamoDB does it.

moto's RestoreTableToPointInTime copies the source table as it is *now*, whatever time was asked for: a
restore to before a mistake would bring the mistake back. The local stack keeps a journal instead: the
image each written item had before every write that succeeded (and before each TTL deletion), and a
restore replays it backwards onto moto's copy, down to the time asked for. Restorable times start when
this process started, or 35 days ago (DynamoDB's EarliestRestorableDateTime; the journal keeps no more,
so a `make dev` running for weeks does not grow without bound); earlier is refused as DynamoDB refuses it.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _Change:
    at: float
    hash_key: Any
    range_key: Any
    #: The item before the write (a copy of moto's Item), or None when there was none.
    before: Any


def _moto_table(name: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    for account in dynamodb_backends.values():
        for backend in account.values():
            if name in backend.tables:
                return backend.tables[name]
    return None


def _key_of(table: Any, key: dict[str, Any]) -> tuple[Any, Any] | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    if table.hash_key_attr not in key:
        return None
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
    return DynamoType(key[table.hash_key_attr]), range_key


def _item_of(table: Any, hash_key: Any, range_key: Any) -> Any:
    try:
        return copy.deepcopy(table.get_item(hash_key, range_key))
    except Exception:  # moto raises for a key it cannot hold: nothing there
        return None


#: DynamoDB's recovery period: how far back a restore can reach.
RECOVERY_SECONDS = 35 * 86_400
#: The operations written_keys reads.
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


def written_keys(operation: str, request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(table, key or whole item) of each item a DynamoDB write names (a transaction's condition checks
    too: the cost meter counts them; journaling an unchanged image is harmless)."""
    if operation == "PutItem":
        return [(request["TableName"], request.get("Item", {}))]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(request["TableName"], request.get("Key", {}))]
    if operation == "TransactWriteItems":
        named = []
        for action in request.get("TransactItems", []):
            (kind, detail), *_ = action.items()
            named.append((detail["TableName"], detail["Item"] if kind == "Put" else detail.get("Key", {})))
        return named
    if operation == "BatchWriteItem":
        return [
            (table, write["PutRequest"]["Item"] if "PutRequest" in write else write["DeleteRequest"]["Key"])
            for table, writes in request.get("RequestItems", {}).items()
            for write in writes
        ]
    return []


class PitrJournal:
    """Every table's changes since this process started, oldest first (process-wide, like moto's backends)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.started = clock()
        self._changes: dict[str, list[_Change]] = defaultdict(list)
        self._lock = threading.Lock()

    def before_write(self, operation: str, request: dict[str, Any]) -> list[tuple[str, Any, Any, Any]]:
        """The images a write is about to change: (table, hash key, range key, item before)."""
        images = []
        for table_name, key in written_keys(operation, request):
            table = _moto_table(table_name)
            parsed = _key_of(table, key) if table is not None else None
            if parsed is not None:
                images.append((table_name, *parsed, _item_of(table, *parsed)))
        return images

    def record(self, images: list[tuple[str, Any, Any, Any]]) -> None:
        """The write succeeded: keep what it replaced (and forget what is past the recovery period)."""
        moment = self._clock()
        with self._lock:
            for table_name, hash_key, range_key, before in images:
                changes = self._changes[table_name]
                changes.append(_Change(moment, hash_key, range_key, before))
                while changes[0].at < moment - RECOVERY_SECONDS:  # oldest first: past the recovery period
                    changes.pop(0)

    def earliest(self) -> float:
        """The earliest time a restore can reach (EarliestRestorableDateTime)."""
        return max(self.started, self._clock() - RECOVERY_SECONDS)

    def changes(self, table_name: str) -> int:
        """How many changes of the table the journal holds."""
        with self._lock:
            return len(self._changes.get(table_name, []))

    def deleted(self, table: Any, hash_key: Any, range_key: Any) -> None:
        """An item about to be deleted outside a request (the TTL sweep)."""
        self.record([(table.name, hash_key, range_key, _item_of(table, hash_key, range_key))])

    def rewind(self, source: str, target: Any, to: float) -> int:
        """Undo, on `target` (moto's copy of `source` as it is now), every change made after `to`."""
        with self._lock:
            later = [change for change in self._changes.get(source, []) if change.at > to]
        for change in reversed(later):
            if change.range_key is None:
                home, slot = target.items, change.hash_key
            else:
                home, slot = target.items.setdefault(change.hash_key, {}), change.range_key
            if change.before is None:
                home.pop(slot, None)
            else:
                home[slot] = copy.deepcopy(change.before)
        return len(later)


JOURNAL = PitrJournal()


def restore_refusal(request: dict[str, Any]) -> str | None:
    """Why DynamoDB would refuse this RestoreTableToPointInTime (a time it cannot restore), if it would."""
    if request.get("UseLatestRestorableTime"):
        return None
    asked = request.get("RestoreDateTime")
    if not isinstance(asked, (int, float)):
        return "RestoreDateTime or UseLatestRestorableTime is required"
    earliest = JOURNAL.earliest()
    if asked < earliest or asked > time.time():
        return f"RestoreDateTime must be between {earliest:.0f} and now (EarliestRestorableDateTime)"
    return None


def rewind_restored(request: dict[str, Any]) -> None:
    """After moto made its copy of the source as it is now: take it back to the time asked for."""
    if request.get("UseLatestRestorableTime"):
        return
    target = _moto_table(str(request["TargetTableName"]))
    if target is not None:
        JOURNAL.rewind(str(request["SourceTableName"]), target, float(request["RestoreDateTime"]))
