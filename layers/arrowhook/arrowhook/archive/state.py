"""The archive's state item, `ARCHIVE#state`: watermark, journal and lease.

Taking the lease is conditional on nobody holding it (or its holder having stopped renewing), and
every write after that is fenced on it: this owner, not expired. The protocol (arrowhook.archive.protocol)
decides what to write; this module is the only one that knows how the item looks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from arrowhook.alerts.archived import STATE_KEY
from arrowhook.aws.dynamodb import error_code, store_errors, unavailable
from arrowhook.core.errors import ArchiveLeaseLostError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: A run holds the state item's lease this long past its last renewal: a run that was killed
#: (SIGKILL, a Lambda timeout) blocks the next one for at most this long.
LEASE_SECONDS = 60.0


class ArchiveState:
    """The `ARCHIVE#state` item: watermark, journal and lease. Every write after the lease is taken is
    fenced on it (this owner, not expired) and renews it."""

    def __init__(self, client: DynamoDBClient, table_name: str, clock: Callable[[], float]) -> None:
        self._client = client
        self._table_name = table_name
        self._clock = clock

    def read(self) -> dict[str, Any]:
        with store_errors():
            response = self._client.get_item(TableName=self._table_name, Key=STATE_KEY, ConsistentRead=True)
        return dict(response.get("Item", {}))

    def acquire(self, owner: str) -> dict[str, Any] | None:
        """Take the lease if nobody holds it (or its holder stopped renewing); None when busy."""
        now = self._clock()
        try:
            response = self._client.update_item(
                TableName=self._table_name,
                Key=STATE_KEY,
                UpdateExpression="SET lease_owner = :owner, lease_until = :until",
                ConditionExpression="attribute_not_exists(lease_until) OR lease_until < :now",
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":until": {"N": repr(now + LEASE_SECONDS)},
                    ":now": {"N": repr(now)},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise unavailable(error) from None
        except BotoCoreError as error:
            raise unavailable(error) from None
        return dict(response.get("Attributes", {}))

    def fenced_update(
        self, owner: str, *, set_values: dict[str, Any] | None = None, remove: tuple[str, ...] = ()
    ) -> None:
        """Write only while this run holds an unexpired lease, and extend it by LEASE_SECONDS."""
        now = self._clock()
        names = {f"#a{index}": name for index, name in enumerate(set_values or {})}
        values: dict[str, Any] = {f":a{index}": value for index, value in enumerate((set_values or {}).values())}
        assignments = [f"{alias} = :a{index}" for index, alias in enumerate(names)]
        expression = "SET " + ", ".join([*assignments, "lease_until = :until"])
        if remove:
            names.update({f"#r{index}": name for index, name in enumerate(remove)})
            expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(remove)))
        arguments: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": STATE_KEY,
            "UpdateExpression": expression,
            "ConditionExpression": "lease_owner = :owner AND lease_until >= :now",
            "ExpressionAttributeValues": {
                ":owner": {"S": owner},
                ":now": {"N": repr(now)},
                ":until": {"N": repr(now + LEASE_SECONDS)},
                **values,
            },
        }
        if names:  # DynamoDB refuses an empty map
            arguments["ExpressionAttributeNames"] = names
        try:
            self._client.update_item(**arguments)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise ArchiveLeaseLostError(
                    "the archive lease expired or was taken over; this run stopped, the holder continues"
                ) from None
            raise unavailable(error) from None
        except BotoCoreError as error:
            raise unavailable(error) from None

    def release(self, owner: str) -> None:
        """Best effort: a lease that cannot be released expires on its own within LEASE_SECONDS."""
        with contextlib.suppress(ClientError, BotoCoreError):
            self._client.update_item(
                TableName=self._table_name,
                Key=STATE_KEY,
                UpdateExpression="REMOVE lease_owner, lease_until",
                ConditionExpression="lease_owner = :owner",
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
